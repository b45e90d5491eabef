"""The Export > Turntable dialog: the video's size, its length as frames or as seconds, and its frame rate.

Frames and duration are two views of one number: editing either updates the other at the current
frame rate, and a new frame rate keeps the duration. :meth:`TurntableDialog.settings` reads the
choice without running the dialog, so tests fill it as an artist would and read it back.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.turntable import MAX_SIZE, TurntableSettings


class TurntableDialog(QDialog):
    """Asks for a :class:`~studio.turntable.TurntableSettings`, starting from ``settings``; ``subject``
    names what the orbit frames."""

    def __init__(self, settings: TurntableSettings, subject: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export turntable")
        self.width_box = _spin(16, MAX_SIZE, settings.width, " px", "Width of the video in pixels")
        self.height_box = _spin(16, MAX_SIZE, settings.height, " px", "Height of the video in pixels")
        self.frames_box = _spin(1, 100_000, settings.frames, "", "How many pictures one turn takes")
        self.duration_box = _spin(0.01, 3600.0, settings.duration_s, " s", "How long one turn plays; sets the frames")
        self.fps_box = _spin(1.0, 240.0, settings.fps, " fps", "Frames per second of the video")
        self.frames_box.valueChanged.connect(self._show_duration)
        self.duration_box.valueChanged.connect(self._set_frames)
        self.fps_box.valueChanged.connect(self._set_frames)

        size = QHBoxLayout()
        size.addWidget(self.width_box)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_box)
        form = QFormLayout()
        form.addRow("Size", size)
        form.addRow("Frames", self.frames_box)
        form.addRow("Duration", self.duration_box)
        form.addRow("Frame rate", self.fps_box)
        note = QLabel(f"One turn around {subject}, framed on its dense part (stray splats left out).", wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def settings(self) -> TurntableSettings:
        """The video the dialog shows now."""
        return TurntableSettings(
            self.width_box.value(), self.height_box.value(), self.frames_box.value(), self.fps_box.value()
        )

    def _show_duration(self) -> None:
        with QSignalBlocker(self.duration_box):
            self.duration_box.setValue(self.frames_box.value() / self.fps_box.value())

    def _set_frames(self) -> None:
        with QSignalBlocker(self.frames_box):
            self.frames_box.setValue(TurntableSettings.frames_for(self.duration_box.value(), self.fps_box.value()))


def _spin(low: float, high: float, value: float, suffix: str, tip: str) -> QSpinBox | QDoubleSpinBox:
    """A spin box for whole numbers when ``value`` is an int, else for numbers with two decimals."""
    box = QSpinBox() if isinstance(value, int) else QDoubleSpinBox(decimals=2)
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    return box
