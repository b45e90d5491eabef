"""Selection an artist can see: the selected splats themselves are tinted in the viewport, their
count shows in the status bar and in Properties, and a box drawn over a layer that is not the
current one selects there, or the status bar says why nothing was selected."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from scene import Document, GaussianCloud, Layer, MeshAsset
from scene.clip import GaussianClip
from scene.edits import mask_in_rect, world_centres
from studio.settings import Settings
from studio.status_bar import splat_count_label
from tests.studio.conftest import cloud, wait_drawn

LEFT = Qt.MouseButton.LeftButton


def _box(qtbot, window, start: QPoint, end: QPoint) -> tuple[float, float, float, float]:
    """Drag a box with the box tool; the rectangle in the camera's pixels."""
    window.set_tool("box")
    viewport = window.viewport
    qtbot.mousePress(viewport, LEFT, pos=start)
    qtbot.mouseMove(viewport, (start + end) / 2)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, LEFT, pos=end)
    ratio = viewport.devicePixelRatioF()
    return start.x() * ratio, start.y() * ratio, end.x() * ratio, end.y() * ratio


def _whole_view(window) -> tuple[QPoint, QPoint]:
    return QPoint(2, 2), QPoint(window.viewport.width() - 2, window.viewport.height() - 2)


def _mesh() -> MeshAsset:
    """A small triangle far off to the side."""
    triangle = np.array([[30, 0, 0], [31, 0, 0], [30, 1, 0]], np.float32)
    return MeshAsset(triangle, np.array([[0, 1, 2]], np.int32))


def _shown(label) -> str:
    return label.text() if label.isVisible() else ""


def test_a_box_selection_shows_its_count_in_the_status_bar_and_properties(make_window, qtbot):
    window = make_window()
    document = Document()
    layer = document.add_layer(Layer("cloud", cloud(2000)))
    window.set_document(document)
    window.viewport.frame_all()
    assert _shown(window.status.selection_label) == "" and _shown(window.properties.selection) == ""

    rect = _box(qtbot, window, QPoint(30, 30), QPoint(window.viewport.width() // 2, window.viewport.height() // 2))
    count = int(mask_in_rect(world_centres(layer), window.viewport.camera(), rect).sum())
    assert 0 < count < 2000
    assert _shown(window.status.selection_label) == f"{count:,} selected"
    assert _shown(window.properties.selection) == f"{count:,} selected"

    window.undo_action.trigger()
    assert _shown(window.status.selection_label) == "" and _shown(window.properties.selection) == ""
    window.select_all()
    assert _shown(window.status.selection_label) == "2,000 selected"
    assert _shown(window.properties.selection) == "2,000 selected"


def test_a_box_over_splats_while_a_mesh_is_current_selects_those_splats(make_window, qtbot):
    window = make_window()
    document = Document()
    splats = document.add_layer(Layer("rock", cloud(500)))
    mesh = document.add_layer(Layer("floor", _mesh()))
    window.set_document(document)
    document.set_layer(mesh.id, visible=False)
    window.viewport.frame_all()  # the cloud fills the view; the mesh lies outside it
    document.set_layer(mesh.id, visible=True)
    document.set_current(mesh.id)
    camera = window.viewport.camera()

    rect = _box(qtbot, window, *_whole_view(window))
    assert document.current_id == splats.id
    expected = mask_in_rect(world_centres(splats), camera, rect)
    np.testing.assert_array_equal(document.splat_selection(splats.id), expected)
    count = int(document.splat_selection(splats.id).sum())
    assert window.status.currentMessage() == f"{count:,} selected in rock, now the current layer"
    assert window.properties.title.text().startswith("<b>rock</b>")
    np.testing.assert_allclose(window.viewport.camera().c2w, camera.c2w)  # the drag did not orbit


def test_a_box_that_selects_nothing_says_why(make_window, qtbot):
    window = make_window()
    document = Document()
    document.add_layer(Layer("floor", _mesh()))
    window.set_document(document)
    _box(qtbot, window, *_whole_view(window))
    assert window.status.currentMessage() == "Nothing selected: box select picks splats, and there is no splat layer"

    splats = document.add_layer(Layer("rock", cloud(500)))
    window.viewport.frame_all()
    document.set_layer(splats.id, visible=False)
    _box(qtbot, window, *_whole_view(window))
    assert window.status.currentMessage() == (
        "Nothing selected: box select picks splats, and every splat layer is hidden"
    )

    document.set_layer(splats.id, visible=True)
    _box(qtbot, window, QPoint(1, 1), QPoint(4, 4))  # a corner the cloud does not reach
    assert window.status.currentMessage() == "Nothing selected: no splats inside the box"
    assert document.splat_selection(splats.id) is None


def test_the_viewport_tints_the_selected_splats_themselves(make_window, qtbot):
    """Not a dot at each centre: the whole splat turns towards the selection colour, and the
    unselected ones look exactly as before."""
    window = make_window()
    means = np.array([[-1.5, 0.0, 0.0], [-0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [1.5, 0.0, 0.0]])
    document = Document()
    layer = document.add_layer(Layer("dots", GaussianCloud.create(means, 0.15, (0.5, 0.5, 0.5), 0.99)))
    window.set_document(document)
    window.viewport.frame_all()
    camera = window.viewport.camera()
    (centres, _), tint = camera.project(means), np.array(Settings().selection_color) * 255

    def colours() -> np.ndarray:
        """Each splat's colour a little off its centre, where a dot at the centre would not reach."""
        wait_drawn(qtbot, window)
        image = window.viewport.grabFramebuffer()
        scale = image.width() / camera.width
        colour = [image.pixelColor(int((u + 8) * scale), int(v * scale)) for u, v in centres]
        return np.array([[c.red(), c.green(), c.blue()] for c in colour], float)

    before = colours()
    document.select_splats(layer.id, np.array([False, False, True, True]))
    after = colours()
    np.testing.assert_allclose(after[:2], before[:2], atol=2)
    for was, now in zip(before[2:], after[2:]):
        assert np.abs(now - tint).max() < 0.4 * np.abs(was - tint).max(), (was, now)


def test_the_splat_count_counts_clips_and_a_flipbooks_shown_frame() -> None:
    document = Document()
    document.add_layer(Layer("still", cloud(5)))
    document.add_layer(Layer("walk", GaussianClip.from_frames([cloud(4), cloud(4).replace(means=cloud(4).means + 1)])))
    document.add_layer(Layer("flip", GaussianClip.from_frames([cloud(3), cloud(7)], fps=1)))
    assert splat_count_label(document) == f"{5 + 4 + 3} splats"
    document.set_time(1.5)  # the flipbook's second frame
    assert splat_count_label(document) == f"{5 + 4 + 7} splats"
