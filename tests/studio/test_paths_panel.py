"""The Paths dock and the Path Edit tool: keys from the view, dragged, deleted, reordered, re-timed,
undone; preview, JSON files, a video along the path, and the path an outpainting job grew along."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engines.runtime.events import Result
from render.path_drawer import key_pixels
from scene.camera_path import CameraKey, CameraPath
from studio.turntable import TurntableSettings
from tests.studio.conftest import cloud_document, wait_idle

LEFT = Qt.MouseButton.LeftButton


def _window_with_path(make_window):
    """A window showing a cloud, and a path of two keys made from two views."""
    window = make_window()
    window.set_document(cloud_document(200))
    window.viewport.frame_all()
    panel = window.paths_panel
    panel.new_path()
    window.viewport.controller.orbit(120.0, 0.0)
    panel.add_key()
    return window, panel


def _positions(panel) -> list[tuple]:
    return [k.position for k in panel.current.path.keys]


def test_keys_come_from_the_current_view_and_are_undoable(make_window) -> None:
    window, panel = _window_with_path(make_window)
    keys = panel.current.path.keys
    assert [k.time for k in keys] == [0.0, 1.0]
    np.testing.assert_allclose(keys[1].position, window.viewport.camera().position, atol=1e-9)
    assert not np.allclose(keys[0].position, keys[1].position)
    assert panel.keys.count() == 2 and panel.keys.currentRow() == 1
    assert window.viewport.path_selection == (panel.path_id, 1)
    window.document_undo()
    assert len(panel.current.path.keys) == 1 and panel.keys.count() == 1
    window.document_redo()
    assert len(panel.current.path.keys) == 2


def test_delete_reorder_and_retime_keys(make_window) -> None:
    window, panel = _window_with_path(make_window)
    window.viewport.controller.orbit(0.0, 40.0)
    panel.select(panel.path_id, 0)
    panel.add_key()  # after key 1: midway in time
    assert [k.time for k in panel.current.path.keys] == [0.0, 0.5, 1.0] and panel.key == 1
    before = _positions(panel)
    panel.move_key(-1)
    assert _positions(panel) == [before[1], before[0], before[2]] and panel.key == 0
    assert [k.time for k in panel.current.path.keys] == [0.0, 0.5, 1.0]
    window.document_undo()
    assert _positions(panel) == before
    panel.select(panel.path_id, 2)
    panel.set_key_time(0.25)  # now the second key
    assert [k.time for k in panel.current.path.keys] == [0.0, 0.25, 0.5] and panel.key == 1
    assert panel.current.path.keys[1].position == before[2]
    panel.set_key_time(0.5)  # taken by another key: refused, said in the artist's words
    assert window.errors and "share the time" in window.errors[-1]
    panel.delete_key()
    assert _positions(panel) == [before[0], before[1]]
    window.document_undo()
    window.document_undo()
    assert _positions(panel) == before


def _mouse(viewport, kind: QEvent.Type, point: QPointF, held: Qt.MouseButton) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else LEFT
    event = QMouseEvent(kind, point, viewport.mapToGlobal(point), button, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def test_dragging_a_key_moves_it_with_the_mouse_in_one_undo_step(make_window, qtbot) -> None:
    window, panel = _window_with_path(make_window)
    viewport = window.viewport
    window.viewport.controller.orbit(-60.0, 0.0)
    window.viewport.controller.zoom(2.5)  # both keys in front of the camera, apart on screen
    window.set_tool("path")
    panel.select(panel.path_id, None)
    original = _positions(panel)
    uv, depth = key_pixels(panel.current.path, viewport.camera())
    assert (depth > 0).all()
    ratio = viewport.devicePixelRatioF()
    start = QPointF(*(uv[0] / ratio))
    _mouse(viewport, QEvent.Type.MouseButtonPress, start, LEFT)
    assert panel.key == 0 and viewport.path_selection == (panel.path_id, 0)
    seen = []
    for step in (1, 2, 3):
        _mouse(viewport, QEvent.Type.MouseMove, start + QPointF(15.0 * step, -10.0 * step), LEFT)
        seen.append(panel.current.path.keys[0].position)
    _mouse(viewport, QEvent.Type.MouseButtonRelease, start + QPointF(45.0, -30.0), Qt.MouseButton.NoButton)
    assert len(set(seen)) == 3 and seen[0] != original[0]  # it follows the mouse
    moved, _ = key_pixels(panel.current.path, viewport.camera())
    np.testing.assert_allclose(moved[0], uv[0] + np.array([45.0, -30.0]) * ratio, atol=0.5)  # under the mouse
    assert _positions(panel)[1] == original[1]
    assert window.document.undo_stack.undo_text == "Move key 1"
    window.document_undo()
    assert _positions(panel) == original


def test_pressing_away_from_the_keys_navigates(make_window) -> None:
    window, panel = _window_with_path(make_window)
    window.set_tool("path")
    before = window.viewport.camera().position
    corner = QPointF(5.0, 5.0)
    _mouse(window.viewport, QEvent.Type.MouseButtonPress, corner, LEFT)
    _mouse(window.viewport, QEvent.Type.MouseMove, corner + QPointF(40.0, 0.0), LEFT)
    _mouse(window.viewport, QEvent.Type.MouseButtonRelease, corner + QPointF(40.0, 0.0), Qt.MouseButton.NoButton)
    assert not np.allclose(window.viewport.camera().position, before)  # orbited
    assert not window.document.undo_stack.undo_text.startswith("Move key")


def test_preview_flies_the_view_and_stops(make_window, qtbot) -> None:
    window, panel = _window_with_path(make_window)
    home = window.viewport.camera().position
    panel.buttons["preview"].click()
    assert panel.previewing and panel.buttons["preview"].text() == "Stop"
    qtbot.wait(300)
    flown = window.viewport.camera().position
    assert not np.allclose(flown, home)
    panel.buttons["preview"].click()
    assert not panel.previewing
    np.testing.assert_allclose(window.viewport.camera().position, home)
    panel.start_preview()
    qtbot.waitUntil(lambda: not panel.previewing, timeout=3000)  # stops by itself at the end (1 s)


def test_save_and_load_json(make_window, tmp_path) -> None:
    window, panel = _window_with_path(make_window)
    panel.ask_save_file = lambda suggested: str(tmp_path / suggested)
    assert panel.save_path()
    saved = CameraPath.load(tmp_path / "Path.json")
    assert saved == panel.current.path
    panel.ask_open_file = lambda: str(tmp_path / "Path.json")
    loaded = panel.load_path()
    assert loaded.path == saved and len(window.document.paths) == 2 and panel.path_id == loaded.id
    (tmp_path / "broken.json").write_text("{")
    assert panel.load_path(str(tmp_path / "broken.json")) is None
    assert "broken.json" in window.errors[-1] and "JSON is broken" in window.errors[-1]


def test_render_video_along_the_path(make_window, qtbot, tmp_path) -> None:
    window, panel = _window_with_path(make_window)
    reports = []
    task = window.export_path_video(panel.path_id, tmp_path / "fly", TurntableSettings(64, 48, 1, 4.0))
    task.progressed.connect(lambda fraction, text: reports.append(fraction))
    wait_idle(qtbot, window, 60000)
    assert (tmp_path / "fly.mp4").stat().st_size > 0 and not window.errors
    import imageio.v3 as iio

    assert len(iio.imread(tmp_path / "fly.mp4")) == 5  # 1 s at 4 fps, both ends
    assert reports and reports[-1] == 1.0


def test_an_outpaint_jobs_path_lands_in_the_document(make_window, tmp_path) -> None:
    window = make_window()
    path = CameraPath((CameraKey.look_at((0, 0, 3), (0, 0, 0), 0.0), CameraKey.look_at((1, 0, 3), (0, 0, 0), 2.0)))
    path.save(tmp_path / "scene.path.json")
    window.job_layers.document_of = lambda job_id: window.document
    info = SimpleNamespace(engine="outpaint-scene", result=Result([str(tmp_path / "scene.ply"), str(tmp_path / "scene.path.json")]))
    window._add_job_paths("job", info)
    (named,) = window.document.paths
    assert named.name == "scene path" and named.path == path
    assert window.paths_panel.path_id == named.id and window.paths_panel.keys.count() == 2


def test_a_cancelled_video_leaves_no_file(make_window, qtbot, tmp_path) -> None:
    window, panel = _window_with_path(make_window)
    task = window.export_path_video(panel.path_id, tmp_path / "fly.mp4", TurntableSettings(64, 48, 1, 60.0))
    cancelled = []
    task.cancelled.connect(lambda: cancelled.append(True))
    task.cancel()
    wait_idle(qtbot, window, 60000)
    assert cancelled and not (tmp_path / "fly.mp4").exists() and not window.errors
