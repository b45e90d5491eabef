"""Long work (file loading, saving, exports) on a thread pool, so the window never blocks.

A task is a plain function ``fn(progress) -> result``; it reports with ``progress.report(...)`` and
calls ``progress.check()`` between steps so a cancel stops it there (as superqt's ``quit()`` stops a
worker between yields). Results, errors and progress come back to the GUI thread as Qt signals.
Workers read only immutable data or a :func:`snapshot` of the document, never the live one.
"""

from __future__ import annotations

import dataclasses
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from scene import Document


class Cancelled(Exception):
    """Raised by :meth:`Progress.check` once the task was cancelled."""


class Progress:
    """What a running task sees: a way to report, and whether it was asked to stop."""

    def __init__(self, emit: Callable[[float, str], None]) -> None:
        self._emit = emit
        self._cancel = threading.Event()

    def report(self, fraction: float, text: str = "") -> None:
        """``fraction`` in 0-1, or a negative value for "busy, no idea how long"."""
        self._emit(float(fraction), text)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()


class Task(QObject):
    """One piece of background work; connect to its signals, call :meth:`cancel` to stop it."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()  # after any of the three above

    def __init__(self, name: str, fn: Callable[[Progress], Any], cancel_on_quit: bool = False) -> None:
        super().__init__()
        self.name = name
        self.cancel_on_quit = cancel_on_quit  # quitting stops it (a download), not waits for it (a save)
        self._fn = fn
        self.progress = Progress(self.progressed.emit)
        self.done = False

    def cancel(self) -> None:
        self.progress._cancel.set()

    def run(self) -> None:
        """Runs on a pool thread; every outcome becomes a signal queued to the GUI thread."""
        try:
            result = self._fn(self.progress)
            self.progress.check()
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # reported to the user, never lost in a thread
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))
        else:
            self.succeeded.emit(result)
        self.done = True
        self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task

    def run(self) -> None:
        self.task.run()


class TaskRunner(QObject):
    """Starts tasks on a thread pool and keeps them alive until they finish."""

    task_started = Signal(object)  # the Task

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: set[Task] = set()

    def start(
        self,
        name: str,
        fn: Callable[[Progress], Any],
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        cancel_on_quit: bool = False,
    ) -> Task:
        task = Task(name, fn, cancel_on_quit)
        if on_success is not None:
            task.succeeded.connect(on_success)
        if on_failure is not None:
            task.failed.connect(on_failure)
        task.finished.connect(lambda: self._running.discard(task))
        self._running.add(task)
        self.task_started.emit(task)
        self.pool.start(_Runnable(task))
        return task

    @property
    def running(self) -> tuple[Task, ...]:
        return tuple(self._running)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until all tasks are done (at exit, so a save is never cut short); those marked
        ``cancel_on_quit`` are cancelled first."""
        for task in self.running:
            if task.cancel_on_quit:
                task.cancel()
        return self.pool.waitForDone(timeout_ms)


def snapshot(document: Document) -> Document:
    """A copy of ``document`` a worker may read while the artist keeps editing the original.

    Layer payloads are immutable, so copying the layer records (not the arrays) is enough.
    """
    copy = Document()
    for layer in document.layers:
        copy.add_layer(dataclasses.replace(layer))
    for named in document.paths:  # immutable: shared, like the payloads
        copy.add_path(named)
    if document.current_id is not None:
        copy.set_current(document.current_id)
    copy.view = document.view
    copy.set_time(document.time)
    copy.set_playback(document.playback)  # immutable too
    copy.undo_stack.clear()
    return copy
