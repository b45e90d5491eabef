"""The Timeline dock: a time axis with a draggable cursor (the 4D issue adds keyframe tracks)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget


class TimelinePanel(QWidget):
    """Shows a time range in seconds; dragging the cursor emits :attr:`time_changed`."""

    time_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.hideAxis("left")
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setMaximumHeight(110)
        self.cursor = pg.InfiniteLine(pos=0.0, movable=True, pen=pg.mkPen("#f0a030", width=2))
        self.cursor.sigPositionChanged.connect(lambda line: self.time_changed.emit(float(line.value())))
        self.plot.addItem(self.cursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.set_range(0.0, 1.0)

    def set_range(self, start: float, end: float) -> None:
        self.plot.setXRange(start, end, padding=0.02)
        self.cursor.setBounds((start, end))

    @property
    def time(self) -> float:
        return float(self.cursor.value())

    def set_time(self, t: float) -> None:
        self.cursor.setValue(t)
