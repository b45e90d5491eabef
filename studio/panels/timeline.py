"""The Timeline dock: a time axis whose cursor is the document's time (the 4D issue adds keyframe tracks).

A view over :attr:`scene.Document.time`, like the other panels over their parts of the document:
dragging the cursor sets the document's time, and a time set anywhere else (code, a loaded
project, a new document) moves the cursor, without the two echoing each other. The axis pans and
zooms with the mouse but never into negative time: only a few pixels before 0 stay in view, so
that the cursor standing at 0 shows whole and can be grabbed.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from scene import Document
from scene.events import DocumentEvent, TimeChanged

MIN_SPAN_S = 0.01  # the narrowest time span a zoom can show
EDGE_PX = 12  # how far left of time 0 the view may reach: room to see and grab the cursor there


class TimelinePanel(QWidget):
    """Shows a time range in seconds with a draggable cursor at the document's time."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setLimits(minXRange=MIN_SPAN_S)
        box = self.plot.getViewBox()
        box.sigResized.connect(self._limit_to_positive_time)
        box.sigXRangeChanged.connect(self._limit_to_positive_time)
        self.plot.hideButtons()  # no auto-range "A": the range follows the document
        self.plot.setMenuEnabled(False)  # nor the plot menu (axes, log scale, export...): a time axis has none
        self.plot.hideAxis("left")
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setMaximumHeight(110)
        self.cursor = pg.InfiniteLine(pos=0.0, movable=True, pen=pg.mkPen("#f0a030", width=2))
        self.cursor.addMarker("v", position=1.0, size=12)  # a handle, easier to find and grab
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

    def _limit_to_positive_time(self, *_signal_args: object) -> None:
        """Let pan and zoom reach no earlier than :data:`EDGE_PX` pixels before time 0, at any zoom."""
        box = self.plot.getViewBox()
        (x0, x1), _ = box.viewRange()
        # An unchanged limit is a no-op, and clamping keeps the span: this settles at once.
        box.setLimits(xMin=-EDGE_PX * (x1 - x0) / max(box.width(), 1.0))

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
