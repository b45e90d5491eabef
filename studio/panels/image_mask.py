"""The input picture of an image-conditioned engine with the mask of its object, which the artist
corrects with a brush.

A Generate form gets a :class:`MaskEditor` under it when its config has a *mask field*: a path
field whose metadata ``mask_of`` names the image field it masks, e.g.
``mask: str = field(default="", metadata={"path": "image", "mask_of": "image"})``. The editor shows
the chosen picture with the background dimmed and the object tinted. Its starting mask is the one a
run would use without a painted one (:func:`engines.reference_image.object_mask`: the alpha, else
background removal), so the preview shows what the run will see. Left drag paints object, right
drag (or left drag with Erase on) paints background; Reset goes back to the automatic mask.

A painted mask is written as a PNG (white = object) named after its content in the editor's mask
folder, and the form's mask field is set to it: a run reads it from there, and a later stroke writes
another file, so a job started before the stroke keeps the mask it was given. A mask file typed or
browsed into the field is shown as it is. A picture or mask that cannot serve is named in a message
in place of the preview.
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget

from scene.io.atomic import atomic_output
from studio.commands.common import os_error_line
from studio.panels.forms import DataclassForm

OBJECT_TINT = (255, 150, 40, 70)
"""RGBA laid over the object: a light orange wash."""
BACKGROUND_DIM = (0, 0, 0, 170)
"""RGBA laid over the background: mostly dark, the picture still faintly visible."""
MAX_PREVIEW_HEIGHT = 420
"""The preview's height at most (px): a tall picture narrows rather than filling the dock."""


class MaskCanvas(QWidget):
    """The picture with its mask laid over it, scaled to fit; a brush paints the mask.

    ``mask`` is ``[H, W]`` float32 0-1 at the picture's resolution (what a run reads); the brush
    ``radius`` is in screen pixels, so it paints what its outline covers whatever the zoom.
    """

    stroke_finished = Signal()
    """A drag of the brush ended (the mask changed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mask: np.ndarray | None = None
        self.radius = 12
        self.erase = False
        self._picture: QImage | None = None
        self._overlay: QImage | None = None  # at the size it is drawn, rebuilt when stale
        self._paint_value: float | None = None  # the value a drag paints, None between drags
        self._last: QPointF | None = None  # the last brush point of a drag, in picture pixels
        self._hover: QPointF | None = None  # where the brush outline is drawn, in widget pixels
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)  # right drag erases: no window menu on release
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_picture(self, pixels: np.ndarray, mask: np.ndarray) -> None:
        """Show ``pixels`` ``[H, W, 3]`` uint8 with ``mask`` ``[H, W]`` 0-1 over it."""
        pixels = np.ascontiguousarray(pixels)
        height, width = pixels.shape[:2]
        self._picture = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        self.set_mask(mask)
        self.updateGeometry()

    def set_mask(self, mask: np.ndarray) -> None:
        self.mask = np.asarray(mask, dtype=np.float32).copy()
        self._overlay = None
        self.update()

    # ----------------------------------------------------------------- geometry
    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self._picture is None:
            return 0
        return min(MAX_PREVIEW_HEIGHT, round(width * self._picture.height() / self._picture.width()))

    def sizeHint(self) -> QSize:
        return QSize(256, self.heightForWidth(256))

    def picture_rect(self) -> QRectF:
        """Where the picture is drawn: as large as fits, centred, its aspect kept."""
        if self._picture is None:
            return QRectF()
        scale = min(self.width() / self._picture.width(), self.height() / self._picture.height())
        width, height = self._picture.width() * scale, self._picture.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def _to_picture(self, point: QPointF) -> QPointF:
        rect = self.picture_rect()
        scale = self._picture.width() / rect.width()
        return QPointF((point.x() - rect.left()) * scale, (point.y() - rect.top()) * scale)

    # ----------------------------------------------------------------- drawing
    def paintEvent(self, event: QPaintEvent) -> None:
        if self._picture is None:
            return
        painter = QPainter(self)
        rect = self.picture_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, self._picture)
        size = rect.toAlignedRect().size()
        if self._overlay is None or self._overlay.size() != size:
            self._overlay = _overlay(self.mask, size.width(), size.height())
        painter.drawImage(rect, self._overlay)
        if self._hover is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(255, 255, 255, 220), 1.5))
            painter.drawEllipse(self._hover, self.radius, self.radius)
        painter.end()

    # ----------------------------------------------------------------- the brush
    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if self.mask is None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        self._paint_value = 0.0 if self.erase or button == Qt.MouseButton.RightButton else 1.0
        self._last = self._to_picture(event.position())
        self._stamp(self._last, self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._hover = event.position()
        if self._paint_value is not None:
            point = self._to_picture(event.position())
            self._stamp(self._last, point)
            self._last = point
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._paint_value is None:
            return super().mouseReleaseEvent(event)
        self._paint_value = self._last = None
        self.stroke_finished.emit()

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()

    def _stamp(self, start: QPointF, end: QPointF) -> None:
        """Paint the brush's value along the segment ``start``-``end`` (picture pixels)."""
        radius = self.radius * self._picture.width() / self.picture_rect().width()
        paint_segment(self.mask, (start.x(), start.y()), (end.x(), end.y()), radius, self._paint_value)
        self._overlay = None
        self.update()


def paint_segment(mask: np.ndarray, start: tuple[float, float], end: tuple[float, float], radius: float, value: float) -> None:
    """Set ``mask`` ``[H, W]`` to ``value`` at the pixels whose centres lie within ``radius`` of the
    segment ``start``-``end`` (x, y in pixels, 0 at the picture's left or top edge): a round brush dragged."""
    (x0, y0), (x1, y1) = start, end
    height, width = mask.shape
    left, right = max(0, int(min(x0, x1) - radius)), min(width, int(max(x0, x1) + radius) + 1)
    top, bottom = max(0, int(min(y0, y1) - radius)), min(height, int(max(y0, y1) + radius) + 1)
    if left >= right or top >= bottom:
        return
    ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32) + 0.5
    dx, dy = x1 - x0, y1 - y0
    along = np.clip(((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    covered = (xs - x0 - along * dx) ** 2 + (ys - y0 - along * dy) ** 2 <= radius * radius
    mask[top:bottom, left:right][covered] = value


def _overlay(mask: np.ndarray, width: int, height: int) -> QImage:
    """The tint-and-dim layer of ``mask`` at ``width`` x ``height``: each pixel the mean of 2x2 samples,
    so its edges blend as the smoothly scaled picture's do."""
    def samples(count: int, side: int) -> list[np.ndarray]:
        return [np.minimum((np.arange(count) + offset) * side / max(count, 1), side - 1).astype(int) for offset in (0.25, 0.75)]

    share = np.mean([mask[np.ix_(rows, cols)] for rows in samples(height, mask.shape[0]) for cols in samples(width, mask.shape[1])],
                    axis=0)[..., None]
    rgba = share * np.float32(OBJECT_TINT) + (1.0 - share) * np.float32(BACKGROUND_DIM)
    pixels = np.ascontiguousarray(rgba.round().astype(np.uint8))
    return QImage(pixels.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


def _read_picture(path: str) -> tuple[np.ndarray, np.ndarray] | str:
    """The picture at ``path`` as ``[H, W, 3]`` uint8 and its automatic mask, or why it cannot serve."""
    from engines.reference_image import object_mask, read_rgba

    try:
        rgba = read_rgba(path)
        return (np.clip(rgba[..., :3] * 255.0 + 0.5, 0, 255).astype(np.uint8), object_mask(rgba))
    except ValueError as exc:
        return str(exc)
    except MemoryError:
        return f"image: {Path(path).name} is too big to preview"


class MaskEditor(QWidget):
    """The preview of ``form``'s picture (field ``image_key``) and mask (field ``mask_key``), its
    brush controls, and the mask field kept to the painted mask's PNG in ``folder()``."""

    picture_read = Signal(str, object)
    """(path, (pixels, mask) or why not), sent from the reading thread to the editor's thread."""

    def __init__(self, form: DataclassForm, image_key: str, mask_key: str, folder: Callable[[], Path],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form, self.image_key, self.mask_key, self.folder = form, image_key, mask_key, folder
        self.automatic: np.ndarray | None = None  # the mask a run uses when none is painted
        self.saved = ""  # the PNG this editor last wrote (and put in the mask field)
        self.reading: str | None = None  # the picture being read on a worker thread
        self.picture_read.connect(self._picture_read)
        self.message = QLabel(wordWrap=True)
        self.message.setObjectName("mask_message")
        self.canvas = MaskCanvas()
        self.canvas.setObjectName("mask_canvas")
        self.canvas.setToolTip("Left drag: paint the object · right drag: paint the background")
        self.canvas.stroke_finished.connect(self._save)
        self.brush_size = QSpinBox()
        self.brush_size.setObjectName("brush_size")
        self.brush_size.setRange(1, 200)
        self.brush_size.setSuffix(" px")
        self.brush_size.setValue(self.canvas.radius)
        self.brush_size.setToolTip("The brush's radius on screen")
        self.brush_size.valueChanged.connect(lambda value: setattr(self.canvas, "radius", value))
        self.erase = QToolButton()
        self.erase.setObjectName("brush_erase")
        self.erase.setText("Erase")
        self.erase.setCheckable(True)
        self.erase.setToolTip("Left drag paints the background too (as right drag does)")
        self.erase.toggled.connect(lambda on: setattr(self.canvas, "erase", on))
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("mask_reset")
        self.reset_button.setToolTip("Forget the painting: back to the automatic mask")
        self.reset_button.clicked.connect(self.reset)
        self.tools = QWidget()
        row = QHBoxLayout(self.tools)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Brush"))
        row.addWidget(self.brush_size)
        row.addWidget(self.erase)
        row.addStretch(1)
        row.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.canvas)
        layout.addWidget(self.tools)
        self._line(image_key).textChanged.connect(self.show_image)
        self._line(mask_key).textChanged.connect(self._mask_field_changed)
        self.show_image(self._line(image_key).text())

    def _line(self, key: str) -> QLineEdit:
        """The line edit of the path field ``key`` (a path field's editor is a line edit and a browse button)."""
        return self.form.editor(key).findChild(QLineEdit)

    def mask(self) -> np.ndarray | None:
        """The mask shown, ``[H, W]`` float32 0-1; None without a picture."""
        return self.canvas.mask

    # ----------------------------------------------------------------- the picture and its mask
    def show_image(self, path: str) -> None:
        """Show the picture at ``path`` with its automatic mask (or the mask field's file), or say why
        not; a photo takes seconds to read and mask, so that happens on a worker thread."""
        self.automatic = None
        if self.saved:
            self.form.set_field(self.mask_key, "")  # painted on the picture before: it does not fit this one
        path = path.strip()
        self.reading = path or None
        if not path:
            return self._say("Choose a picture above, or drop one on this panel, to see and paint its object's mask.")
        self._say(f"Reading {Path(path).name}…")
        # A plain thread, not a Qt pool: closing the editor never waits for a read to end.
        threading.Thread(target=self._read, args=(path,), name=f"read {Path(path).name}", daemon=True).start()

    def _read(self, path: str) -> None:
        """Read ``path`` (on the reading thread) and send what came of it to the editor."""
        read = _read_picture(path)
        try:
            self.picture_read.emit(path, read)
        except RuntimeError:  # the editor was closed meanwhile
            pass

    def _picture_read(self, path: str, read: tuple[np.ndarray, np.ndarray] | str) -> None:
        """Show what the worker read of ``path``, unless another picture was chosen meanwhile."""
        if path != self.reading:
            return
        self.reading = None
        if isinstance(read, str):
            return self._say(read)
        pixels, self.automatic = read
        self.canvas.set_picture(pixels, self.automatic)
        self._mask_field_changed(self._line(self.mask_key).text())

    def _mask_field_changed(self, path: str) -> None:
        """Show the mask a run will use: the automatic one for an empty field, else the file's."""
        if path and path == self.saved:
            return
        self.saved = ""
        if self.automatic is None:
            return
        if not path.strip():
            self._show(self.automatic)
            return
        from engines.reference_image import read_mask

        try:
            mask = read_mask(path.strip())  # as a run reads it
        except ValueError as exc:
            return self._say(str(exc))
        if mask.shape != self.automatic.shape:
            height, width = self.automatic.shape
            return self._say(f"mask: {Path(path).name} is {mask.shape[1]}x{mask.shape[0]} but the picture {width}x{height}")
        self._show(mask)

    def _show(self, mask: np.ndarray) -> None:
        self.canvas.set_mask(mask)
        self.message.hide()
        self.canvas.show()
        self.tools.show()

    def _say(self, text: str) -> None:
        """``text`` in place of the preview."""
        self.message.setText(text)
        self.message.show()
        self.canvas.hide()
        self.tools.hide()

    # ----------------------------------------------------------------- painting
    def reset(self) -> None:
        """Back to the automatic mask; the mask field is emptied, so a run makes its own."""
        if self.automatic is None:
            return
        self.form.set_field(self.mask_key, "")
        self._show(self.automatic)

    def _save(self) -> None:
        """Write the painted mask as a PNG named after its content and put it in the mask field."""
        from PIL import Image

        pixels = np.clip(self.canvas.mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)  # fast: a photo's mask in tens of ms
        data = buffer.getvalue()
        stem = Path(self._line(self.image_key).text().strip()).stem
        path = self.folder() / f"{stem}-mask-{hashlib.sha1(data).hexdigest()[:12]}.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # named by its content: a file of that name holds this mask whole
                with atomic_output(path) as tmp:
                    tmp.write_bytes(data)
        except OSError as exc:  # a full disk, no permission: the painting stays, the next stroke tries again
            self.message.setText(f"The mask could not be saved: {os_error_line(exc)}")
            self.message.show()
            return
        self.message.hide()
        self.saved = str(path)
        self.form.set_field(self.mask_key, self.saved)
