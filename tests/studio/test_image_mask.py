"""The Generate tab's picture preview: the automatic mask shown over the chosen picture, the brush
painting it into a PNG the mask field names, Reset, and pictures that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from studio.panels.generate import GeneratePanel
from studio.panels.image_mask import MaskEditor

WIDTH, HEIGHT, SCALE = 64, 48, 4  # the picture, and the canvas drawing it 4x, so a canvas pixel is known
CENTRE, RADIUS = (32.0, 24.0), 12.0  # the object: an opaque disc on a transparent background


@dataclass
class PictureConfig:
    """A toy image-conditioned engine's settings."""

    image: str = field(metadata={"path": "image"})
    """The picture."""
    mask: str = field(default="", metadata={"path": "image", "mask_of": "image"})
    """Its painted mask (white = object); empty: the picture's own."""


def _distance(centre: tuple[float, float]) -> np.ndarray:
    """``[H, W]``: each pixel centre's distance to ``centre`` (x, y) in picture pixels."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    return np.hypot(xs - centre[0], ys - centre[1])


def _to_segment(start: tuple[float, float], end: tuple[float, float]) -> np.ndarray:
    """``[H, W]``: each pixel centre's distance to the horizontal segment ``start``-``end``."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    return np.hypot(xs - np.clip(xs, start[0], end[0]), ys - start[1])


@pytest.fixture
def picture(tmp_path):
    """A grey RGBA picture whose alpha is the disc: the automatic mask."""
    alpha = (_distance(CENTRE) <= RADIUS).astype(np.uint8) * 255
    rgba = np.dstack([np.full((HEIGHT, WIDTH, 3), 200, np.uint8), alpha])
    path = tmp_path / "vase.png"
    Image.fromarray(rgba).save(path)
    return path, alpha


@pytest.fixture
def panel(qtbot, tmp_path):
    panel = GeneratePanel(mask_folder=tmp_path / "masks")
    panel.add_engine("picture", PictureConfig, lambda config: None)
    panel.add_engine("other", PictureConfig, lambda config: None)
    panel.resize(420, 900)
    qtbot.addWidget(panel)
    with qtbot.waitExposed(panel):
        panel.show()
    panel.setCurrentIndex(0)
    editor = panel.widget(0).findChild(MaskEditor)
    editor.canvas.setFixedSize(WIDTH * SCALE, HEIGHT * SCALE)
    return panel


def _editor(panel: GeneratePanel) -> MaskEditor:
    return panel.widget(0).findChild(MaskEditor)


def _choose(panel: GeneratePanel, qtbot, path) -> MaskEditor:
    """Put ``path`` in the image field, as a drop on the dock does, and wait until it is read."""
    assert panel.add_input_image(path)
    editor = _editor(panel)
    qtbot.waitUntil(lambda: editor.reading is None)
    return editor


def _mask_field(panel: GeneratePanel) -> str:
    return panel.forms["picture"].editor("mask").findChild(QLineEdit).text()


def _drag(widget, button: Qt.MouseButton, *points: tuple[float, float]) -> None:
    """Press ``button`` at the first of ``points`` (picture pixels), move through the rest, release."""
    def send(kind: QEvent.Type, point: tuple[float, float], pressed: Qt.MouseButton, held: Qt.MouseButton) -> None:
        position = QPointF(point[0] * SCALE, point[1] * SCALE)
        event = QMouseEvent(kind, position, widget.mapToGlobal(position), pressed, held, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)

    send(QEvent.Type.MouseButtonPress, points[0], button, button)
    for point in points[1:]:
        send(QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, button)
    send(QEvent.Type.MouseButtonRelease, points[-1], button, Qt.MouseButton.NoButton)


def _saved_mask(panel: GeneratePanel) -> np.ndarray:
    path = _mask_field(panel)
    assert path.endswith(".png") and str(panel.mask_folder) in path
    return np.asarray(Image.open(path))


def test_choosing_a_picture_shows_it_with_its_automatic_mask(panel, picture, qtbot):
    path, alpha = picture
    editor = _editor(panel)
    assert editor.message.isVisible() and not editor.canvas.isVisible()  # nothing chosen yet
    assert "Choose a picture" in editor.message.text()
    _choose(panel, qtbot, path)
    assert editor.canvas.isVisible() and not editor.message.isVisible()
    np.testing.assert_array_equal(editor.mask(), alpha / 255.0)
    assert _mask_field(panel) == ""  # nothing painted: the run makes the mask itself
    shot = editor.canvas.grab().toImage()
    inside = shot.pixelColor(int(CENTRE[0] * SCALE), int(CENTRE[1] * SCALE))
    outside = shot.pixelColor(4, 4)
    assert inside.red() > 200 and inside.red() > inside.blue() + 20  # the grey object, tinted orange
    assert outside.red() < 90 and outside.green() < 90  # the background dimmed


def test_painting_sets_the_mask_field_to_a_png_of_the_painting(panel, picture, qtbot):
    path, alpha = picture
    editor = _choose(panel, qtbot, path)
    editor.brush_size.setValue(int(3 * SCALE))  # 3 picture pixels
    _drag(editor.canvas, Qt.MouseButton.LeftButton, (8, 6), (24, 6), (40, 6))  # paint object above the disc
    painted = _to_segment((8, 6), (40, 6))
    saved = _saved_mask(panel)
    assert (saved[painted < 2.5] == 255).all()
    far = painted > 3.5
    np.testing.assert_array_equal(saved[far], alpha[far])
    assert (saved[painted <= 3] == 255).sum() > 60  # a stroke, not a dot

    first = _mask_field(panel)
    _drag(editor.canvas, Qt.MouseButton.RightButton, (20, 24), (44, 24))  # erase through the disc's middle
    erased = _to_segment((20, 24), (44, 24))
    saved = _saved_mask(panel)
    assert _mask_field(panel) != first and (saved[erased < 2.5] == 0).all()
    assert (saved[painted < 2.5] == 255).all()  # the first stroke stays
    np.testing.assert_array_equal(saved, np.round(editor.mask() * 255))

    panel.setCurrentIndex(1)  # another engine's tab and back: the painting is still there
    panel.setCurrentIndex(0)
    np.testing.assert_array_equal(_saved_mask(panel), saved)
    np.testing.assert_array_equal(np.round(editor.mask() * 255), saved)


def test_erase_toggle_makes_the_left_button_erase(panel, picture, qtbot):
    path, _ = picture
    editor = _choose(panel, qtbot, path)
    editor.erase.setChecked(True)
    _drag(editor.canvas, Qt.MouseButton.LeftButton, CENTRE)
    assert _saved_mask(panel)[int(CENTRE[1]), int(CENTRE[0])] == 0


def test_reset_goes_back_to_the_automatic_mask(panel, picture, qtbot):
    path, alpha = picture
    editor = _choose(panel, qtbot, path)
    _drag(editor.canvas, Qt.MouseButton.LeftButton, (4, 4), (60, 44))
    assert _mask_field(panel)
    editor.reset_button.click()
    assert _mask_field(panel) == ""
    np.testing.assert_array_equal(editor.mask(), alpha / 255.0)


def test_another_picture_drops_the_mask_painted_on_the_last(panel, picture, tmp_path, qtbot):
    path, _ = picture
    editor = _choose(panel, qtbot, path)
    _drag(editor.canvas, Qt.MouseButton.LeftButton, (4, 4))
    other = tmp_path / "other.png"
    Image.fromarray(np.dstack([np.full((20, 30, 3), 90, np.uint8), np.zeros((20, 30), np.uint8)])).save(other)
    _choose(panel, qtbot, other)
    assert _mask_field(panel) == "" and editor.mask().shape == (20, 30)


def test_a_mask_file_in_the_field_is_shown_and_one_that_does_not_fit_says_so(panel, picture, tmp_path, qtbot):
    path, _ = picture
    editor = _choose(panel, qtbot, path)
    given = np.zeros((HEIGHT, WIDTH), np.uint8)
    given[:, : WIDTH // 2] = 255
    Image.fromarray(given).save(tmp_path / "left.png")
    panel.forms["picture"].set_field("mask", str(tmp_path / "left.png"))
    np.testing.assert_array_equal(editor.mask(), given / 255.0)
    Image.fromarray(given[:10]).save(tmp_path / "small.png")
    panel.forms["picture"].set_field("mask", str(tmp_path / "small.png"))
    assert editor.message.isVisible() and "64x10" in editor.message.text() and "64x48" in editor.message.text()


@pytest.mark.parametrize("content, reason", [(b"not a picture", "cannot be read"), (None, "does not exist")])
def test_a_picture_that_cannot_be_read_says_why(panel, tmp_path, content, reason, qtbot):
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    editor = _choose(panel, qtbot, path)
    assert editor.message.isVisible() and not editor.canvas.isVisible()
    assert reason in editor.message.text() and "broken.png" in editor.message.text()


def test_a_picture_chosen_while_another_is_read_wins(panel, picture, tmp_path, qtbot):
    path, _ = picture
    other = tmp_path / "other.png"
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(other)
    editor = _editor(panel)
    shown = []
    set_picture = editor.canvas.set_picture
    editor.canvas.set_picture = lambda pixels, mask: (shown.append(mask.shape), set_picture(pixels, mask))
    panel.add_input_image(path)
    assert "Reading vase.png" in editor.message.text()  # read on a worker: the panel stays responsive
    _choose(panel, qtbot, other)
    qtbot.waitUntil(lambda: editor.reading is None)
    assert shown == [(20, 30)] and editor.mask().shape == (20, 30)  # the first read came back too late to show


def test_a_mask_that_cannot_be_written_leaves_no_half_file_and_says_why(panel, picture, qtbot, monkeypatch):
    """A full disk mid-write: no half PNG stays under the mask's content name (it would be taken for
    the whole mask from then on), the painting stays, the field keeps its last mask, and the next
    stroke saves once there is room."""
    from pathlib import Path

    from tests.faults import report

    report.tried("studio mask painting", "full disk")
    editor = _choose(panel, qtbot, picture[0])
    write_bytes = Path.write_bytes

    def half_then_full(path: Path, data: bytes) -> int:
        write_bytes(path, data[: len(data) // 2])
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    _drag(editor.canvas, Qt.MouseButton.LeftButton, (8, 6), (40, 6))
    assert _mask_field(panel) == "" and list(panel.mask_folder.iterdir()) == []
    assert editor.canvas.isVisible() and "The mask could not be saved" in editor.message.text()
    assert "the disk is full" in editor.message.text() and ".part" not in editor.message.text()

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    _drag(editor.canvas, Qt.MouseButton.LeftButton, (8, 30), (40, 30))
    saved = _saved_mask(panel)
    np.testing.assert_array_equal(saved, np.round(editor.mask() * 255))
    assert not editor.message.isVisible()
