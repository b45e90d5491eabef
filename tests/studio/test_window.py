"""The main window end to end under Xvfb: drawing, files, selection edits, undo, autosave, quitting."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from assets import demo_project_path
from scene import Layer, Transform
from scene.bounds import document_dense_box, layer_dense_box
from scene.edits import mask_in_box, mask_in_rect, world_centres
from scene.io import load, save
from studio import main_window
from studio.viewport import BACKGROUND
from tests.studio.conftest import cloud, cloud_document, wait_drawn, wait_idle
from tests.studio.test_window_user import focus_viewport, menu_action, press


def _colour_distance(image, x: int, y: int) -> float:
    colour = image.pixelColor(x, y)
    background = np.array(BACKGROUND) * 255
    return float(np.abs(np.array([colour.red(), colour.green(), colour.blue()]) - background).max())


def test_demo_is_drawn(make_window, qtbot):
    window = make_window()
    window.open_path(demo_project_path())
    wait_idle(qtbot, window)
    wait_drawn(qtbot, window)
    assert [layer.name for layer in window.document.layers] == ["Checker floor", "Pedestal", "Torus knot"]
    assert window.windowTitle().startswith("demo.a4d") and not window.isWindowModified()
    knot = window.document.layers[-1]
    image = window.viewport.grabFramebuffer()
    assert window.viewport.renderer is not None, window.viewport.gl_error
    camera = window.viewport.camera()
    uv, _ = camera.project(np.mean(knot.world_bounds(), axis=0)[None])
    u, v = uv[0]
    x, y = int(u * image.width() / camera.width), int(v * image.height() / camera.height)
    patch = [_colour_distance(image, x + dx, y + dy) for dx in range(-6, 7, 3) for dy in range(-6, 7, 3)]
    assert np.median(patch) > 40, "the knot should cover the middle of its bounds"
    assert _colour_distance(image, 2, 2) < 10, "the corner shows the background"


def test_import_adds_a_layer_undo_redo(make_window, qtbot, tmp_path):
    path = tmp_path / "rock.ply"
    save(path, cloud(300))
    window = make_window()
    window.import_files([path])
    wait_idle(qtbot, window)
    assert window.outliner.list.count() == 1 and window.outliner.list.item(0).text() == "rock"
    assert window.document.current.data.count == 300
    assert window.isWindowModified() and window.undo_action.text() == "&Undo Import rock.ply"
    window.undo_action.trigger()
    assert window.outliner.list.count() == 0 and not window.isWindowModified()
    window.redo_action.trigger()
    assert window.outliner.list.item(0).text() == "rock"


def test_box_select_in_the_viewport_then_delete_and_export(make_window, qtbot, tmp_path):
    window = make_window()
    window.set_document(cloud_document(2000))
    window.viewport.frame_all()
    window.set_tool("box")
    start, end = QPoint(40, 30), QPoint(window.viewport.width() // 2, window.viewport.height() // 2)
    qtbot.mousePress(window.viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(window.viewport, end)
    qtbot.mouseRelease(window.viewport, Qt.MouseButton.LeftButton, pos=end)

    layer = window.document.current
    original = layer.data
    expected = mask_in_rect(world_centres(layer), window.viewport.camera(), (start.x(), start.y(), end.x(), end.y()))
    assert 0 < expected.sum() < 2000
    np.testing.assert_array_equal(window.document.splat_selection(layer.id), expected)
    assert window.undo_action.text() == "&Undo Box select"

    # Ctrl subtracts; Shift adds back
    qtbot.mousePress(window.viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, start)
    qtbot.mouseRelease(window.viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, end)
    assert window.document.splat_selection(layer.id) is None
    qtbot.mousePress(window.viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, start)
    qtbot.mouseRelease(window.viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, end)
    np.testing.assert_array_equal(window.document.splat_selection(layer.id), expected)
    window.viewport.grabFramebuffer()  # draws the selection overlay

    window.delete_action.trigger()
    kept = 2000 - int(expected.sum())
    assert window.document.current.data.count == kept
    assert window.properties.stats.text().startswith(f"{kept:,} splats")
    out = tmp_path / "kept.ply"
    window.export_layer(out)
    wait_idle(qtbot, window)
    exported = load(out)
    assert exported.count == kept
    np.testing.assert_allclose(exported.means, original.means[~expected], atol=1e-6)
    window.undo_action.trigger()
    assert window.document.current.data.count == 2000


def test_brush_separate_crop_and_move(make_window, qtbot):
    window = make_window()
    window.set_document(cloud_document(2000))
    window.viewport.frame_all()
    window.set_tool("brush")
    centre = QPoint(window.viewport.width() // 2, window.viewport.height() // 2)
    qtbot.mousePress(window.viewport, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(window.viewport, centre + QPoint(20, 0))
    qtbot.mouseRelease(window.viewport, Qt.MouseButton.LeftButton, pos=centre + QPoint(20, 0))
    layer = window.document.current
    brushed = window.document.splat_selection(layer.id)
    assert brushed is not None and 0 < brushed.sum() < 2000
    assert window.undo_action.text() == "&Undo Brush select"  # the stroke is one step

    before = world_centres(layer)[brushed]
    window.set_tool("move")
    qtbot.mousePress(window.viewport, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseRelease(window.viewport, Qt.MouseButton.LeftButton, pos=centre + QPoint(30, 0))
    moved = world_centres(window.document.current)[brushed]
    shift = moved - before
    assert np.allclose(shift, shift[0], atol=1e-5) and np.linalg.norm(shift[0]) > 0.01
    right = window.viewport.camera().c2w[:3, 0]
    assert np.dot(shift[0], right) > 0.99 * np.linalg.norm(shift[0])  # along the screen's x axis

    centres = world_centres(window.document.current)
    inside = mask_in_box(centres, centres[brushed].min(axis=0), centres[brushed].max(axis=0))
    assert int(brushed.sum()) <= int(inside.sum()) < 2000
    window.crop_to_selection()  # keeps what lies in the selection's bounding box
    np.testing.assert_array_equal(world_centres(window.document.current), centres[inside])
    window.undo_action.trigger()
    window.invert_selection()
    inverted = window.document.splat_selection(layer.id)
    np.testing.assert_array_equal(inverted, ~brushed)
    window.separate_selection()
    assert [l.data.count for l in window.document.layers] == [int(brushed.sum()), int((~brushed).sum())]


def test_turntable_export_renders_in_the_background(make_window, qtbot, tmp_path):
    import imageio.v2 as imageio

    from studio.turntable import TurntableSettings

    window = make_window()
    window.set_document(cloud_document(800))
    window.viewport.frame_all()
    out = tmp_path / "turntable.mp4"
    task = window.export_turntable(out, TurntableSettings(160, 96, frames=24, fps=12))
    assert task is not None and window.status.task_label.isVisible()  # the status bar shows it running
    wait_idle(qtbot, window, timeout=60000)
    assert window.errors == []
    reader = imageio.get_reader(out)
    try:
        frames = [frame for frame in reader]
        meta = reader.get_meta_data()
    finally:
        reader.close()
    assert len(frames) == 24 and meta["size"] == (160, 96) and meta["fps"] == 12  # as chosen, not the viewport's
    assert frames[0].std() > 5 and np.abs(frames[0].astype(int) - frames[6].astype(int)).mean() > 1  # it turns
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".mp4"] == ["turntable.mp4"]


def test_save_and_reopen_a_project(make_window, qtbot, tmp_path):
    window = make_window()
    document = cloud_document(400)
    document.add_layer(Layer("second", cloud(50, seed=3), visible=False))
    window.set_document(document)
    window.viewport.frame_all()
    window.viewport.controller.orbit(120.0, -40.0)  # a view of the artist's own
    window.viewport.controller.zoom(0.6)
    saved_view = window.viewport.camera()
    document.set_time(1.25)  # the playhead travels with the project too
    path = tmp_path / "scene.a4d"
    window.save_as(path)
    wait_idle(qtbot, window)
    assert not window.isWindowModified() and window.windowTitle().startswith("scene.a4d")
    assert window.settings.recent_files[0] == str(path.resolve())

    other = make_window()
    other.open_path(path)
    wait_idle(qtbot, other)
    reopened = other.document
    assert [(l.name, l.visible, l.data.count) for l in reopened.layers] == [("cloud", True, 400), ("second", False, 50)]
    assert reopened.time == 1.25 and other.timeline.time == 1.25
    for a, b in zip(document.layers, reopened.layers):
        np.testing.assert_array_equal(a.data.means, b.data.means)
        np.testing.assert_array_equal(a.data.sh, b.data.sh)
    # the viewport camera travels with the project, and the reopened window looks the same way
    np.testing.assert_allclose(other.viewport.camera().c2w, saved_view.c2w, atol=1e-6)
    other.viewport.reset_view()  # Home still frames everything
    assert not np.allclose(other.viewport.camera().c2w, saved_view.c2w, atol=1e-3)


def test_autosave_then_restore_after_a_crash(make_window, qtbot, tmp_path):
    recovery = tmp_path / "recovery"
    crashed = make_window(recovery)
    crashed.set_document(cloud_document(100))
    crashed.document.add_layer(Layer("unsaved work", cloud(60, seed=1)))
    crashed.autosaver.autosave_now()
    wait_idle(qtbot, crashed)
    assert (recovery / "recovery.a4d").exists()
    # the session "crashes": the window is never closed, the recovery file stays

    restored = make_window(recovery)
    asked = []
    restored.ask_restore = lambda found: asked.append(found) or True
    restored.offer_recovery()
    wait_idle(qtbot, restored)
    assert len(asked) == 1
    assert [(l.name, l.data.count) for l in restored.document.layers] == [("cloud", 100), ("unsaved work", 60)]
    assert restored.isWindowModified()  # unsaved until saved


def test_declined_recovery_is_discarded(make_window, tmp_path):
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    (recovery / "recovery.a4d").write_bytes(b"left by a crash")
    window = make_window(recovery)
    window.ask_restore = lambda found: False
    assert window.offer_recovery() is None and not (recovery / "recovery.a4d").exists()


def test_outliner_and_properties_edits_are_undoable(make_window):
    window = make_window()
    document = cloud_document(100)
    document.add_layer(Layer("top", cloud(10)))
    document.undo_stack.mark_clean()  # as if just saved: undoing every edit below returns here
    window.set_document(document)
    outliner, properties = window.outliner, window.properties

    outliner.list.item(1).setText("renamed")
    assert document.layers[1].name == "renamed"
    outliner.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not document.layers[0].visible
    outliner.move_current(-1)
    assert [l.name for l in document.layers] == ["renamed", "cloud"]
    properties.translation[1].setValue(2.5)
    assert document.current.transform.translation[1] == pytest.approx(2.5)
    properties.opacity_scale.setValue(50)
    assert document.current.display.opacity_scale == pytest.approx(0.5)
    window.outliner.delete_current()
    assert [l.name for l in document.layers] == ["cloud"]

    for _ in range(6):
        window.undo_action.trigger()
    assert [(l.name, l.visible) for l in document.layers] == [("cloud", True), ("top", True)]
    assert [outliner.list.item(i).text() for i in range(2)] == ["cloud", "top"]
    assert document.layers[1].transform.translation[1] == 0.0 and properties.translation[1].value() == 0.0
    assert not window.isWindowModified()


def test_quit_asks_about_unsaved_changes(make_window, monkeypatch):
    window = make_window()
    del window.ask_unsaved_changes  # the real prompt, whose message box is replaced below
    window.set_document(cloud_document(10))
    window.document.add_layer(Layer("new", cloud(5)))
    answers = []

    def question(*args, **kwargs):
        answers.append(args[2])
        return answer

    monkeypatch.setattr(main_window.QMessageBox, "question", question)
    answer = QMessageBox.StandardButton.Cancel
    assert not window.close() and window.isVisible()
    answer = QMessageBox.StandardButton.Discard
    assert window.close() and not window.isVisible()
    assert answers == ["Save the changes to Untitled?"] * 2


def test_run_studio_imports_a_file_into_a_new_document(qtbot, tmp_path, monkeypatch):
    from studio.app import create_window

    path = tmp_path / "scan.ply"
    save(path, cloud(120))
    window = create_window(str(path))
    qtbot.addWidget(window)
    wait_idle(qtbot, window)
    assert [l.name for l in window.document.layers] == ["scan"] and window.path is None
    window.ask_unsaved_changes = lambda: "discard"
    window.close()


def test_first_launch_opens_the_demo(qtbot):
    from studio.app import create_window

    window = create_window()
    qtbot.addWidget(window)
    wait_idle(qtbot, window)
    assert window.path == demo_project_path() and len(window.document.layers) == 3
    window.close()


def test_home_frames_every_visible_layer_and_f_the_selection(make_window, qtbot):
    """As in Blender: ``Home`` frames all visible layers, ``F`` the selected splats, else the current
    layer; both keep the view's direction and leave stray floaters out (View menu: Frame All, Frame Selected)."""
    window = make_window()
    document = window.document
    near, far = cloud(3000, seed=1), cloud(3000, seed=2)
    stray = far.means.copy()
    stray[0] = (80.0, 0.0, 0.0)  # one floater far out
    document.add_layer(Layer("near", near))
    document.add_layer(Layer("far", far.replace(means=stray), transform=Transform(translation=[6.0, 0.0, 0.0])))
    document.add_layer(Layer("hidden", cloud(100, seed=3), visible=False, transform=Transform(translation=[-40.0, 0.0, 0.0])))
    document.set_current(document.layers[0].id)
    viewport = window.viewport
    assert menu_action(window, "View", "Frame All").shortcut().toString() == "Home"
    assert menu_action(window, "View", "Frame Selected").shortcut().toString() == "F"
    assert menu_action(window, "View", "Reset View").shortcut().isEmpty()

    focus_viewport(qtbot, window)
    viewport.controller.orbit(120.0, 40.0)
    forward = viewport.camera().forward
    press(qtbot, window, Qt.Key.Key_Home)
    lo, hi = document_dense_box(document)
    np.testing.assert_allclose(viewport.controller.target, 0.5 * (lo + hi), atol=1e-9)
    assert 2.0 < viewport.controller.target[0] < 4.0 and viewport.controller.distance < 20.0  # no floater, no hidden layer
    np.testing.assert_allclose(viewport.camera().forward, forward, atol=1e-9)
    camera = viewport.camera()
    uv, depth = camera.project(np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]))
    assert (depth > 0).all() and (uv >= 0).all() and (uv[:, 0] <= camera.width).all() and (uv[:, 1] <= camera.height).all()

    press(qtbot, window, Qt.Key.Key_F)  # no splat selected: the current layer
    np.testing.assert_allclose(viewport.controller.target, np.mean(layer_dense_box(document.layers[0]), axis=0), atol=1e-9)
    whole_layer = viewport.controller.distance
    chosen = near.means[:, 0] > 0.6
    document.select_splats(document.layers[0].id, chosen)
    press(qtbot, window, Qt.Key.Key_F)  # the selected splats
    centres = near.means[chosen]
    np.testing.assert_allclose(viewport.controller.target, 0.5 * (centres.min(axis=0) + centres.max(axis=0)), atol=0.05)
    assert viewport.controller.distance < 0.9 * whole_layer
    np.testing.assert_allclose(viewport.camera().forward, forward, atol=1e-9)
