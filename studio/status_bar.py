"""The main window's status bar: the engine job that runs (its progress and ETA), the running
background task (with progress and cancel), how many splats of the current layer are selected, the
device, the viewport's frame rate, what the visible layers hold, and this process's memory; tools'
messages show there for a while."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from scene import Document
from scene.edits import selected_count
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


def selection_label(document: Document) -> str:
    """The current layer's selected splats ("1,234 selected"), or "" when none are."""
    layer = document.current
    count = 0 if layer is None else selected_count(document, layer.id)
    return f"{count:,} selected" if count else ""


def splat_count_label(document: Document) -> str:
    """The splats the viewport draws (those of visible layers, a clip's at the document's time):
    what a frame's cost grows with."""
    count = 0
    for layer in document.layers:
        if layer.visible and layer.kind == "splats":
            count += layer.data.count
        elif layer.visible and layer.kind == "clip":
            clip = layer.data
            if clip.is_flipbook:
                k = clip.frame_at(document.time)[0]
                count += int(clip.frame_starts[k + 1] - clip.frame_starts[k])
            else:
                count += clip.count
    return f"{count:,} splats"


class StatusBar(QStatusBar):
    """Follows a :class:`TaskRunner`'s tasks; ``fps`` is polled once a second from the viewport."""

    def __init__(self, runner: TaskRunner, device: str, fps: Callable[[], float], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner, self._fps = runner, fps
        self.job_label = QLabel()  # what engine job runs: "reconstruct 31% — ETA 2:10"
        self.job_label.setObjectName("job")
        self.addWidget(self.job_label)
        self.job_label.hide()
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
        self.selection_label = QLabel()
        self.selection_label.hide()
        self.addPermanentWidget(self.selection_label)
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
        self.selection_label.setText(selection_label(document))
        self.selection_label.setVisible(bool(self.selection_label.text()))

    def _tick(self) -> None:
        fps = self._fps()
        idle = "" if self.job_label.text() else "idle"  # not while a job works
        self.fps_label.setText(f"{fps:.0f} fps" if fps else idle)  # a still view draws nothing
        self.memory_label.setText(f"{memory_mb():,.0f} MB")

    def show_jobs(self, text: str) -> None:
        """What the engine jobs do (:func:`studio.panels.jobs.activity_text`); empty: none runs."""
        self.job_label.setText(text)
        self.job_label.setVisible(bool(text))
        self._tick()

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
