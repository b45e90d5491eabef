"""The Jobs dock: the engine jobs with progress, ETA, a live metric plot and their controls.

The panel polls the Qt-free :class:`engines.runtime.JobManager` on a timer (``poll()`` never
blocks), so the engine never waits for the GUI and the GUI never waits for the engine. Each new
snapshot is announced with :attr:`JobsPanel.snapshot` (latest wins: one per output key and poll
at most). While a job prepares (checks, model loading) the bar shows that phase's progress.

Each job says where it runs (this machine, or a Ray cluster's node and GPU) once any job is sent to
a cluster (its tooltip always). While jobs run on a cluster, a line under the list says what it has
free, read every few seconds on a thread of the panel's own, and only while this process is
connected to a cluster (so nothing of Ray starts without one).

The panel follows the work: a job that starts (or starts again) becomes the shown one, so the bar
and the plot are the new run's, and :attr:`JobsPanel.activity` tells the status bar what runs.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engines.runtime import JobInfo, JobManager, JobState, cluster
from studio.workers import Task, TaskRunner

ACTIVE_STATES = (JobState.QUEUED, JobState.STARTING, JobState.PREPARING, JobState.RUNNING, JobState.PAUSED)
CLUSTER_REFRESH_S = 5.0
"""How often the cluster line is read again."""
_PEN_COLOURS = ("#4fa3ff", "#f0a030", "#60d060", "#e05050", "#c080ff")
_BUTTON_TIPS = {
    "pause": "Pause the job after its current step",
    "resume": "Go on with a paused job, or continue a cancelled or failed one from its last checkpoint",
    "cancel": "Stop the job (it keeps a checkpoint to resume from)",
    "open": "Select and frame the job's layer (or show its file when the layer is gone)",
}


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA …"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


def progress_text(job: JobInfo) -> str:
    """``42% — ETA 0:13`` while running, ``40% — loading the model`` while preparing, else the
    percentage and the state."""
    if job.state is JobState.PREPARING and job.preparing is not None:
        return f"{job.fraction:.0%} — {job.preparing.text}"
    suffix = format_eta(job.eta_s) if job.state is JobState.RUNNING else job.state.value
    return f"{job.fraction:.0%} — {suffix}"


def activity_text(jobs: list[JobInfo]) -> str:
    """What runs, for the status bar: ``reconstruct 31% — ETA 2:10`` (the first of the active jobs,
    ``(+1 more)`` after it when others wait or run); empty when none is active."""
    active = [job for job in jobs if job.state in ACTIVE_STATES]
    if not active:
        return ""
    more = f" (+{len(active) - 1} more)" if len(active) > 1 else ""
    return f"{active[0].engine} {progress_text(active[0])}{more}"


class JobsPanel(QWidget):
    """The job list; the selected job's progress, ETA, metric plot and buttons below it."""

    snapshot = Signal(str, str, object)  # job id, output key, its newest payload
    finished = Signal(str, object)  # job id, its final JobInfo
    show_result = Signal(str)  # job id: the artist asked to see what a finished job made
    activity = Signal(str)  # what runs (activity_text), each time it changes

    def __init__(self, manager: JobManager | None = None, interval_ms: int = 100, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs: dict[str, JobInfo] = {}
        self.list = QListWidget()
        self.list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.cluster_line = QLabel(wordWrap=True)  # what the cluster jobs run on has free
        self.cluster_line.setObjectName("cluster")
        self.cluster_line.hide()
        self._cluster_reader = TaskRunner(self, max_threads=1)
        self._cluster_task: Task | None = None
        self._cluster_read_at = float("-inf")  # time.monotonic() of the last read
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.metric = QComboBox()  # which of the job's metrics the plot shows: their scales differ
        self.metric.setObjectName("metric")
        self.metric.setToolTip("The metric the plot shows")
        self.metric.currentTextChanged.connect(lambda _: self._show_selected())
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(120)
        self.plot.setLabel("bottom", "step")
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for name, tip in _BUTTON_TIPS.items():
            button = QPushButton(name.capitalize())
            button.setObjectName(name)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, n=name: self.act(n))
            row.addWidget(button)
            self.buttons[name] = button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.cluster_line)
        layout.addWidget(self.progress)
        layout.addWidget(self.metric)
        layout.addWidget(self.plot, 2)
        layout.addLayout(row)
        self.manager: JobManager | None = None
        self._activity = ""
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        self.set_manager(manager)

    def set_manager(self, manager: JobManager | None) -> None:
        """Follow ``manager`` (polling starts) or nothing (polling stops)."""
        self.manager = manager
        if manager is None:
            self.timer.stop()
        else:
            self.timer.start()
        self._show_selected()

    @property
    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def select(self, job_id: str) -> None:
        """Show ``job_id`` (its progress, plot and buttons)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == job_id:
                self.list.setCurrentRow(row)
                return

    def poll(self) -> None:
        """Read what changed since the last poll and redraw; a job that starts is shown."""
        if self.manager is None:
            return
        if time.monotonic() - self._cluster_read_at >= CLUSTER_REFRESH_S:
            self.read_cluster()
        updates = self.manager.poll()
        if not updates:
            return
        started = None
        for job_id, update in updates.items():
            before = self.jobs.get(job_id)
            info = self.manager.info(job_id)
            self.jobs[job_id] = info
            if before is None or (before.state.is_terminal and info.state in ACTIVE_STATES):
                started = job_id
            for key, payload in update.snapshots.items():
                self.snapshot.emit(job_id, key, payload)
            if update.state.is_terminal:
                self.finished.emit(job_id, info)
        self._sync_list()
        if started is not None:
            self.select(started)
        self._show_selected()
        self._report_activity()

    def read_cluster(self) -> None:
        """Read what the connected cluster has free, on a thread (the line follows when it answers);
        hide the line when no job runs or waits on a cluster, or this process is connected to none."""
        address = cluster.connected_address()
        if address is None or not any(job.cluster is not None and job.state in ACTIVE_STATES for job in self.jobs.values()):
            self.cluster_line.hide()
            return
        if self._cluster_task is not None and not self._cluster_task.done:
            return
        self._cluster_read_at = time.monotonic()
        self._cluster_task = self._cluster_reader.start(
            f"Reading the Ray cluster at {address}", lambda progress: cluster.status(address), self._show_cluster,
            self._show_cluster_error)

    def _show_cluster(self, status: cluster.ClusterStatus) -> None:
        self.cluster_line.setText(f"Ray cluster {status.address}: {status.summary()}")
        self.cluster_line.setStyleSheet("")
        self.cluster_line.show()

    def _show_cluster_error(self, message: str) -> None:
        self.cluster_line.setText(message)
        self.cluster_line.setStyleSheet("color: #d33;")
        self.cluster_line.show()

    def _report_activity(self) -> None:
        text = activity_text(list(self.jobs.values()))
        if text != self._activity:
            self._activity = text
            self.activity.emit(text)

    def _sync_list(self) -> None:
        selected = self.selected_id
        self.list.blockSignals(True)
        self.list.clear()
        mixed = any(job.cluster is not None for job in self.jobs.values())  # else all run here: no need to say
        for job in self.jobs.values():
            steps = f" {job.step}/{job.total}" if job.total else ""
            where = f"\n    on {job.where}" if mixed else ""
            item = QListWidgetItem(f"{job.engine} ({job.id}) — {job.state.value}{steps}{where}")
            item.setToolTip(f"Runs on {job.where}")
            item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.list.addItem(item)
            if job.id == selected:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.jobs:
            active = [i for i, j in enumerate(self.jobs.values()) if j.state in ACTIVE_STATES]
            self.list.setCurrentRow(active[0] if active else len(self.jobs) - 1)
        self.list.blockSignals(False)

    def _show_selected(self) -> None:
        job = self.jobs.get(self.selected_id or "")
        for button in self.buttons.values():
            button.setEnabled(False)
        self.plot.clear()
        self._list_metrics([] if job is None else list(job.metrics))
        if job is None:
            self.progress.setValue(0)
            self.progress.setFormat("No job")
            return
        self.buttons["pause"].setEnabled(job.state is JobState.RUNNING)
        self.buttons["resume"].setEnabled(
            job.state is JobState.PAUSED
            or (job.state in (JobState.CANCELLED, JobState.FAILED) and job.checkpoint_step is not None)
        )
        self.buttons["cancel"].setEnabled(job.state in ACTIVE_STATES)
        self.buttons["open"].setEnabled(job.result is not None and bool(job.result.paths))
        self.progress.setValue(int(job.fraction * 1000))
        self.progress.setFormat(progress_text(job))
        name = self.metric.currentText()
        if name in job.metrics:
            steps, values = zip(*job.metrics[name]) if job.metrics[name] else ((), ())
            pen = pg.mkPen(_PEN_COLOURS[list(job.metrics).index(name) % len(_PEN_COLOURS)], width=2)
            self.plot.plot(list(steps), list(values), pen=pen, name=name)
        self.plot.setLabel("left", name)

    def _list_metrics(self, names: list[str]) -> None:
        """Offer ``names`` in the metric box, keeping the choice when the job still has it."""
        if names == [self.metric.itemText(i) for i in range(self.metric.count())]:
            return
        chosen = self.metric.currentText()
        self.metric.blockSignals(True)
        self.metric.clear()
        self.metric.addItems(names)
        self.metric.setCurrentIndex(names.index(chosen) if chosen in names else 0)
        self.metric.blockSignals(False)
        self.metric.setEnabled(bool(names))

    def act(self, action: str) -> None:
        """Pause, resume, cancel or open the selected job's result."""
        job = self.jobs.get(self.selected_id or "")
        if job is None or self.manager is None:
            return
        if action == "open":
            self.show_result.emit(job.id)
            return
        try:
            getattr(self.manager, action)(job.id)
        except ValueError:  # the job changed state meanwhile: the next poll shows it
            pass
        self.poll()
