"""The input picture of a depth-lifting engine beside its depth, as the engine's depth model sees it.

A Generate form gets a :class:`DepthPreview` under it when its config has a *depth model field*: a
model field whose metadata ``depth_of`` names the image field it estimates, e.g.
``depth_model: str = field(default="", metadata={"model": "depth", "depth_of": "image"})``. The
picture shows as soon as it is chosen; *Preview depth* loads the depth model the run would use (the
field's, else the one chosen in Preferences > Models) and shows the estimate beside the picture as
a colour map, near bright and far dark, so the artist sees what will be lifted before a run.

Reading a photo and loading a model take seconds, so both happen on plain worker threads (not a Qt
pool, so closing the preview never waits for them) whose results come back by a signal; a result
for a picture or a model no longer chosen is dropped. A picture that cannot be read, or a depth
model that cannot be had, is named in a message in place of the preview.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QRectF, QSize, Signal
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from studio.panels.forms import DataclassForm

PREVIEW_SIDE = 512
"""The picture is read (and its depth estimated) with its longest side scaled down to this (px):
the size of an outpainted scene's views by default, and far more than the preview shows."""
MAX_PREVIEW_HEIGHT = 300
"""Each preview's height at most (px): a tall picture narrows rather than filling the dock."""
DEPTH_COLOURS = np.array(
    [(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21), (250, 193, 39), (252, 255, 164)],
    np.float32,
)
"""The colour map from far to near (inferno's stops): brightness alone already reads as nearness."""


class PictureView(QWidget):
    """A picture scaled to fit, its aspect kept; its height follows its width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        """Show ``pixels`` ``[H, W, 3]`` uint8; None shows nothing."""
        if pixels is None:
            self.image = None
        else:
            pixels = np.ascontiguousarray(pixels)
            height, width = pixels.shape[:2]
            self.image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        self.updateGeometry()
        self.update()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self.image is None:
            return 0
        return min(MAX_PREVIEW_HEIGHT, round(width * self.image.height() / self.image.width()))

    def sizeHint(self) -> QSize:
        return QSize(160, self.heightForWidth(160))

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.image is None:
            return
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        width, height = self.image.width() * scale, self.image.height() * scale
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height), self.image)
        painter.end()


def depth_colours(values: np.ndarray, kind: str) -> np.ndarray:
    """``[H, W, 3]`` uint8: the depth estimate ``values`` ``[H, W]`` coloured near bright, far dark.

    A "disparity" estimate grows towards the camera, a "metric" one away from it; either is spread
    over the map between its 2nd and 98th percentiles, so a few wild pixels do not wash it out."""
    nearness = np.nan_to_num(values.astype(np.float32) if kind == "disparity" else -values.astype(np.float32))
    low, high = np.percentile(nearness, (2, 98))
    share = np.clip((nearness - low) / max(float(high - low), 1e-12), 0.0, 1.0) * (len(DEPTH_COLOURS) - 1)
    stops = np.arange(len(DEPTH_COLOURS))
    rgb = np.stack([np.interp(share, stops, DEPTH_COLOURS[:, channel]) for channel in range(3)], axis=-1)
    return rgb.round().astype(np.uint8)


def _read_picture(path: str) -> np.ndarray | str:
    """The picture at ``path`` as a run reads it (on white, scaled down) ``[H, W, 3]`` float32 0-1, or why not."""
    from engines.outpaint_scene import read_picture

    try:
        return read_picture(path, PREVIEW_SIDE)
    except ValueError as exc:
        return str(exc)
    except MemoryError:
        return f"image: {Path(path).name} is too big to preview"


def _estimated_depth(path: str, source: str, settings: Any) -> tuple[np.ndarray, str] | str:
    """The coloured depth of the picture at ``path`` by the depth model ``source`` (empty: the one
    ``settings``, a :class:`~engines.runtime.WorkerSettings`, choose) and its kind, or why not.

    The model runs on the CPU: a preview of one picture is quick there, and it leaves the GPU's
    memory to the jobs."""
    from engines.models import ModelError
    from engines.priors.depth import DepthEstimator
    from engines.runtime import RunContext

    picture = _read_picture(path)
    if isinstance(picture, str):
        return picture
    try:
        estimate = DepthEstimator(RunContext(settings=settings).model("depth", source=source))(picture)
    except ModelError as exc:
        return str(exc)
    except Exception as exc:  # a model that loads but cannot run: said in place, never a silent thread
        return f"The depth model could not estimate the depth of {Path(path).name}: {exc}"
    return depth_colours(estimate.values, estimate.kind), estimate.kind


class DepthPreview(QWidget):
    """``form``'s picture (field ``image_key``) and, on demand, its depth by the model of the field
    ``model_key``; ``settings()`` gives the :class:`~engines.runtime.WorkerSettings` that choose the
    model when the field is empty."""

    picture_read = Signal(str, object)
    """(path, pixels or why not), sent from the reading thread to the preview's thread."""
    depth_estimated = Signal(str, str, object)
    """(path, model field, (colours, kind) or why not), sent from the estimating thread."""

    def __init__(self, form: DataclassForm, image_key: str, model_key: str, settings: Callable[[], Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form, self.image_key, self.model_key, self.settings = form, image_key, model_key, settings
        self.reading: str | None = None  # the picture being read on a worker thread
        self.estimating: tuple[str, str] | None = None  # (picture, model field) whose depth is being estimated
        self.picture_read.connect(self._picture_read)
        self.depth_estimated.connect(self._depth_estimated)
        self.message = QLabel(wordWrap=True)
        self.message.setObjectName("depth_message")
        self.picture = PictureView()
        self.picture.setObjectName("picture_preview")
        self.picture.setToolTip("The picture as the run reads it")
        self.depth = PictureView()
        self.depth.setObjectName("depth_preview")
        self.depth.setToolTip("The depth model's estimate: near is bright, far is dark")
        self.depth_button = QPushButton("Preview depth")
        self.depth_button.setObjectName("preview_depth")
        self.depth_button.setToolTip("Load the depth model the run would use and show its estimate of the picture's depth")
        self.depth_button.clicked.connect(self.preview_depth)
        self.depth_note = QLabel(wordWrap=True)
        self.depth_note.setObjectName("depth_note")
        pictures = QHBoxLayout()
        pictures.setContentsMargins(0, 0, 0, 0)
        pictures.addWidget(self.picture, 1)
        pictures.addWidget(self.depth, 1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.depth_button)
        row.addWidget(self.depth_note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addLayout(pictures)
        layout.addLayout(row)
        self._line(image_key).textChanged.connect(self.show_image)
        self._line(model_key).textChanged.connect(lambda _text: self._forget_depth())
        self.show_image(self._line(image_key).text())

    def _line(self, key: str) -> QLineEdit:
        """The line edit of the field ``key`` (a path field's editor holds one beside its browse button)."""
        editor = self.form.editor(key)
        return editor if isinstance(editor, QLineEdit) else editor.findChild(QLineEdit)

    # ----------------------------------------------------------------- the picture
    def show_image(self, path: str) -> None:
        """Show the picture at ``path`` (read on a worker thread), or say why not; its depth is forgotten."""
        path = path.strip()
        self.reading = path or None
        self.picture.set_pixels(None)
        self._forget_depth()
        if not path:
            return self._say("Choose a picture above, or drop one on this panel, to see it and its depth.")
        self._say(f"Reading {Path(path).name}…")
        threading.Thread(target=self._read, args=(path,), name=f"read {Path(path).name}", daemon=True).start()

    def _picture_read(self, path: str, read: np.ndarray | str) -> None:
        """Show what the worker read of ``path``, unless another picture was chosen meanwhile."""
        if path != self.reading:
            return
        self.reading = None
        if isinstance(read, str):
            return self._say(read)
        self.message.hide()
        self.picture.set_pixels(np.clip(read * 255.0 + 0.5, 0, 255).astype(np.uint8))
        self.depth_button.setEnabled(True)

    # ----------------------------------------------------------------- its depth
    def preview_depth(self) -> None:
        """Estimate the shown picture's depth with the run's depth model, on a worker thread."""
        path, source = self._line(self.image_key).text().strip(), self._line(self.model_key).text().strip()
        if not path or self.picture.image is None or self.estimating is not None:
            return
        self.estimating = (path, source)
        self.depth_button.setEnabled(False)
        self.depth_note.setText("Loading the depth model and estimating…")
        settings = self.settings()  # read here: the preferences belong to the GUI's thread
        threading.Thread(target=self._estimate, args=(path, source, settings), name=f"depth of {Path(path).name}",
                         daemon=True).start()

    def _depth_estimated(self, path: str, source: str, estimated: tuple[np.ndarray, str] | str) -> None:
        """Show the depth the worker estimated, unless the picture or the model changed meanwhile."""
        if (path, source) != self.estimating:
            return
        self.estimating = None
        self.depth_button.setEnabled(True)
        if isinstance(estimated, str):
            self.depth_note.setText(estimated)
            self.depth_note.setStyleSheet("color: #d33;")
            return
        colours, kind = estimated
        self.depth.set_pixels(colours)
        self.depth_note.setStyleSheet("")
        self.depth_note.setText(f"Depth ({'relative' if kind == 'disparity' else 'metric'}): near is bright, far is dark")

    def _forget_depth(self) -> None:
        """The depth shown no longer fits the picture or the model: clear it (a running estimate's result is dropped)."""
        self.estimating = None
        self.depth.set_pixels(None)
        self.depth_note.setText("")
        self.depth_note.setStyleSheet("")
        self.depth_button.setEnabled(self.picture.image is not None and self.reading is None)

    def _say(self, text: str) -> None:
        """``text`` in place of the preview."""
        self.message.setText(text)
        self.message.show()

    # ----------------------------------------------------------------- on the worker threads
    def _read(self, path: str) -> None:
        _emit(self.picture_read, path, _read_picture(path))

    def _estimate(self, path: str, source: str, settings: Any) -> None:
        _emit(self.depth_estimated, path, source, _estimated_depth(path, source, settings))


def _emit(signal: Any, *values: Any) -> None:
    """Send a worker thread's outcome to the preview, unless the preview was closed meanwhile."""
    try:
        signal.emit(*values)
    except RuntimeError:
        pass
