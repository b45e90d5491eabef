"""The Timeline dock: a time axis whose cursor is the document's time (the 4D issue adds keyframe tracks).

A view over :attr:`scene.Document.time`, like the other panels over their parts of the document:
dragging the cursor sets the document's time, and a time set anywhere else (code, a loaded
project, a new document) moves the cursor, without the two echoing each other.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from scene import Document
from scene.events import DocumentEvent, TimeChanged


class TimelinePanel(QWidget):
    """Shows a time range in seconds with a draggable cursor at the document's time."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.hideAxis("left")
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setMaximumHeight(110)
        self.cursor = pg.InfiniteLine(pos=0.0, movable=True, pen=pg.mkPen("#f0a030", width=2))
        self.cursor.sigPositionChanged.connect(self._on_cursor_moved)
        self.plot.addItem(self.cursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._syncing = False
        self._range = (0.0, 1.0)
        self.set_range(*self._range)
        self.document = document
        document.events.connect(self._on_event)
        self._show_time()

    def set_document(self, document: Document) -> None:
        self.document.events.disconnect(self._on_event)
        self.document = document
        document.events.connect(self._on_event)
        self._show_time()

    def set_range(self, start: float, end: float) -> None:
        """Show ``start``..``end`` seconds; the cursor can be dragged within it."""
        self._range = (start, end)
        self.plot.setXRange(start, end, padding=0.02)
        self.cursor.setBounds((start, end))

    @property
    def time(self) -> float:
        """Where the cursor stands, in seconds."""
        return float(self.cursor.value())

    # ----------------------------------------------------------------- cursor -> document
    def _on_cursor_moved(self, line: pg.InfiniteLine) -> None:
        if not self._syncing:
            self.document.set_time(float(line.value()))

    # ----------------------------------------------------------------- document -> view
    def _on_event(self, event: DocumentEvent) -> None:
        if isinstance(event, TimeChanged):
            self._show_time()

    def _show_time(self) -> None:
        """Put the cursor at the document's time, widening the range when the time lies outside it."""
        t = self.document.time
        start, end = self._range
        if not start <= t <= end:
            self.set_range(min(start, t), max(end, t))
        self._syncing = True
        try:
            self.cursor.setValue(t)
        finally:
            self._syncing = False
