"""The main window driven as a user drives it: mouse drags and wheel in the viewport, keys,
menu items found in the menu bar by their text, files dropped on the window, the autosave timer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import trimesh
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from render.controllers import framing
from scene import Document, GaussianCloud, Layer, MeshAsset
from scene.bounds import dense_box, layer_dense_box
from scene.edits import mask_in_rect, world_centres
from scene.io import load, save
from scene.io.project import load_project
from studio.viewport import BACKGROUND
from tests.studio.conftest import cloud, cloud_document, wait_drawn, wait_idle

LEFT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton
SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier


# ----------------------------------------------------------------------------- helpers
def menu_action(window, *path: str) -> QAction:
    """The item a user reaches through the menu bar, by its texts without ``&`` and ``…``; failing
    an exact match, by its first words ("Undo" finds "Undo Import rock.ply")."""
    actions = window.menuBar().actions()
    for depth, name in enumerate(path):
        labels = [action.text().replace("&", "").rstrip("…") for action in actions]
        found = [a for a, label in zip(actions, labels) if label == name]
        found = found or [a for a, label in zip(actions, labels) if label.startswith(name + " ")]
        assert len(found) == 1, f"{name!r} among {labels}"
        if depth == len(path) - 1:
            return found[0]
        actions = found[0].menu().actions()
    raise AssertionError("empty menu path")


def choose(window, *path: str) -> None:
    """Click a menu item (it must be enabled, as for a user)."""
    action = menu_action(window, *path)
    assert action.isEnabled(), f"{' > '.join(path)} is disabled"
    action.trigger()


def drag(qtbot, widget, button: Qt.MouseButton, start: QPoint, end: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at ``start``, move there in two steps, release at ``end``."""
    qtbot.mousePress(widget, button, modifiers, start)
    qtbot.mouseMove(widget, (start + end) / 2)
    qtbot.mouseMove(widget, end)
    qtbot.mouseRelease(widget, button, modifiers, end)


def wheel(widget, steps: int) -> None:
    """Turn the mouse wheel ``steps`` notches over the widget's centre (positive: away from the user)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre, widget.mapToGlobal(centre), QPoint(), QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(widget, event)


def focus_viewport(qtbot, window) -> None:
    """Activate the window and click in the viewport (middle button: the view stays), where keys then go."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.mouseClick(window.viewport, MIDDLE, pos=QPoint(5, 5))
    assert QApplication.focusWidget() is window.viewport


def press(qtbot, window, key: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press and release where the keyboard focus is."""
    qtbot.keyClick(QApplication.focusWidget() or window, key, modifiers)


def dense_cloud(centre: tuple[float, float, float], count: int = 3000, seed: int = 0) -> GaussianCloud:
    """A unit cube around ``centre`` filled with overlapping splats, so it looks solid."""
    rng = np.random.default_rng(seed)
    means = np.asarray(centre, np.float32) + rng.uniform(-0.5, 0.5, size=(count, 3)).astype(np.float32)
    return GaussianCloud.create(means, 0.06, rng.uniform(0.3, 1.0, size=(count, 3)).astype(np.float32), opacities=0.95)


def box_mesh(centre: tuple[float, float, float]) -> MeshAsset:
    """A red unit cube around ``centre`` (12 triangles)."""
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    box.apply_translation(centre)
    return MeshAsset(box.vertices, box.faces, vertex_colors=np.tile([0.9, 0.1, 0.1, 1.0], (len(box.vertices), 1)))


def pixels(image: QImage) -> np.ndarray:
    """The image as ``[H, W, 3]`` uint8."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    stride = image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=stride * image.height()).reshape(image.height(), stride)
    return raw[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def off_background(rgb: np.ndarray) -> np.ndarray:
    """Which pixels differ clearly from the viewport's background."""
    return np.abs(rgb.astype(float) - np.array(BACKGROUND) * 255).max(axis=-1) > 25


def patch_shown(window, rgb: np.ndarray, point: np.ndarray) -> float:
    """The share of the pixels around where ``point`` projects that show something."""
    camera = window.viewport.camera()
    uv, _ = camera.project(np.asarray(point, float)[None])
    x, y = int(uv[0, 0] * rgb.shape[1] / camera.width), int(uv[0, 1] * rgb.shape[0] / camera.height)
    return float(off_background(rgb[y - 8 : y + 9, x - 8 : x + 9]).mean())


# ----------------------------------------------------------------------------- navigation
def test_drags_orbit_and_pan_the_wheel_zooms(make_window, qtbot):
    window = make_window()
    window.set_document(cloud_document(500))
    viewport = window.viewport
    viewport.frame_all()
    centre = QPoint(viewport.width() // 2, viewport.height() // 2)

    # left drag right and down: the eye circles to the camera's left and up, still aiming at the target
    before, target, distance = viewport.camera(), viewport.controller.target.copy(), viewport.controller.distance
    drag(qtbot, viewport, LEFT, centre, centre + QPoint(40, 20))
    after = viewport.camera()
    moved = after.position - before.position
    assert np.dot(moved, before.c2w[:3, 0]) < -0.1 and np.dot(moved, before.c2w[:3, 1]) > 0.05
    np.testing.assert_allclose(viewport.controller.target, target)
    assert np.linalg.norm(after.position - target) == pytest.approx(distance)

    # middle drag, then Shift+left drag: the point under the mouse follows it
    for button, modifiers, step in ((MIDDLE, Qt.KeyboardModifier.NoModifier, QPoint(40, 0)), (LEFT, SHIFT, QPoint(0, 30))):
        grabbed = viewport.controller.target.copy()
        rotation = viewport.camera().c2w[:3, :3].copy()
        drag(qtbot, viewport, button, centre, centre + step, modifiers)
        camera = viewport.camera()
        uv, _ = camera.project(grabbed[None])
        ratio, (cx, cy) = viewport.devicePixelRatioF(), camera.principal_point
        assert tuple(uv[0]) == pytest.approx((cx + step.x() * ratio, cy + step.y() * ratio), abs=0.5)
        np.testing.assert_allclose(camera.c2w[:3, :3], rotation, atol=1e-9)  # panning does not turn

    # the wheel away from the user moves in, towards the user moves out; the target stays
    target, distance = viewport.controller.target.copy(), viewport.controller.distance
    wheel(viewport, 1)
    assert viewport.controller.distance == pytest.approx(0.85 * distance)
    wheel(viewport, -2)
    assert viewport.controller.distance == pytest.approx(distance / 0.85)
    np.testing.assert_allclose(viewport.controller.target, target)


def test_f_frames_the_current_layer_and_home_frames_everything(make_window, qtbot):
    window = make_window()
    document = Document()
    document.add_layer(Layer("left", dense_cloud((-2.0, 0.5, 0.0))))
    document.add_layer(Layer("right", box_mesh((2.0, 0.5, 1.0))))
    window.set_document(document)
    viewport = window.viewport
    viewport.frame_all()
    home = viewport.camera().c2w.copy()
    everything = (viewport.controller.target.copy(), viewport.controller.distance)
    focus_viewport(qtbot, window)
    centre = QPoint(viewport.width() // 2, viewport.height() // 2)
    drag(qtbot, viewport, LEFT, centre, centre + QPoint(60, -30))
    drag(qtbot, viewport, MIDDLE, centre, centre + QPoint(25, 25))
    wheel(viewport, 2)
    assert not np.allclose(viewport.camera().c2w, home, atol=1e-3)

    turned = viewport.camera().forward
    press(qtbot, window, Qt.Key.Key_Home)  # frames everything again, looking the same way (as Blender)
    np.testing.assert_allclose(viewport.controller.target, everything[0], atol=1e-9)
    assert viewport.controller.distance == pytest.approx(everything[1])
    np.testing.assert_allclose(viewport.camera().forward, turned, atol=1e-9)
    choose(window, "View", "Reset View")  # and from the home view of Preferences
    np.testing.assert_allclose(viewport.camera().c2w, home, atol=1e-9)

    press(qtbot, window, Qt.Key.Key_F)  # the current layer is the last one added: the box
    lo, hi = document.current.world_bounds()
    np.testing.assert_allclose(viewport.controller.target, 0.5 * (lo + hi), atol=1e-6)
    aspect = viewport.width() / viewport.height()
    assert viewport.controller.distance == pytest.approx(framing(lo, hi, viewport.controller.fov_y_deg, aspect)[1])

    document.set_current(document.layers[0].id)
    press(qtbot, window, Qt.Key.Key_F)
    np.testing.assert_allclose(viewport.controller.target, np.mean(layer_dense_box(document.layers[0]), axis=0), atol=1e-6)


def test_number_keys_switch_the_shading(make_window, qtbot):
    window = make_window()
    document = Document()
    document.add_layer(Layer("splats", dense_cloud((-1.0, 0.6, 0.0))))
    document.add_layer(Layer("mesh", box_mesh((1.0, 0.6, 0.0))))
    window.set_document(document)
    window.viewport.frame_all()
    focus_viewport(qtbot, window)

    images = {}
    for key, mode in zip((Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4), ("splats", "mesh", "both", "points")):
        press(qtbot, window, key)
        assert window.viewport.shading == mode and window.shading_actions[mode].isChecked()
        wait_drawn(qtbot, window)
        images[mode] = pixels(window.viewport.grabFramebuffer())
    assert window.viewport.renderer is not None, window.viewport.gl_error
    cloud_at, mesh_at = (-1.0, 0.6, 0.0), (1.0, 0.6, 0.0)
    shown = {mode: (patch_shown(window, rgb, cloud_at), patch_shown(window, rgb, mesh_at)) for mode, rgb in images.items()}
    assert shown["splats"][0] > 0.9 and shown["splats"][1] < 0.2, shown  # the mesh is hidden
    assert shown["mesh"][0] < 0.2 and shown["mesh"][1] > 0.9, shown  # the splats are hidden
    assert shown["both"][0] > 0.9 and shown["both"][1] > 0.9, shown
    assert np.abs(images["points"].astype(int) - images["both"]).mean() > 1  # splats drawn as points


def test_tool_keys_and_a_box_select_with_b(make_window, qtbot):
    window = make_window()
    window.set_document(cloud_document(2000))
    viewport = window.viewport
    viewport.frame_all()
    focus_viewport(qtbot, window)
    for key, name in ((Qt.Key.Key_C, "brush"), (Qt.Key.Key_G, "move"), (Qt.Key.Key_Q, "navigate"), (Qt.Key.Key_B, "box")):
        press(qtbot, window, key)
        assert viewport.tool is (viewport.navigate if name == "navigate" else window.tools[name])
        assert window.tool_actions[name].isChecked()

    camera = viewport.camera()
    start, end = QPoint(60, 40), QPoint(viewport.width() // 2, viewport.height() // 2)
    drag(qtbot, viewport, LEFT, start, end)
    layer = window.document.current
    expected = mask_in_rect(world_centres(layer), camera, (start.x(), start.y(), end.x(), end.y()))
    assert 0 < expected.sum() < 2000
    np.testing.assert_array_equal(window.document.splat_selection(layer.id), expected)
    np.testing.assert_allclose(viewport.camera().c2w, camera.c2w)  # the box tool's drag does not orbit


# ----------------------------------------------------------------------------- menus and shortcuts
def test_edit_and_view_menus_on_a_box_selection(make_window, qtbot):
    window = make_window()
    window.set_document(cloud_document(2000))
    viewport = window.viewport
    viewport.frame_all()
    focus_viewport(qtbot, window)
    press(qtbot, window, Qt.Key.Key_B)
    drag(qtbot, viewport, LEFT, QPoint(50, 40), QPoint(viewport.width() // 2, viewport.height() // 2))
    document, layer = window.document, window.document.current
    original, selected = layer.data, window.document.splat_selection(layer.id)
    count = int(selected.sum())
    assert 0 < count < 2000

    def selection() -> np.ndarray | None:
        return document.splat_selection(layer.id)

    choose(window, "Edit", "Invert Selection")
    np.testing.assert_array_equal(selection(), ~selected)
    choose(window, "Edit", "Undo")
    np.testing.assert_array_equal(selection(), selected)
    choose(window, "Edit", "Redo")
    np.testing.assert_array_equal(selection(), ~selected)
    choose(window, "Edit", "Select All")
    assert selection().all()
    choose(window, "Edit", "Undo")
    choose(window, "Edit", "Undo")
    np.testing.assert_array_equal(selection(), selected)

    choose(window, "Edit", "Crop to Selection")  # keeps what lies in the selection's bounding box
    centres = original.means[selected]
    kept = document.current.data.means
    assert count <= len(kept) < 2000
    assert np.all(kept >= centres.min(axis=0) - 1e-6) and np.all(kept <= centres.max(axis=0) + 1e-6)
    choose(window, "Edit", "Undo")
    assert document.current.data is original and np.array_equal(selection(), selected)

    choose(window, "Edit", "Separate Selection")
    assert [(l.name, l.data.count) for l in document.layers] == [("cloud", 2000 - count), ("cloud part", count)]
    np.testing.assert_array_equal(document.layers[1].data.means, original.means[selected])
    choose(window, "Edit", "Undo")
    assert len(document.layers) == 1 and document.current.data is original

    choose(window, "Edit", "Delete")
    np.testing.assert_array_equal(document.current.data.means, original.means[~selected])
    assert window.status.splat_label.text() == f"{2000 - count:,} splats"
    choose(window, "Edit", "Undo")
    assert document.current.data.count == 2000 and menu_action(window, "Edit", "Redo").text() == f"&Redo Delete {count} splats"

    drag(qtbot, viewport, MIDDLE, QPoint(100, 100), QPoint(180, 60))
    choose(window, "View", "Frame Selected")  # the selected splats (the undo brought them back)
    np.testing.assert_allclose(viewport.controller.target, np.mean(dense_box(original.means[selected]), axis=0), atol=1e-6)


def test_file_menu_import_export_save_and_screenshot(make_window, qtbot, tmp_path, monkeypatch):
    rock, cube = tmp_path / "rock.ply", tmp_path / "cube.glb"
    save(rock, cloud(700))
    save(cube, box_mesh((0.0, 0.0, 3.0)))
    asked: list[tuple[str, str]] = []
    answers: dict[str, object] = {}

    def dialog(kind: str):
        def ask(parent, title, directory, filter_, *rest):
            asked.append((title, filter_))
            return answers[kind], ""
        return ask

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", dialog("open"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog("save"))
    window = make_window()

    answers["open"] = [str(rock), str(cube)]
    choose(window, "File", "Import")
    wait_idle(qtbot, window)
    assert asked[-1][0] == "Import" and "*.ply" in asked[-1][1] and "*.glb" in asked[-1][1]
    assert [(l.name, l.kind) for l in window.document.layers] == [("rock", "splats"), ("cube", "mesh")]
    assert window.document.layers[0].data.count == 700 and len(window.document.layers[1].data.faces) == 12
    choose(window, "Edit", "Undo")
    assert [l.name for l in window.document.layers] == ["rock"]
    choose(window, "Edit", "Redo")
    assert [l.name for l in window.document.layers] == ["rock", "cube"]

    window.document.set_current(window.document.layers[0].id)
    answers["save"] = str(tmp_path / "out.splat")
    choose(window, "File", "Export", "Layer")
    wait_idle(qtbot, window)
    assert asked[-1][0] == "Export layer" and "*.splat" in asked[-1][1]
    np.testing.assert_allclose(load(tmp_path / "out.splat").means, window.document.layers[0].data.means, atol=1e-6)

    answers["save"] = str(tmp_path / "scene")  # typed without the extension
    choose(window, "File", "Save")
    wait_idle(qtbot, window)
    assert window.errors == []
    assert window.path == tmp_path / "scene.a4d" and not window.isWindowModified()
    assert window.windowTitle().startswith("scene.a4d")
    reopened = load_project(tmp_path / "scene.a4d")
    assert [(l.name, l.kind) for l in reopened.layers] == [("rock", "splats"), ("cube", "mesh")]
    np.testing.assert_array_equal(reopened.layers[0].data.means, window.document.layers[0].data.means)

    window.viewport.frame_all()
    wait_drawn(qtbot, window)
    answers["save"] = str(tmp_path / "shot")  # typed without the extension too
    choose(window, "File", "Export", "Screenshot")
    assert window.errors == []
    image = QImage(str(tmp_path / "shot.png"))
    camera = window.viewport.camera()
    assert not image.isNull() and (image.width(), image.height()) == (camera.width, camera.height)
    shown = off_background(pixels(image))
    assert 0.05 < shown.mean() < 0.95, shown.mean()
    h, w = shown.shape
    assert shown[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].mean() > 0.5  # the framed scene fills the middle


# ----------------------------------------------------------------------------- drag and drop
def drop_files(widget, urls: list[QUrl]) -> tuple[bool, bool]:
    """Drag ``urls`` over the middle of ``widget`` and drop them there (Qt hands both to the widget or
    parent that takes drops); whether the drag, then the drop, was accepted."""
    data = QMimeData()
    data.setUrls(urls)
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    copy, button, none = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(centre.toPoint(), copy, data, button, none)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False, False  # a refused drag gets no drop
    drop = QDropEvent(centre, copy, data, button, none)
    QApplication.sendEvent(widget, drop)
    return True, drop.isAccepted()


def test_dropping_files_imports_each_as_a_layer(make_window, qtbot, tmp_path):
    paths = [tmp_path / name for name in ("rock.ply", "dust.splat", "cube.glb", "cone.obj")]
    save(paths[0], cloud(300))
    save(paths[1], cloud(200, seed=1))
    save(paths[2], box_mesh((0.0, 0.0, 0.0)))
    cone = trimesh.creation.cone(0.5, 1.0, sections=8)
    save(paths[3], MeshAsset(cone.vertices, cone.faces))
    window = make_window()
    viewport = window.viewport  # files are dropped over the viewport, the window takes them
    assert drop_files(viewport, [QUrl("https://example.com/rock.ply")]) == (False, False)  # nothing local
    assert drop_files(viewport, [QUrl.fromLocalFile(str(p)) for p in paths]) == (True, True)
    wait_idle(qtbot, window)
    assert window.errors == []
    layers = window.document.layers
    assert [(l.name, l.kind) for l in layers] == [("rock", "splats"), ("dust", "splats"), ("cube", "mesh"), ("cone", "mesh")]
    assert (layers[0].data.count, layers[1].data.count) == (300, 200)
    assert (len(layers[2].data.faces), len(layers[3].data.faces)) == (12, 16)
    assert window.outliner.list.count() == 4 and window.status.splat_label.text() == "500 splats"


# ----------------------------------------------------------------------------- autosave and shortcuts
def test_the_autosave_timer_writes_a_recovery_copy_by_itself(make_window, qtbot, tmp_path):
    window = make_window(tmp_path / "recovery")
    window.set_document(cloud_document(300))
    window.apply_preferences(dataclasses.replace(window.settings, autosave_interval_s=1))
    recovery = tmp_path / "recovery" / "recovery.a4d"
    qtbot.wait(1300)
    assert not recovery.exists()  # nothing unsaved yet: nothing written
    window.document.add_layer(Layer("unsaved", cloud(40, seed=2)))
    assert not recovery.exists()
    qtbot.waitUntil(recovery.exists, timeout=5000)
    wait_idle(qtbot, window)
    restored = load_project(recovery)
    assert [(l.name, l.data.count) for l in restored.layers] == [("cloud", 300), ("unsaved", 40)]
    for a, b in zip(window.document.layers, restored.layers):
        np.testing.assert_array_equal(a.data.means, b.data.means)


def test_undo_and_redo_keys(make_window, qtbot):
    window = make_window()
    for name in ("first", "second"):
        window.document.add_layer(Layer(name, cloud(20)))
    focus_viewport(qtbot, window)

    def names() -> list[str]:
        return [l.name for l in window.document.layers]

    for redo in ((Qt.Key.Key_Y, CTRL), (Qt.Key.Key_Z, CTRL | SHIFT)):
        press(qtbot, window, Qt.Key.Key_Z, CTRL)
        assert names() == ["first"]
        press(qtbot, window, *redo)
        assert names() == ["first", "second"], f"redo with {redo}"
