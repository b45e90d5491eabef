"""The Timeline dock: scrubbing, the play loop, the transport keys, the in/out range, and the key tracks
of clips (select, drag, delete, undo), following the document without echoing its own changes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from scene import Document, Layer, clip_edits
from scene.clip import ClipTiming, GaussianClip, Group, Key
from scene.events import PlaybackChanged, TimeChanged
from scene.playback import Playback
from scene.transform import Transform
from studio.panels.timeline import EDGE_PX, ROW_PX, KeyRef, TimelinePanel
from tests.studio.conftest import cloud, cloud_document


def record(document: Document, kind: type) -> list:
    events: list = []
    document.events.connect(lambda e: events.append(e) if isinstance(e, kind) else None)
    return events


def clip_document(loop: bool = False) -> Document:
    """A 2 s clip (48 frames at 24 fps) whose group "Arm" has keys at 0.25, 1 and 1.5 s (and "Leg" none),
    and a second clip from 0.5 s without groups."""
    base = cloud(60)
    frames = [base.replace(means=base.means + np.float32([0.05 * k, 0.0, 0.0])) for k in range(48)]
    keys = (Key(0.25), Key(1.0, Transform([0.0, 0.5, 0.0])), Key(1.5))
    arm = Group("Arm", np.arange(20), np.zeros(3), keys)
    document = Document()
    dancer = GaussianClip.from_frames(frames, 24.0).replace(groups=(Group("Leg", [30, 31]), arm))
    document.add_layer(Layer("Dancer", dancer, id="dancer"))
    flag = GaussianClip.from_frames(frames[:12], 24.0).replace(timing=ClipTiming(offset=0.5, loop=loop))
    document.add_layer(Layer("Flag", flag, id="flag"))
    document.add_layer(Layer("Static", cloud(10)))
    document.undo_stack.clear()
    return document


@pytest.fixture
def make_panel(qtbot):
    def make(document: Document) -> TimelinePanel:
        panel = TimelinePanel(document)
        qtbot.addWidget(panel)
        panel.resize(1000, 160)
        with qtbot.waitExposed(panel):
            panel.show()
        return panel

    return make


def at_box(panel: TimelinePanel, t: float, row: float = 0.0):
    """Where time ``t`` in row ``row`` lies on the timeline's graphics view, in its pixels."""
    return panel.view.mapFromScene(panel.box.mapToScene(QPointF(panel.x_px(t), (row + 0.5) * ROW_PX)))


def at_ruler(panel: TimelinePanel, t: float, y: float):
    return panel.view.mapFromScene(panel.ruler.mapToScene(QPointF(panel.x_px(t), y)))


def focus(qtbot, widget) -> None:
    """Give ``widget`` the keyboard (its window made active first, as a click on it would)."""
    widget.window().activateWindow()
    qtbot.waitUntil(widget.window().isActiveWindow)
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def wheel(panel: TimelinePanel, pos, delta: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """One notch of the mouse wheel at ``pos`` (view pixels)."""
    viewport = panel.view.viewport()
    event = QWheelEvent(
        QPointF(pos), QPointF(viewport.mapToGlobal(pos)), QPoint(), QPoint(0, delta), Qt.MouseButton.NoButton,
        modifiers, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(viewport, event)


def drag(qtbot, widget, start, end, button=Qt.MouseButton.LeftButton, steps: int = 4) -> None:
    """Press at ``start``, move to ``end`` in ``steps``, release; pyqtgraph drops moves under 10 ms apart."""
    qtbot.mousePress(widget, button, pos=start)
    for i in range(1, steps + 1):
        qtbot.wait(12)
        qtbot.mouseMove(widget, start + (end - start) * (i / steps))
    qtbot.mouseRelease(widget, button, pos=end)


# ============================================================================ the playhead
def test_moving_the_playhead_sets_the_document_time_once_on_a_frame(make_window):
    window = make_window()
    window.set_document(cloud_document())
    events = record(window.document, TimeChanged)
    window.timeline.cursor.setValue(0.4)  # frame 9.6 at 24 fps
    assert window.document.time == 10 / 24 == window.timeline.time
    assert events == [TimeChanged(10 / 24)]
    assert not window.isWindowModified() and not window.document.undo_stack.can_undo  # time is no edit


def test_dragging_the_playhead_scrubs_the_time(make_panel, qtbot):
    panel = make_panel(cloud_document())
    events = record(panel.document, TimeChanged)
    drag(qtbot, panel.view.viewport(), at_box(panel, 0.0, 1.5), at_box(panel, 6.0, 1.5))
    assert panel.document.time == pytest.approx(6.0, abs=0.1)
    assert panel.document.time * 24 == round(panel.document.time * 24)  # on a frame
    assert panel.document.time == panel.time
    assert 1 <= len(events) <= 4 and events[-1] == TimeChanged(panel.document.time)  # one per move, no echo


def test_pressing_and_dragging_on_the_ruler_scrubs(make_panel, qtbot):
    panel = make_panel(cloud_document())
    viewport = panel.view.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at_ruler(panel, 2.0, 6))
    assert panel.document.time == pytest.approx(2.0, abs=0.05)
    drag(qtbot, viewport, at_ruler(panel, 3.0, 6), at_ruler(panel, 7.5, 6))
    assert panel.document.time == pytest.approx(7.5, abs=0.05) and panel.time == panel.document.time
    assert panel.document.playback == Playback()  # scrubbing left the in/out range alone


def test_document_time_moves_the_playhead_without_echo(make_panel):
    panel = make_panel(cloud_document())
    events = record(panel.document, TimeChanged)
    panel.document.set_time(0.75)
    assert panel.time == 0.75 and events == [TimeChanged(0.75)]
    panel.document.set_time(42.0)  # beyond the view: the view pans there, the time is not clamped
    (x0, x1), _ = panel.box.viewRange()
    assert panel.time == 42.0 == panel.document.time and x0 <= 42.0 <= x1
    assert events == [TimeChanged(0.75), TimeChanged(42.0)]


def test_a_new_or_opened_document_sets_the_playhead_and_the_transport(make_window):
    window = make_window()
    old = window.document
    window.document.set_time(0.5)
    window.document.set_playback(fps=30.0)
    window.new_document()
    assert window.document is not old and window.timeline.time == 0.0 and window.timeline.fps_box.value() == 24.0
    window.timeline.cursor.setValue(0.25)
    assert window.document.time == 0.25 and old.time == 0.5  # the old document is let go
    loaded = cloud_document()
    loaded.set_time(0.35)
    loaded.set_playback(fps=25.0, start=1.0, end=3.0, speed=2.0, loop=False)
    window.set_document(loaded)
    timeline = window.timeline
    assert timeline.time == 0.35
    assert (timeline.fps_box.value(), timeline.in_box.value(), timeline.out_box.value()) == (25.0, 25, 75)
    assert timeline.speed_box.value() == 2.0 and not timeline.loop_button.isChecked()
    assert window.player.document is loaded


def test_panning_and_zooming_never_show_negative_time(make_panel, qtbot):
    """The view reaches no further left than a few pixels before 0 (room for the playhead there)."""
    panel = make_panel(cloud_document())
    box, viewport = panel.box, panel.view.viewport()

    def earliest_pixel() -> float:
        (x0, x1), _ = box.viewRange()
        return x0 / (x1 - x0) * box.width()

    drag(qtbot, viewport, at_box(panel, 3.0, 1.5), at_box(panel, 8.0, 1.5))  # pulls earlier time into view
    assert panel.document.time == 0.0  # the playhead stayed put
    assert -EDGE_PX - 0.5 <= earliest_pixel() <= 0.0
    assert not panel.framed  # the artist's view now: it no longer follows the range
    for _ in range(5):  # zoom out about the start, then in
        box.scaleBy(x=1.5, center=QPointF(0.05, 0.0))
        assert earliest_pixel() >= -EDGE_PX - 0.5
    for _ in range(12):
        box.scaleBy(x=0.5, center=QPointF(0.05, 0.0))
        assert earliest_pixel() >= -EDGE_PX - 0.5
    assert box.viewRange()[0][1] - box.viewRange()[0][0] >= 0.01 - 1e-9  # no narrower than the smallest span
    box.translateBy(x=-1e6)  # pan far left
    assert earliest_pixel() >= -EDGE_PX - 0.5


def test_the_wheel_zooms_time_and_shift_wheel_scrolls_rows(make_panel, qtbot):
    document = clip_document()
    for i in range(8):  # more rows than fit
        document.add_layer(Layer(f"clip {i}", document.layers[1].data))
    panel = make_panel(document)
    assert panel.scroll_bar.isVisible() and panel.scroll == 0

    def span() -> float:
        (x0, x1), _ = panel.box.viewRange()
        return x1 - x0

    before = span()
    wheel(panel, at_box(panel, 1.0, 0.5), 120)  # over the tracks: zooms in about the mouse
    assert span() < before and panel.scroll == 0
    before = span()
    wheel(panel, at_ruler(panel, 1.0, 6), -120)  # over the ruler: zooms out
    assert span() > before
    before = span()
    wheel(panel, at_box(panel, 1.0, 0.5), -120, Qt.KeyboardModifier.ShiftModifier)  # Shift: scrolls the rows
    assert panel.scroll == 1 and panel.track_at(0.0) is panel.rows[1] and span() == before
    panel.scroll_rows(2)
    assert panel.scroll == 3 and panel.track_at(0.0) is panel.rows[3]
    panel.scroll_rows(100)
    assert panel.scroll == panel.scroll_bar.maximum() == len(panel.rows) - panel.visible_row_count()


def test_the_playback_settings_travel_with_the_saved_project(make_window, qtbot, tmp_path):
    from tests.studio.conftest import wait_idle

    window = make_window()
    window.set_document(clip_document())
    timeline = window.timeline
    timeline.fps_box.setValue(30.0)
    timeline.in_box.setValue(6)
    timeline.out_box.setValue(45)
    timeline.speed_box.setValue(0.5)
    timeline.loop_button.click()
    saved = window.document.playback
    assert saved == Playback(fps=30.0, start=0.2, end=1.5, loop=False, speed=0.5)
    window.save_as(tmp_path / "p.a4d")  # a background save, of a snapshot of the document
    wait_idle(qtbot, window)
    other = make_window()
    other.open_path(tmp_path / "p.a4d")
    wait_idle(qtbot, other)
    assert other.document.playback == saved
    assert (other.timeline.in_box.value(), other.timeline.out_box.value(), other.timeline.fps_box.value()) == (6, 45, 30.0)


# ============================================================================ playing
def test_playing_at_2x_covers_two_seconds_a_second(make_panel, qtbot):
    panel = make_panel(cloud_document())
    player, now = panel.player, [100.0]
    player.clock = lambda: now[0]
    panel.document.set_playback(speed=2.0)
    player.play()
    assert player.playing and player.timer.interval() == round(1000 / 48)  # a frame of 24 fps at 2x
    now[0] += 1.0
    qtbot.waitUntil(lambda: panel.document.time > 0, timeout=2000)  # the timer's next tick
    assert panel.document.time == 2.0 and panel.time == 2.0
    now[0] += 0.26  # 0.52 s of document time: frame 60.48, held at frame 60
    player.tick()
    assert panel.document.time == 60 / 24
    panel.speed_box.setValue(0.5)  # a new speed counts from now
    assert panel.document.playback.speed == 0.5
    now[0] += 1.0
    player.tick()
    assert panel.document.time == 60 / 24 + 0.5
    player.toggle()
    assert not player.playing and not player.timer.isActive()


def test_playing_loops_within_the_range_or_stops_at_the_out_point(make_panel):
    document = clip_document()
    panel = make_panel(document)
    player, now = panel.player, [0.0]
    player.clock = lambda: now[0]
    assert document.play_range() == (0.0, 2.0)  # the open out point: the end of the longest clip
    document.set_playback(start=0.5, end=1.5)
    document.set_time(1.75)
    player.play()  # outside the range: from the in point
    assert document.time == 0.5
    now[0] += 1.25
    player.tick()
    assert document.time == 0.75 and player.playing  # 0.5 + 1.25 wrapped in [0.5, 1.5)
    document.set_time(1.0)  # scrubbed while playing: plays on from there
    now[0] += 0.25
    player.tick()
    assert document.time == 1.25
    panel.loop_button.click()
    assert document.playback.loop is False
    now[0] += 1.0
    player.tick()
    assert document.time == 1.5 and not player.playing  # stopped at the out point
    player.play()  # at the out point, play starts again from the in point
    assert document.time == 0.5 and player.playing
    player.pause()


def test_transport_keys_in_the_viewport_and_the_timeline(make_window, qtbot):
    window = make_window()
    window.set_document(cloud_document())
    document, timeline = window.document, window.timeline
    document.set_playback(start=1.0, end=3.0)
    for widget in (window.viewport, timeline.view):
        focus(qtbot, widget)
        document.set_time(2.0)
        qtbot.keyClick(widget, Qt.Key.Key_Right)
        assert document.time == 49 / 24  # a frame on
        qtbot.keyClick(widget, Qt.Key.Key_Left)
        qtbot.keyClick(widget, Qt.Key.Key_Left)
        assert document.time == 47 / 24
        qtbot.keyClick(widget, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
        assert document.time == 1.0
        qtbot.keyClick(widget, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
        assert document.time == 3.0
        qtbot.keyClick(widget, Qt.Key.Key_Space)
        assert window.player.playing and document.time == 1.0  # from the out point, play starts at the in point
        qtbot.keyClick(widget, Qt.Key.Key_Space)
        assert not window.player.playing
        document.set_time(0.0)
        qtbot.keyClick(widget, Qt.Key.Key_Left)
        assert document.time == 0.0  # never before 0
    focus(qtbot, timeline.fps_box)  # typing in a box keeps its keys
    before = document.time
    qtbot.keyClick(timeline.fps_box, Qt.Key.Key_Left)
    qtbot.keyClick(timeline.fps_box, Qt.Key.Key_Space)
    assert document.time == before and not window.player.playing
    assert not document.undo_stack.can_undo
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    playback_menu = next(a.menu() for a in view_menu.actions() if a.text() == "Play&back")
    assert [a.shortcut().toString() for a in playback_menu.actions()][:5] == [
        "Space", "Left", "Right", "Shift+Left", "Shift+Right",
    ]


# ============================================================================ the in/out range
def test_in_and_out_points_from_the_boxes_the_playhead_and_the_ruler(make_panel, qtbot):
    document = clip_document()
    panel = make_panel(document)
    events = record(document, PlaybackChanged)
    panel.in_box.setValue(12)
    assert document.playback.start == 0.5 and document.play_range() == (0.5, 2.0)
    panel.out_box.setValue(36)
    assert document.playback.end == 1.5
    panel.out_box.setValue(0)  # "auto": the end of the longest clip again
    assert document.playback.end is None and panel.out_box.text() == "Out auto"
    document.set_time(1.25)
    panel.set_out(document.time)  # Set Out (at the playhead)
    assert document.play_range() == (0.5, 1.25) and panel.out_box.value() == 30
    document.set_time(1.75)
    panel.set_in(document.time)  # past the out point: pushes it a frame after
    assert document.play_range() == (1.75, 1.75 + 1 / 24)
    assert (panel.in_box.value(), panel.out_box.value()) == (42, 43)
    assert len(events) == 5 and not document.undo_stack.can_undo  # each a change, none an undo step
    document.set_playback(start=0.5, end=1.5)
    panel.frame_range()
    bar = panel.ruler.height() - 3
    drag(qtbot, panel.view.viewport(), at_ruler(panel, 1.5, bar), at_ruler(panel, 1.0, bar))  # the out handle
    assert document.play_range() == pytest.approx((0.5, 1.0), abs=0.05) and document.time == 1.75
    drag(qtbot, panel.view.viewport(), at_ruler(panel, 0.5, bar), at_ruler(panel, 0.25, bar))  # the in handle
    assert document.play_range() == pytest.approx((0.25, 1.0), abs=0.05)
    panel.fps_box.setValue(30.0)
    assert document.playback.fps == 30.0 and panel.out_box.value() == document.playback.frame_of(document.playback.end)


# ============================================================================ tracks and keys
def test_a_row_per_clip_and_keyframed_group_with_its_keys(make_panel):
    document = clip_document(loop=True)
    panel = make_panel(document)
    rows = [(r.label, r.group, r.span, r.loop, r.keys) for r in panel.rows]
    assert rows == [
        ("Dancer", None, (0.0, 2.0), False, ()),
        ("Arm", "Arm", (0.0, 0.0), False, (0.25, 1.0, 1.5)),
        ("Flag", None, (0.5, 1.0), True, ()),
    ]  # the static layer has no row
    key = KeyRef("dancer", "Arm", 1.0)
    point = panel.key_point(key)
    assert panel.key_at(point) == key and panel.key_at(point + QPointF(2 * ROW_PX, 0)) is None
    assert panel.key_at(point + QPointF(0, ROW_PX)) is None  # the next row holds no key
    image = panel.view.grab().toImage()  # the diamond is drawn where the key is
    centre = panel.view.mapFromScene(panel.box.mapToScene(point))
    assert image.pixelColor(centre).lightness() > 200
    document.set_layer("dancer", name="Hero")
    assert panel.rows[0].label == "Hero"
    flag = document.layer("flag").data
    document.set_layer("flag", data=flag.replace(groups=(Group("Wave", [0, 1]),)))
    assert [r.label for r in panel.rows] == ["Hero", "Arm", "Flag"]  # a group without keys has no row
    clip_edits.set_key(document, "flag", "Wave", Transform([0.0, 1.0, 0.0]), 0.75)
    assert [(r.label, r.keys) for r in panel.rows][3] == ("Wave", (0.75,))
    document.remove_layer("dancer")
    assert [r.label for r in panel.rows] == ["Flag", "Wave"]


def test_clicking_a_key_selects_it_and_its_layer(make_panel, qtbot):
    document = clip_document()
    panel = make_panel(document)
    document.set_current("flag")
    viewport = panel.view.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at_box(panel, 1.0, 1))
    assert panel.selected_key == KeyRef("dancer", "Arm", 1.0) and document.current_id == "dancer"
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at_box(panel, 1.25, 2))  # the Flag row, no key
    assert panel.selected_key is None and document.current_id == "flag"
    assert document.time == 0.0 and not document.undo_stack.can_undo


def test_dragging_a_key_moves_it_in_one_undo_step(make_panel, qtbot):
    document = clip_document()
    panel = make_panel(document)
    viewport = panel.view.viewport()
    drag(qtbot, viewport, at_box(panel, 1.0, 1), at_box(panel, 0.5, 1), steps=6)
    keys = [k.time for k in document.layer("dancer").data.groups[1].keys]
    assert keys == [0.25, 0.5, 1.5] and panel.rows[1].keys == (0.25, 0.5, 1.5)
    assert document.layer("dancer").data.groups[1].key_at(0.5).transform == Transform([0.0, 0.5, 0.0])
    assert panel.selected_key == KeyRef("dancer", "Arm", 0.5)
    assert document.undo_stack.undo_text == "Move key of Arm to 0.5 s"
    document.undo()
    assert [k.time for k in document.layer("dancer").data.groups[1].keys] == [0.25, 1.0, 1.5]
    assert not document.undo_stack.can_undo and panel.rows[1].keys == (0.25, 1.0, 1.5)
    assert panel.selected_key is None  # the key it named is gone
    document.redo()
    assert panel.rows[1].keys == (0.25, 0.5, 1.5)
    drag(qtbot, viewport, at_box(panel, 3.0, 1.5), at_box(panel, 4.0, 1.5))  # empty space: pans, moves no key
    assert panel.rows[1].keys == (0.25, 0.5, 1.5) and document.undo_stack.undo_text == "Move key of Arm to 0.5 s"


def test_a_key_under_the_playhead_is_grabbed_before_the_playhead(make_panel, qtbot):
    document = clip_document()
    document.set_time(1.0)  # keys are made at the playhead, so one often sits under it
    panel = make_panel(document)
    viewport = panel.view.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at_box(panel, 1.0, 1))
    assert panel.selected_key == KeyRef("dancer", "Arm", 1.0)
    drag(qtbot, viewport, at_box(panel, 1.0, 1), at_box(panel, 1.25, 1))
    assert panel.rows[1].keys == (0.25, 1.25, 1.5) and document.time == 1.0
    drag(qtbot, viewport, at_box(panel, 1.0, 0), at_box(panel, 0.5, 0))  # in the clip's row: the playhead
    assert document.time == pytest.approx(0.5, abs=0.05) and panel.rows[1].keys == (0.25, 1.25, 1.5)


def test_delete_removes_the_selected_key_not_the_layer(make_window, qtbot):
    document = clip_document()
    window = make_window()
    window.set_document(document)
    timeline = window.timeline
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    document.set_current("dancer")
    window.properties.clip_section.set_current_group("Leg")
    qtbot.mouseClick(timeline.view.viewport(), Qt.MouseButton.LeftButton, pos=at_box(timeline, 1.5, 1))
    assert timeline.selected_key == KeyRef("dancer", "Arm", 1.5) and timeline.view.hasFocus()
    assert window.properties.clip_section.current_group == "Arm"  # the Properties edit the clicked key's group
    qtbot.keyClick(timeline.view, Qt.Key.Key_Delete)
    assert [k.time for k in document.layer("dancer").data.groups[1].keys] == [0.25, 1.0]
    assert len(document.layers) == 3 and timeline.selected_key is None
    assert document.undo_stack.undo_text == "Delete key of Arm at 1.5 s"
    qtbot.keyClick(timeline.view, Qt.Key.Key_Delete)  # no key selected: on the timeline, Delete deletes no layer
    assert len(document.layers) == 3 and timeline.rows[1].keys == (0.25, 1.0)
    window.document_undo()
    assert timeline.rows[1].keys == (0.25, 1.0, 1.5)


def test_right_click_a_key_for_its_menu(make_panel, qtbot):
    document = clip_document()
    panel = make_panel(document)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.RightButton, pos=at_box(panel, 0.25, 1))
    qtbot.waitUntil(panel.key_menu.isVisible)
    assert panel.selected_key == KeyRef("dancer", "Arm", 0.25)
    assert panel.interpolation_actions["smooth"].isChecked()
    panel.interpolation_actions["linear"].trigger()
    assert document.layer("dancer").data.groups[1].key_at(0.25).interpolation == "linear"
    panel.key_menu.close()
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.RightButton, pos=at_box(panel, 0.25, 1))
    qtbot.waitUntil(panel.key_menu.isVisible)
    panel.delete_key_action.trigger()
    panel.key_menu.close()
    assert panel.rows[1].keys == (1.0, 1.5)
    document.undo()
    document.undo()
    assert document.layer("dancer").data.groups[1].key_at(0.25).interpolation == "smooth"


# ============================================================================ the viewport follows
def test_scrubbing_changes_the_drawn_frame(make_window, qtbot):
    """Dragging the playhead to 1 s draws the clip's splats where they are at 1 s, as a still cloud of them would."""
    from tests.studio.conftest import wait_drawn
    from tests.studio.test_viewport_picture import pixels

    document = clip_document()
    window = make_window()
    window.set_document(document)
    window.viewport.frame_all()
    wait_drawn(qtbot, window)
    at_start = pixels(window.viewport.grabFramebuffer())
    timeline = window.timeline
    drag(qtbot, timeline.view.viewport(), at_ruler(timeline, 0.0, 6), at_ruler(timeline, 1.0, 6), steps=6)
    assert document.time == pytest.approx(1.0, abs=0.05)
    wait_drawn(qtbot, window)
    moved = pixels(window.viewport.grabFramebuffer())
    assert np.abs(moved - at_start).mean() > 2.0  # the splats moved across the picture
    still = Document()  # the same splats, frozen at that time
    for layer in document.layers:
        data = layer.data.at(document.time) if isinstance(layer.data, GaussianClip) else layer.data
        still.add_layer(Layer(layer.name, data))
    window.set_document(still)
    wait_drawn(qtbot, window)
    expected = pixels(window.viewport.grabFramebuffer())
    assert np.abs(moved - expected).max() <= 8  # the test display may have 16-bit colour (steps of 8)
