"""The main window's status bar: the running background task (with progress and cancel), the device,
the viewport's frame rate, what the visible layers hold, and this process's memory."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from scene import Document
from studio.workers import Task, TaskRunner

QUIET_TASKS = frozenset({"Autosave"})
"""Tasks too routine to show."""


def device_label(device: str) -> str:
    """The compute device for the status bar, found without importing torch (slow to import).

    The NVIDIA driver lists its GPUs under ``/proc``; "auto" means CUDA when one is listed.
    """
    if device == "cpu":
        return "CPU"
    gpus = Path("/proc/driver/nvidia/gpus")
    for info in sorted(gpus.glob("*/information")) if gpus.is_dir() else ():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                return f"CUDA: {line.split(':', 1)[1].strip()}"
    return "CUDA (not found)" if device == "cuda" else "CPU"


def memory_mb() -> float:
    """This process's resident memory (its peak where the current value cannot be read)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def splat_count_label(document: Document) -> str:
    """The splats the viewport draws (those of visible layers): what a frame's cost grows with."""
    count = sum(len(layer.data) for layer in document.layers if layer.visible and layer.kind == "splats")
    return f"{count:,} splats"


class StatusBar(QStatusBar):
    """Follows a :class:`TaskRunner`'s tasks; ``fps`` is polled once a second from the viewport."""

    def __init__(self, runner: TaskRunner, device: str, fps: Callable[[], float], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner, self._fps = runner, fps
        self.task_label = QLabel()
        self.task_progress = QProgressBar()
        self.task_progress.setRange(0, 1000)
        self.task_progress.setMaximumWidth(160)
        self.task_cancel = QToolButton()
        self.task_cancel.setText("✕")
        self.task_cancel.setToolTip("Cancel")
        self._shown_task: Task | None = None
        self.task_cancel.clicked.connect(lambda: self._shown_task.cancel() if self._shown_task else None)
        for widget in (self.task_label, self.task_progress, self.task_cancel):
            self.addWidget(widget)
            widget.hide()
        self.device_label = QLabel(device_label(device))
        self.fps_label = QLabel()
        self.splat_label = QLabel()
        self.memory_label = QLabel()
        for label in (self.device_label, self.fps_label, self.splat_label, self.memory_label):
            self.addPermanentWidget(label)
        runner.task_started.connect(self.show_task)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self._tick()

    def set_device(self, device: str) -> None:
        self.device_label.setText(device_label(device))

    def show_document(self, document: Document) -> None:
        self.splat_label.setText(splat_count_label(document))

    def _tick(self) -> None:
        fps = self._fps()
        self.fps_label.setText(f"{fps:.0f} fps" if fps else "idle")  # a still view draws nothing
        self.memory_label.setText(f"{memory_mb():,.0f} MB")

    def show_task(self, task: Task) -> None:
        """The newest background task, with its progress and a cancel button."""
        if task.name in QUIET_TASKS:
            return
        # No busy animation while a task cannot tell how far it got: with an OpenGL widget in the
        # window every repaint of the bar composites the whole window, which a software GL does
        # slowly, on the GUI thread, while the task wants the CPU too.
        self.task_label.setText(f"{task.name}…")
        self.task_progress.hide()
        for widget in (self.task_label, self.task_cancel):
            widget.show()
        self._shown_task = task

        def progressed(fraction: float, text: str) -> None:
            self.task_progress.setVisible(fraction >= 0)
            self.task_progress.setValue(int(max(fraction, 0) * 1000))
            self.task_label.setText(f"{task.name}: {text}" if text else f"{task.name}…")

        def finished() -> None:
            if not any(t.name not in QUIET_TASKS for t in self._runner.running if t is not task):
                for widget in (self.task_label, self.task_progress, self.task_cancel):
                    widget.hide()

        task.progressed.connect(progressed)
        task.finished.connect(finished)
