"""The installed Qt binding keeps Python's reference counts right.

PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` on every call of a method returning
nothing (``widget.update()``, ``timer.start()``, ...): a window that repaints runs ``None``'s count
down to zero within minutes and Python aborts ("deallocating None"). Python 3.12 made ``None``
immortal, which hides it there; pyproject.toml keeps that release off Python < 3.12.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

CALLS = 500  # few enough that a broken binding fails the test instead of aborting Python


def test_calls_returning_nothing_keep_none_alive(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        widget.update()
        timer.start(1000)
    timer.stop()
    assert sys.getrefcount(None) - before > -CALLS // 10, "the Qt binding drops references to None"
