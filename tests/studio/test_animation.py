"""The Animation menu and the Properties clip section: group selected splats, key them by editing
their transform at two times, undo and redo; retime, trim and loop a clip; bake the edits."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit

from scene import Document, Layer, MeshAsset, edits
from scene.clip import GaussianClip
from scene.io import load
from tests.studio.conftest import cloud


def sliding_clip(frames: int = 6, count: int = 50) -> GaussianClip:
    """Splats sliding along +x by one unit per frame, at 10 fps."""
    base = cloud(count)
    return GaussianClip.from_frames([base.replace(means=base.means + [k, 0, 0]) for k in range(frames)], fps=10)


def test_group_and_key_a_static_layer_from_the_properties_panel(make_window, qtbot):
    window = make_window()
    document = Document()
    layer = document.add_layer(Layer("rock", cloud(200)))
    window.set_document(document)
    section = window.properties.clip_section
    assert not section.isVisibleTo(window.properties)  # a splat layer has no animation yet
    start = layer.data.means.astype(np.float64)
    assert edits.select_box(document, layer.id, [0, -1, -1], [1, 1, 1]) > 0
    moving = document.splat_selection(layer.id).copy()

    window.ask_group_name = lambda suggested: "arm" if suggested == "Group 1" else None
    window.group_action.trigger()
    clip = layer.data
    assert isinstance(clip, GaussianClip) and [g.name for g in clip.groups] == ["arm"]
    assert section.isVisibleTo(window.properties) and section.current_group == "arm"
    assert section.groups.currentItem().text() == "arm"
    assert document.undo_stack.undo_text == f"Group {int(moving.sum()):,} splats as arm"

    y = section.transform.translation[1]
    document.set_time(0.0)
    y.setValue(1.0)  # auto-key at the playhead
    document.set_time(1.0)
    assert y.value() == pytest.approx(1.0)  # held after the only key
    y.setValue(3.0)
    keys = layer.data.groups[0].keys
    assert [k.time for k in keys] == [0.0, 1.0] and [k.interpolation for k in keys] == ["smooth", "smooth"]
    halfway, quarter = layer.data.at(0.5).means, layer.data.at(0.25).means
    np.testing.assert_allclose(halfway[moving], start[moving] + [0, 2, 0], atol=1e-5)
    np.testing.assert_allclose(quarter[moving], start[moving] + [0, 1 + 2 * 0.15625, 0], atol=1e-5)  # eased
    np.testing.assert_array_equal(halfway[~moving], start[~moving])
    document.set_time(0.5)
    assert y.value() == pytest.approx(2.0)  # the fields follow the playhead

    keyed = layer.data
    window.undo_action.trigger()
    assert [k.time for k in layer.data.groups[0].keys] == [0.0] and y.value() == pytest.approx(1.0)
    window.redo_action.trigger()
    assert layer.data is keyed and y.value() == pytest.approx(2.0)

    section.interpolation.setCurrentText("linear")  # no key at 0.5: only for new keys
    assert layer.data is keyed
    document.set_time(0.0)
    section.interpolation.setCurrentText("linear")
    assert layer.data.groups[0].keys[0].interpolation == "linear"
    np.testing.assert_allclose(layer.data.at(0.25).means[moving], start[moving] + [0, 1.5, 0], atol=1e-5)

    document.set_time(2.0)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.mouseClick(window.viewport, Qt.MouseButton.MiddleButton, pos=QPoint(5, 5))  # keys go to the viewport
    qtbot.keyClick(window.viewport, Qt.Key.Key_I)  # Insert Key: the held transform
    assert [k.time for k in layer.data.groups[0].keys] == [0.0, 1.0, 2.0]
    qtbot.keyClick(window.viewport, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)  # Delete Key
    assert [k.time for k in layer.data.groups[0].keys] == [0.0, 1.0]
    document.set_time(0.5)
    window.delete_key_action.trigger()  # none there: refused, shown
    assert window.errors[-1] == "Delete Key: group 'arm' has no key at 0.5 s"

    edited = layer.data
    window.bake_action.trigger()
    baked = layer.data
    assert not baked.groups[0].keys and baked.frame_count == 25  # 0 .. 1 s at 24 fps
    np.testing.assert_allclose(baked.at(0.5).means, edited.at(0.5).means, atol=1e-5)
    window.undo_action.trigger()
    assert layer.data is edited

    section.pivot[0].setValue(4.0)
    np.testing.assert_allclose(layer.data.groups[0].pivot[0], 4.0)
    section.remove_group_button.click()
    assert layer.data.groups == () and section.current_group is None
    assert not section.group_box.isVisibleTo(section)
    document.select_splats(layer.id, None)
    window.group_action.trigger()
    assert window.errors[-1] == "Group Selection: Select some splats first (Box or Brush Select)."


def test_retime_trim_and_loop_through_the_properties_fields(make_window):
    window = make_window()
    document = Document()
    layer = document.add_layer(Layer("walk", sliding_clip()))
    document.undo_stack.clear()
    window.set_document(document)
    section = window.properties.clip_section
    clip = layer.data
    assert window.properties.stats.text() == "50 splats\n6 frames at 10 fps\n0.60 s"
    assert not section.group_box.isVisibleTo(section)  # no groups yet

    section.speed.setValue(2.0)
    assert layer.data.timing.speed == 2.0 and layer.data.means is clip.means
    np.testing.assert_array_equal(layer.data.at(0.1).means, clip.frame(2).means)
    section.trim_in.setValue(0.1)
    section.trim_out.setValue(0.4)
    assert (layer.data.timing.trim_in, layer.data.timing.trim_out) == (0.1, 0.4)
    np.testing.assert_array_equal(layer.data.at(0.05).means, clip.frame(2).means)  # 0.1 + 2 x 0.05
    np.testing.assert_array_equal(layer.data.at(1.0).means, clip.frame(3).means)  # held: the last frame before the out point
    section.loop.setChecked(True)
    np.testing.assert_array_equal(layer.data.at(0.2).means, clip.frame(2).means)  # 0.15 s a pass: wrapped
    section.trim_out.setValue(0.05)  # before the trim in: refused, the field put back
    assert layer.data.timing.trim_out == 0.4 and section.trim_out.value() == pytest.approx(0.4)
    assert "trim_out must come after trim_in" in section.message.text() and section.message.isVisibleTo(section)

    for _ in range(4):  # loop, trim out, trim in, speed: one step each
        window.undo_action.trigger()
    assert layer.data is clip and section.speed.value() == 1.0 and section.trim_out.text() == "out: end"
    assert not document.undo_stack.can_undo
    window.redo_action.trigger()
    assert layer.data.timing.speed == 2.0 and section.speed.value() == 2.0


def test_animate_a_splat_layer_fills_the_animate_4d_tab_with_its_splats(make_window):
    window = make_window()
    document = Document()
    rock = document.add_layer(Layer("rock", cloud(40)))
    plane = document.add_layer(Layer("plane", MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])))
    window.set_document(document)
    assert not window.outliner.layer_menu(plane.id).actions()[1].isEnabled()  # meshes do not animate
    document.set_current(plane.id)
    assert not window.animate_action.isEnabled()
    menu = window.outliner.layer_menu(rock.id)
    assert [a.text() for a in menu.actions()] == ["Run Again", "Animate…"]
    menu.actions()[1].trigger()
    assert window.errors == []
    assert window.generate.tabText(window.generate.currentIndex()) == "animate-4d"
    chosen = window.generate.forms["animate-4d"].editor("object").findChild(QLineEdit).text()
    np.testing.assert_array_equal(load(chosen).means, rock.data.means)
