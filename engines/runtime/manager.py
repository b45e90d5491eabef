"""``JobManager``: a queue of engine runs, each in a worker process, one at a time per device.

The manager knows no Qt. A receiver thread of its own starts queued workers, drains their pipes,
copies the newest snapshot of each job out of shared memory, notices dead workers and enforces
cancel deadlines, so the consumer's calls never wait on a worker:

* a GUI calls :meth:`JobManager.poll` from a timer at frame rate: it returns, per job with news,
  the new events, the state, and the newest snapshot of each output key that got a new one (a
  dict swap under a lock);
* or it passes ``on_update``, called from the receiver thread whenever there is news, and emits a
  Qt signal from it; the CLI uses the same hook to wake its progress bar.

Workers are started with the "spawn" method (safe with torch, CUDA and Qt). A worker that dies
without reporting an outcome (killed, segfault) becomes a :class:`Failed` event; the last snapshot
stays, and :meth:`JobManager.resume` restarts the run from its checkpoint in a new worker.

Workers stay warm: after a job, a worker waits ``keep_warm_s`` for the next job on its device,
with its imports and the models it loaded (:mod:`engines.models.warm`), so a second run with the
same model starts at once. A warm worker is idle, not busy: it holds no device slot, and it is
told to exit when a job needs its device under another name, when the manager shuts down, or
when its wait runs out. Killing, cancelling and resuming work as with a fresh worker.

A job submitted with ``cluster=ADDRESS`` runs on a Ray cluster instead: its "process" is a
:class:`engines.runtime.remote.RemoteWorker`, a proxy with a process's sentinel, pipes and kill,
so everything above holds for it; the cluster runs as many jobs at once on a device as it has
room for (GPUs for CUDA jobs, CPUs otherwise; known once its first job was placed), and its idle
actors stay warm like local workers.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import multiprocessing
import signal
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

from engines.registry import config_from_dict, config_to_dict, find_engine
from engines.runtime.checkpoint import checkpoint_step
from engines.runtime.context import WorkerSettings
from engines.runtime.events import MAIN, Checkpointed, Event, Failed, JobState, Preparing, Progress, Result
from engines.runtime.remote import Detached, HeldSnapshots, Placed, RemoteWorker
from engines.runtime.stream import SnapshotReader, SnapshotReady, make_stream_dir, remove_stream_dir
from engines.runtime.worker import JobEnded, StateReport, WorkerSpec, worker_main

_MP = multiprocessing.get_context("spawn")
_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"
if _QUIET_TRACKER not in sys.warnoptions:
    # multiprocessing's resource tracker (started with this interpreter's -W options) removes the
    # semaphores a killed worker left (tqdm's lock); its warning about them, printed as the command
    # ends, below the line saying the worker was killed, is not the artist's business.
    sys.warnoptions.append(_QUIET_TRACKER)
_KILL_AFTER_TERMINATE_S = 0.3
_RATE_WINDOW_S = 10.0
LOCAL = "this machine"
_WARM_MARGIN_S = 2.0  # a warm worker this close to the end of its wait is not given a job (it may be exiting)


@dataclass
class _Worker:
    """A worker process between jobs: its pipes, its device, and until when it waits warm."""

    process: Any
    events: Connection
    control: Connection
    device: str
    warm_until: float  # time.monotonic(); -inf: exiting
    cluster: str | None = None  # the Ray cluster its actor runs on; None: a process on this machine
    owner: str | None = None  # the owner of a detached actor (a batch's), which only its jobs reuse


@dataclass(frozen=True)
class RuntimeOptions:
    """How the runtime runs a job (not engine settings): the manager's apply to every job that
    is not submitted with its own."""

    checkpoint_every: int = 100
    """Steps between periodic checkpoints (0: none by steps)."""
    checkpoint_every_s: float = 60.0
    """Seconds between periodic checkpoints (0: none by time); with both, whichever comes first."""
    snapshot_rate_hz: float = 10.0
    """Most snapshots a second shipped to the consumer (0: none)."""
    snapshot_budget: float | None = 0.05
    """Largest share of the engine's time that building and writing snapshots may take (None: no
    limit, snapshots come at ``snapshot_rate_hz`` whatever they cost, as benches/streaming.py needs)."""
    cancel_grace_s: float = 0.5
    """How long a cancelled worker may take to reach a step boundary before it is terminated."""
    max_backlog: int = 256
    """Unsent events above which a worker drops its oldest Progress events."""
    keep_warm_s: float = 300.0
    """How long a worker waits, with its loaded models, for the next job on its device (0: it ends
    after its job)."""

    def __post_init__(self) -> None:
        budget_ok = self.snapshot_budget is None or 0 < self.snapshot_budget <= 1
        valid_times = self.checkpoint_every_s >= 0 and self.keep_warm_s >= 0
        if self.snapshot_rate_hz < 0 or not budget_ok or self.max_backlog < 1 or not valid_times:
            raise ValueError(f"RuntimeOptions: invalid values in {self}")


@dataclass(frozen=True)
class JobUpdate:
    """What happened to a job since the last :meth:`JobManager.poll`."""

    state: JobState
    events: list[Event]
    snapshots: dict[str, Any]  # output key -> its newest payload, for the keys that got a new one

    @property
    def snapshot(self) -> Any | None:
        """The new payload of the main output, if one arrived."""
        return self.snapshots.get(MAIN)


@dataclass(frozen=True)
class JobInfo:
    """A copy of everything known about a job, safe to keep."""

    id: str
    engine: str
    device: str
    run_dir: str | None
    state: JobState
    step: int
    total: int
    steps_per_s: float | None  # recent step rate while running
    metrics: dict[str, list[tuple[int, float]]]  # name -> (step, value) history, for the loss plot
    snapshots: dict[str, Any]  # output key -> the newest payload received, kept after a crash
    result: Result | None
    error: Failed | None
    checkpoint_step: int | None  # the step a resume would start after; None: not resumable
    pid: int | None
    preparing: Preparing | None = None  # the latest report of the preparing phase
    cluster: str | None = None  # the Ray cluster's address, for a job sent to one
    where: str = LOCAL  # where it runs, in words: "this machine", or the cluster, node and GPU

    @property
    def snapshot(self) -> Any | None:
        """The newest payload of the main output."""
        return self.snapshots.get(MAIN)

    @property
    def fraction(self) -> float:
        """Of the steps while running; of the preparing phase while preparing (0 when unknown)."""
        if self.state is JobState.PREPARING:
            return (self.preparing.fraction or 0.0) if self.preparing else 0.0
        return self.step / self.total if self.total > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the recent step rate; None when unknown."""
        return (self.total - self.step) / self.steps_per_s if self.steps_per_s else None


class _Job:
    """The manager's mutable record of a job (guarded by the manager's lock)."""

    def __init__(self, job_id: str, engine: str, module: str, config: dict[str, Any], run_dir: str | None,
                 device: str, resume: bool, options: RuntimeOptions, settings: WorkerSettings,
                 cluster: str | None, detached: Detached | None) -> None:
        self.id, self.engine, self.module, self.config = job_id, engine, module, config
        self.run_dir, self.device, self.resume, self.cluster = run_dir, device, resume, cluster
        self.detached = detached
        self.where = LOCAL if cluster is None else cluster
        self.options, self.settings = options, settings
        self.state = JobState.QUEUED
        self.process: Any = None
        self.events: Connection | None = None
        self.control: Connection | None = None
        self.reader: SnapshotReader | HeldSnapshots | None = None
        self.outcome: JobState | None = None  # the final state the worker reported
        self.ended = False  # the worker sent everything of this job (it may run the next one)
        self.reused = False  # the job went to a warm worker
        self.cancel_deadline = self.kill_deadline = float("inf")
        self.step = self.total = 0
        self.rate_window: deque[tuple[float, int]] = deque()
        self.metrics: dict[str, list[tuple[int, float]]] = {}
        self.snapshots: dict[str, Any] = {}
        self.new_snapshots: set[str] = set()
        self.preparing: Preparing | None = None
        self.result: Result | None = None
        self.error: Failed | None = None
        self.checkpoint_step = checkpoint_step(run_dir) if resume else None
        self.news: list[Event] = []
        self.dirty = True
        self.removed = False

    @property
    def owner(self) -> str | None:
        """The owner of the job's detached actor (its batch), whose warm actors only its jobs reuse."""
        return self.detached.owner if self.detached is not None else None

    def set_state(self, state: JobState) -> None:
        self.state, self.dirty = state, True

    def send(self, command: str) -> None:
        if self.control is None:
            return
        try:
            self.control.send(command)
        except OSError:  # the worker just died: the receiver thread reports it
            pass

    def steps_per_s(self) -> float | None:
        """Step rate over the last few seconds of the current worker."""
        if len(self.rate_window) < 2 or self.state is not JobState.RUNNING:
            return None
        (t0, s0), (t1, s1) = self.rate_window[0], self.rate_window[-1]
        return (s1 - s0) / (t1 - t0) if s1 > s0 and t1 > t0 else None


class JobManager:
    """Runs engine jobs in worker processes: submit, pause, resume, cancel, remove, poll."""

    def __init__(self, options: RuntimeOptions | None = None, on_update: Callable[[], None] | None = None) -> None:
        self.options = options or RuntimeOptions()
        self._on_update = on_update
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._idle: list[_Worker] = []  # workers between jobs: warm, or on their way out
        self._cluster_slots: dict[tuple[str, str], int] = {}  # (cluster, device) -> jobs it can run at once
        self._ids = itertools.count(1)
        self._stopping = False
        self._wake_r, self._wake_w = _MP.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._receive_loop, name="atelier4d-jobs", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    # ----------------------------------------------------------------- consumer API
    def submit(self, engine: str, config: Any = None, *, run_dir: str | Path | None = None, device: str = "cpu",
               resume: bool = False, options: RuntimeOptions | None = None,
               settings: WorkerSettings | None = None, cluster: str | None = None,
               detached: Detached | None = None) -> str:
        """Queue a run of ``engine`` with ``config`` (its dataclass, a dict, or None for defaults).

        The config is checked here, so a typo raises now. ``resume=True`` continues from the
        checkpoint in ``run_dir``. ``options`` replace the manager's for this job; ``settings``
        go to its worker (defaults: none). ``cluster``: the address of a Ray cluster to run it on
        (:mod:`engines.runtime.remote`; ``device`` is then a device of the node); None: this
        machine. ``detached`` (with ``cluster``): the job's actor outlives this process, or, with
        its ``actor`` named, the job is taken up from that running actor. Returns the job's id.
        """
        entry = find_engine(engine)
        if not dataclasses.is_dataclass(config):
            config = config_from_dict(entry.config_cls, config or {})
        run_dir = str(run_dir) if run_dir is not None else None
        if resume and checkpoint_step(run_dir) is None:
            raise ValueError(f"cannot resume: no checkpoint in {run_dir}")
        with self._lock:
            if self._stopping:
                raise RuntimeError("JobManager: submit after shutdown")
            job = _Job(f"job-{next(self._ids)}", engine, entry.module, config_to_dict(config), run_dir, device, resume,
                       options or self.options, settings or WorkerSettings(), cluster, detached)
            self._jobs[job.id] = job
        self._wake()
        return job.id

    def pause(self, job_id: str) -> None:
        """Stop stepping the engine at its next step boundary, after it saved a checkpoint."""
        with self._lock:
            job = self._job(job_id)
            if job.state not in (JobState.STARTING, JobState.PREPARING, JobState.RUNNING):
                raise ValueError(f"{job_id} is {job.state.value}; only a running job can pause")
            job.send("pause")

    def resume(self, job_id: str) -> None:
        """Continue a paused job, or restart a cancelled or failed one from its checkpoint."""
        with self._lock:
            job = self._job(job_id)
            if job.state is JobState.PAUSED:
                job.send("resume")
                return
            step = checkpoint_step(job.run_dir)
            if job.state not in (JobState.CANCELLED, JobState.FAILED) or step is None:
                raise ValueError(f"{job_id} is {job.state.value} and has no checkpoint; it cannot resume")
            job.resume, job.checkpoint_step, job.outcome, job.error, job.result = True, step, None, None, None
            job.metrics = {name: [p for p in points if p[0] <= step] for name, points in job.metrics.items()}
            job.set_state(JobState.QUEUED)
        self._wake()

    def cancel(self, job_id: str) -> None:
        """Stop a job: a queued one at once, a running one at its next step boundary (leaving a
        checkpoint) or, after ``cancel_grace_s``, by terminating its worker."""
        with self._lock:
            self._cancel(self._job(job_id))
        self._wake()

    def remove(self, job_id: str) -> None:
        """Forget a job, cancelling it first if it runs (its worker is still reaped)."""
        with self._lock:
            job = self._job(job_id)
            self._cancel(job)
            job.removed = True
            if job.process is None:
                del self._jobs[job_id]
        self._wake()

    def poll(self) -> dict[str, JobUpdate]:
        """News since the last call, per job: never blocks on a worker."""
        updates = {}
        with self._lock:
            for job in self._jobs.values():
                if job.removed or not (job.dirty or job.news or job.new_snapshots):
                    continue
                updates[job.id] = JobUpdate(job.state, job.news, {key: job.snapshots[key] for key in job.new_snapshots})
                job.news, job.new_snapshots, job.dirty = [], set(), False
        return updates

    def info(self, job_id: str) -> JobInfo:
        with self._lock:
            job = self._job(job_id)
            return JobInfo(
                job.id, job.engine, job.device, job.run_dir, job.state, job.step, job.total, job.steps_per_s(),
                {name: list(points) for name, points in job.metrics.items()}, dict(job.snapshots), job.result,
                job.error, job.checkpoint_step, job.process.pid if job.process is not None else None, job.preparing,
                job.cluster, job.where,
            )

    def job_ids(self) -> list[str]:
        with self._lock:
            return [job.id for job in self._jobs.values() if not job.removed]

    def wait(self, job_id: str, timeout: float | None = None) -> JobState:
        """Block until the job is cancelled, finished or failed (or ``timeout``); its state."""
        with self._changed:
            self._changed.wait_for(lambda: self._job(job_id).state.is_terminal, timeout)
            return self._job(job_id).state

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every job, wait for the workers to end (killing laggards), free shared memory."""
        atexit.unregister(self.shutdown)
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            for job in self._jobs.values():
                self._cancel(job)
            self._retire_idle()
        self._wake()
        self._thread.join(timeout)
        with self._lock:
            for job in list(self._jobs.values()):
                if job.process is not None:
                    job.process.kill()
                    self._reap(job)
            for worker in list(self._idle):
                worker.process.kill()
                self._drop_idle(worker)
        if not self._thread.is_alive():
            self._wake_r.close()
            self._wake_w.close()

    # ----------------------------------------------------------------- internals
    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None or job.removed:
            raise KeyError(f"no job {job_id!r}")
        return job

    def _cancel(self, job: _Job) -> None:
        if job.state is JobState.QUEUED:
            job.set_state(JobState.CANCELLED)
        elif job.state.holds_device and job.state is not JobState.CANCELLING:
            job.set_state(JobState.CANCELLING)
            job.cancel_deadline = time.monotonic() + job.options.cancel_grace_s
            job.send("cancel")

    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"")
        except OSError:  # shut down
            pass

    def _receive_loop(self) -> None:
        while True:
            with self._lock:
                live = [job for job in self._jobs.values() if job.process is not None]
                if self._stopping and not live and not self._idle:
                    return
                waitables: dict[Any, _Job] = {job.process.sentinel: job for job in live}
                waitables.update({job.events: job for job in live if job.events is not None})
                idle = {worker.process.sentinel: worker for worker in self._idle}
            stopping = any(job.state is JobState.CANCELLING for job in live)
            ready = wait([self._wake_r, *waitables, *idle], timeout=0.05 if stopping else 0.5)
            news = False
            for source in ready:
                if source is self._wake_r:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                elif isinstance(source, Connection):
                    news |= self._receive(waitables[source])
            ended = [job for job in live if job.process is not None and job.process.sentinel in ready]
            for job in ended:
                if job.events is not None:
                    self._receive(job)  # what the worker sent before it ended
            with self._lock:
                for job in ended:
                    self._reap(job)
                for job in live:
                    if job.ended and job.process is not None:
                        self._release(job)
                        news = True
                for sentinel in ready:
                    if sentinel in idle:
                        self._drop_idle(idle[sentinel])
                self._retire_idle()
                news |= bool(ended)
                self._enforce_deadlines(live)
                self._start_queued()
                news |= any(job.dirty for job in self._jobs.values())
                if news:
                    self._changed.notify_all()
            if news and self._on_update is not None:
                self._on_update()

    def _start_queued(self) -> None:
        if self._stopping:
            return
        busy = [job.device for job in self._jobs.values() if job.process is not None and job.cluster is None]
        on_clusters = Counter((job.cluster, job.device) for job in self._jobs.values()
                                          if job.process is not None and job.cluster is not None)
        for job in self._jobs.values():
            if job.state is not JobState.QUEUED:
                continue
            if job.cluster is None:
                if any(may_share(job.device, device) for device in busy):
                    continue
                busy.append(job.device)
            else:
                if on_clusters[job.cluster, job.device] >= self._cluster_slots.get((job.cluster, job.device), 1):
                    continue  # as many as the cluster has room for (known once its first job was placed)
                on_clusters[job.cluster, job.device] += 1
            options = job.options
            local = job.cluster is None
            stream_dir = make_stream_dir() if options.snapshot_rate_hz > 0 and local else None  # a proxy holds a cluster job's
            spec = WorkerSpec(
                job.engine, job.module, job.config, job.run_dir, job.device, job.resume, options.checkpoint_every,
                options.snapshot_rate_hz, options.snapshot_budget, stream_dir and str(stream_dir), options.max_backlog,
                options.checkpoint_every_s, job.settings, options.keep_warm_s, job.detached,
            )
            warm = self._warm_worker(job.device, job.cluster, job.owner) if job.detached is None or not job.detached.actor else None
            job.reused = warm is not None
            if warm is not None:
                job.process, job.events, job.control = warm.process, warm.events, warm.control
                job.send(spec)
            else:
                events_r, events_w = _MP.Pipe(duplex=False)
                control_r, control_w = _MP.Pipe(duplex=False)
                if job.cluster is None:
                    self._retire_idle(sharing=job.device)  # a warm worker elsewhere on this device frees its memory
                    job.process = _MP.Process(target=worker_main, args=(spec, events_w, control_r), name=f"atelier4d-{job.id}")
                    job.process.start()
                    events_w.close()  # the worker has its own copies
                    control_r.close()
                else:
                    job.process = RemoteWorker(job.cluster, spec, events_w, control_r)  # keeps these ends
                    job.process.start()
                job.events, job.control = events_r, control_w
            job.ended, job.outcome = False, None
            if local:
                job.reader = SnapshotReader(stream_dir) if stream_dir is not None else None
            else:
                job.reader = job.process.snapshots
            job.rate_window.clear()
            job.preparing = None
            job.cancel_deadline = job.kill_deadline = float("inf")
            job.set_state(JobState.STARTING)

    def _warm_worker(self, device: str, cluster: str | None, owner: str | None) -> _Worker | None:
        """An idle worker on exactly ``device`` (of ``cluster``, for ``owner``) with time left in its wait, taken from the pool."""
        now = time.monotonic()
        for worker in self._idle:
            same = worker.device == device and worker.cluster == cluster and worker.owner == owner
            if same and worker.warm_until - _WARM_MARGIN_S > now and worker.process.is_alive():
                self._idle.remove(worker)
                return worker
        return None

    def _retire_idle(self, sharing: str | None = None) -> None:
        """Tell idle workers to exit: all when stopping, else those that may share device ``sharing``."""
        for worker in self._idle:
            local = worker.cluster is None
            if worker.warm_until > float("-inf") and (self._stopping or (local and sharing is not None and may_share(sharing, worker.device))):
                worker.warm_until = float("-inf")
                try:
                    worker.control.send("exit")
                except OSError:  # exiting already
                    pass

    def _release(self, job: _Job) -> None:
        """The worker sent everything of ``job``: settle the job and keep the worker warm (it
        ends by itself if it was not asked to wait)."""
        worker = _Worker(job.process, job.events, job.control, job.device, time.monotonic() + job.options.keep_warm_s,
                         job.cluster, job.owner)
        if job.options.keep_warm_s <= 0:
            worker.warm_until = float("-inf")
        self._idle.append(worker)
        job.process = job.events = job.control = None
        self._settle(job, job.outcome or JobState.FAILED)

    def _drop_idle(self, worker: _Worker) -> None:
        """An idle worker ended (its wait ran out, it was told to, or it was killed)."""
        self._idle.remove(worker)
        worker.process.join(1.0)
        for connection in (worker.events, worker.control):
            if connection is not None:  # None: the worker's end closed as its job ended
                connection.close()
        if worker.process.exitcode is not None:
            worker.process.close()

    def _receive(self, job: _Job) -> bool:
        """Drain ``job``'s pipe; read the newest snapshot of each key outside the lock. Whether anything came."""
        messages = []
        try:
            while job.events.poll():
                messages.append(job.events.recv())
        except (EOFError, OSError):
            job.events = None  # the worker is gone; its sentinel fires next
        newest = {m.key: m for m in messages if isinstance(m, SnapshotReady)}
        payloads = {key: job.reader.read(notice) for key, notice in newest.items()}  # notices imply a reader
        with self._lock:
            for message in messages:
                self._apply(job, message)
            for key, payload in payloads.items():
                if payload is not None:
                    job.snapshots[key] = payload
                    job.new_snapshots.add(key)
        return bool(messages)

    def _apply(self, job: _Job, message: Any) -> None:
        if isinstance(message, SnapshotReady):
            return
        if isinstance(message, JobEnded):
            job.ended = True
            return
        if isinstance(message, Placed):
            job.where, job.dirty = message.where, True
            self._cluster_slots[job.cluster, job.device] = message.slots
            return
        if isinstance(message, StateReport):
            if message.state.is_terminal:
                job.outcome = message.state
            elif job.state is not JobState.CANCELLING:
                job.set_state(message.state)
            return
        if isinstance(message, Progress):
            job.step, job.total = message.step, message.total
            job.rate_window.append((message.elapsed_s, message.step))
            while message.elapsed_s - job.rate_window[0][0] > _RATE_WINDOW_S:
                job.rate_window.popleft()
            for name, value in message.metrics.items():
                job.metrics.setdefault(name, []).append((message.step, float(value)))
        elif isinstance(message, Preparing):
            job.preparing = message
        elif isinstance(message, Checkpointed):
            job.checkpoint_step = message.step
        elif isinstance(message, Result):
            job.result = message
        elif isinstance(message, Failed):
            job.error = message
        job.news.append(message)

    def _reap(self, job: _Job) -> None:
        """The worker ended (its pipe drained): settle the job's final state, free its pipes and
        shared memory."""
        if job.process is None:  # reaped already (by shutdown, after a stuck receiver thread)
            return
        job.process.join(1.0)
        exitcode = job.process.exitcode
        if job.outcome is not None:
            state = job.outcome
        elif job.state is JobState.CANCELLING:
            state = JobState.CANCELLED
        elif job.reused and job.state is JobState.STARTING and exitcode == 0:
            state = JobState.QUEUED  # the warm worker ended its wait as the job reached it: start it afresh
        else:
            state = JobState.FAILED
            job.error = Failed(_exit_message(exitcode))
            job.news.append(job.error)
        for connection in (job.events, job.control):
            if connection is not None:
                connection.close()
        if exitcode is not None:
            job.process.close()
        job.process = job.events = job.control = None
        self._settle(job, state)

    def _settle(self, job: _Job, state: JobState) -> None:
        """``job`` holds no worker any more: free its shared memory and set its final state."""
        if isinstance(job.reader, SnapshotReader):
            job.reader.close()
            remove_stream_dir(job.reader.folder)
        job.reader = None
        job.set_state(state)
        if job.removed and state is not JobState.QUEUED:
            del self._jobs[job.id]

    def _enforce_deadlines(self, live: list[_Job]) -> None:
        now = time.monotonic()
        for job in live:
            if job.process is None:
                continue
            if now >= job.kill_deadline:
                job.process.kill()
            elif now >= job.cancel_deadline:
                job.process.terminate()
                job.cancel_deadline, job.kill_deadline = float("inf"), now + _KILL_AFTER_TERMINATE_S


def _exit_message(exitcode: int | None) -> str:
    """Why a worker ended without reporting, in words."""
    if exitcode is None or exitcode >= 0:
        return f"the worker process exited unexpectedly (exit code {exitcode})"
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "unknown signal"
    if name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"):
        return f"the worker process crashed (signal {number}, {name})"
    hint = "; if nobody killed it, the system may have run out of memory" if name == "SIGKILL" else ""
    return f"the worker process was killed (signal {number}, {name}){hint}"


def may_share(a: str, b: str) -> bool:
    """Whether jobs on devices ``a`` and ``b`` may land on the same device: the same name, or either
    is "auto" (which the worker resolves, so the manager cannot tell where it will run)."""
    return a == b or "auto" in (a, b)
