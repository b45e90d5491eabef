"""Python's cycle collector, run on the Qt main thread only.

Python collects cycles in whichever thread happens to allocate when a threshold is crossed. In the
studio that can be a plain thread (the job manager's receiver, a picture being read): a collected
cycle holding a Qt object then destroys it off the main thread, and shiboken's destruction there
deadlocks against the main thread's own (seen as a hung window in a test). So the automatic collector
is switched off and a timer on the main thread collects each generation when its threshold is
crossed, as pyqtgraph's ``GarbageCollector`` does.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class MainThreadCollector(QObject):
    """While it lives, cycles are collected every ``interval_ms`` on the thread that made it."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()  # the automatic collector's, which this one follows
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(interval_ms)
        self.destroyed.connect(lambda *_: gc.enable())

    def collect(self) -> None:
        """Collect the youngest generations whose counts passed their thresholds."""
        counts = gc.get_count()
        generation = -1
        while generation + 1 < 3 and counts[generation + 1] > self.thresholds[generation + 1]:
            generation += 1
        if generation >= 0:
            gc.collect(generation)
