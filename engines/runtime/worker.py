"""The worker process: runs one engine generator, streams its events, obeys pause and cancel.

Three threads, so the engine never waits on anyone:

* the main thread checks the run's paths (:mod:`engines.runtime.checks`), then steps the engine's
  generator; after each ``yield`` it hands the event to the publisher (a non-blocking append) and
  reads the control state (an attribute);
* the publisher thread sends events through the pipe and writes snapshots into the shared slots at
  most ``snapshot_rate_hz`` times a second (an engine's :class:`LiveArrays`, which it asked for,
  are copied into a slot on the engine's thread at once: one copy, no payload built), and less often when building and writing a snapshot
  would cost the engine more than ``snapshot_budget`` of its time (None: no budget); when the
  consumer is slow it drops the oldest Progress events, never other events;
* the control thread receives "pause", "resume" and "cancel" from the consumer and raises the
  checkpoint request of :class:`RunContext`; when the consumer's end of the pipe closes (it died) it
  cancels the run and ends the process a few seconds later at the latest, so no worker outlives it.

A run is PREPARING (path checks, then whatever the engine reports with :class:`Preparing` events
while it loads models) until the engine yields its first event that is neither Preparing nor Log;
then it is RUNNING. A cancel during preparing takes effect at the next Preparing event, or by the
consumer terminating the worker when the engine is stuck in a long load.

Pause and cancel take effect at a step boundary, which is a :class:`Progress` event: the first one
after the engine acknowledged the checkpoint request (it saves before its next ``yield``), so the
reported step and the saved one agree; or at the latest after one more :class:`Progress` (after the
first one, for an engine that never asks for checkpoints). The consumer terminates a
worker that does not stop in time after a cancel.

The last message a worker sends is a :class:`StateReport` with its outcome; a worker whose pipe
ends without one crashed or was killed.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import signal
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Iterator

from engines.models.errors import ModelError
from engines.registry import config_from_dict, engine_names, find_engine
from engines.runtime.checkpoint import Checkpoint, load_checkpoint
from engines.runtime.checks import path_problems
from engines.runtime.context import Cancelled, RunContext, WorkerSettings
from engines.runtime.events import Checkpointed, Event, Failed, JobState, Log, Preparing, Progress, Snapshot
from engines.runtime.stream import LiveArrays, SnapshotWriter, check_payload
from scene.io.errors import FormatError

_ORPHAN_GRACE_S = 3.0
_INHERITED_OFFLINE = os.environ.get("HF_HUB_OFFLINE")  # the user's own setting, kept across jobs


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs, sent to it once at start."""

    engine: str
    module: str  # imported by the worker to register the engine
    config: dict[str, Any]
    run_dir: str | None
    device: str
    resume: bool
    checkpoint_every: int
    snapshot_rate_hz: float
    snapshot_budget: float | None  # None: no budget
    stream_dir: str | None
    max_backlog: int
    checkpoint_every_s: float = 0.0
    settings: WorkerSettings = WorkerSettings()
    keep_warm_s: float = 0.0  # how long the worker waits for another job after this one (0: it ends)
    detached: Any = None  # a cluster job whose actor outlives the consumer: its :class:`engines.runtime.remote.Detached`


@dataclass(frozen=True)
class JobEnded:
    """Everything of the current job was sent; the worker now waits warm for the next, or ends."""


@dataclass(frozen=True)
class StateReport:
    """The worker's state changed (running, paused, or its final outcome)."""

    state: JobState


class _Publisher:
    """Sends events and snapshots from a thread of its own; the engine's calls never block."""

    def __init__(self, conn: Any, writer: Any, spec: WorkerSpec) -> None:
        self._conn = conn
        self._writer = writer
        self._min_interval = 1.0 / spec.snapshot_rate_hz if spec.snapshot_rate_hz > 0 else float("inf")
        self._budget = spec.snapshot_budget
        self._max_backlog = spec.max_backlog
        self._cond = threading.Condition()
        self._outbox: deque[Any] = deque()
        self._pending: dict[str, Any] = {}  # the newest snapshot not yet written, per key
        self._due = 0.0  # time.monotonic() from which the next snapshot may be written
        self._asked_at: float | None = None
        self._build_s = 0.0  # what building the last snapshot cost the engine
        self._cost_s: float | None = None  # smoothed cost of a snapshot: building plus writing
        self._closing = False
        self._write_lock = threading.Lock()  # the writer is used by this thread and the engine's (LiveArrays)
        self._thread = threading.Thread(target=self._loop, name="atelier4d-publisher", daemon=True)
        self._thread.start()

    def send(self, message: Any) -> None:
        with self._cond:
            if isinstance(message, Progress) and len(self._outbox) >= self._max_backlog:
                stale = next((m for m in self._outbox if isinstance(m, Progress)), None)
                if stale is not None:
                    self._outbox.remove(stale)
            self._outbox.append(message)
            self._cond.notify()

    def wants_snapshot(self) -> bool:
        now = time.monotonic()
        if self._writer is None or self._pending or now < self._due:
            return False
        self._asked_at = now
        return True

    def offer_snapshot(self, snapshot: Snapshot) -> None:
        check_payload(snapshot.payload)  # raises in the engine's thread, so the run fails with the reason
        if self._writer is None:
            return
        payload, asked = snapshot.payload, self._asked_at is not None
        if asked:
            self._build_s, self._asked_at = time.monotonic() - self._asked_at, None
        if isinstance(payload, LiveArrays):
            if asked:  # due, and nothing pending: copy the live arrays into a slot now, on this thread
                for message in self._write({snapshot.key: payload}):
                    self.send(message)
                return
            payload = payload.payload()  # offered unasked (e.g. the last one): a copy, written in turn
        with self._cond:
            self._pending[snapshot.key] = payload
            self._cond.notify()

    def _write(self, snapshots: dict[str, Any]) -> list[Any]:
        """Write snapshots into shared memory; the notices to send (or a warning if that failed)."""
        started = time.monotonic()
        try:
            with self._write_lock:
                notices = [self._writer.write(key, payload) for key, payload in snapshots.items()]
        except OSError as exc:  # e.g. /dev/shm is full: the run goes on without snapshots
            self._writer = None
            return [Log(f"snapshots stopped: {exc}", "warning")]
        cost = time.monotonic() - started + self._build_s
        self._cost_s = cost if self._cost_s is None else 0.7 * self._cost_s + 0.3 * cost  # first writes fault pages in
        budgeted = self._cost_s / self._budget if self._budget is not None else 0.0
        # Paced from the last due time, not from this write, so snapshots taken at step boundaries keep
        # the rate on average; never closer than half an interval after falling behind (e.g. a pause).
        paced = max(self._due + self._min_interval, started + self._min_interval / 2)
        self._due = max(paced, started + budgeted)
        return notices

    def close(self) -> None:
        """Send what is left (the newest snapshot included), then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    snapshot_ready = bool(self._pending) and (now >= self._due or self._closing)
                    if self._outbox or snapshot_ready or self._closing:
                        break
                    self._cond.wait(self._due - now if self._pending else None)
                messages = list(self._outbox)
                self._outbox.clear()
                snapshots, self._pending = (self._pending, {}) if snapshot_ready else ({}, self._pending)
                done = self._closing and not self._pending
            if snapshots:
                messages += self._write(snapshots)
            try:
                for message in messages:
                    self._conn.send(message)
            except OSError:  # the consumer is gone; the control thread ends the process
                return
            if done:
                return


class _Control:
    """Receives control messages: commands for the current job ("pause", "resume", "cancel") and,
    while the worker waits warm between jobs, the next job's :class:`WorkerSpec`.

    ``wanted`` is "run", "pause" or "cancel" (cancel is final for the job). It runs from the
    worker's first moment, so a dead consumer ends even a worker that is still importing; the run's
    context is attached once the engine is about to start. Commands that arrive between jobs were
    meant for the job that just ended and are dropped.
    """

    def __init__(self, conn: Any) -> None:
        self.wanted = "run"
        self._conn = conn
        self._ctx: RunContext | None = None
        self._in_job = True
        self._next: WorkerSpec | None = None
        self._closed = False
        self._cond = threading.Condition()
        threading.Thread(target=self._loop, name="atelier4d-control", daemon=True).start()

    def attach(self, ctx: RunContext) -> None:
        with self._cond:
            self._ctx = ctx
            if self.wanted == "cancel":
                ctx.request_cancel()
            elif self.wanted == "pause":
                ctx.request_checkpoint()

    def wait_while_paused(self) -> str:
        with self._cond:
            self._cond.wait_for(lambda: self.wanted != "pause")
            return self.wanted

    def next_job(self, keep_warm_s: float) -> WorkerSpec | None:
        """Wait warm up to ``keep_warm_s`` for the next job; None: end the worker (timed out, told
        to, or the consumer is gone)."""
        with self._cond:
            self._in_job, self._ctx = False, None
            self._cond.wait_for(lambda: self._next is not None or self._closed, keep_warm_s)
            spec, self._next = self._next, None
            if spec is not None:
                self.wanted, self._in_job = "run", True
            return spec

    def _loop(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                with self._cond:
                    self._closed, self.wanted = True, "cancel"
                    if self._ctx is not None:
                        self._ctx.request_cancel()
                    self._cond.notify_all()
                threading.Timer(_ORPHAN_GRACE_S, os._exit, (1,)).start()
                return
            with self._cond:
                if isinstance(message, WorkerSpec):
                    self._next = message
                elif message == "exit":
                    self._closed = True
                elif not self._in_job:
                    pass  # for the job that just ended
                elif message == "resume" and self.wanted == "pause":
                    self.wanted = "run"
                    if self._ctx is not None:
                        self._ctx.clear_request()
                elif message in ("pause", "cancel") and self.wanted != "cancel":
                    self.wanted = message
                    if self._ctx is not None:
                        self._ctx.request_cancel() if message == "cancel" else self._ctx.request_checkpoint()
                self._cond.notify_all()


class _Clock:
    """Run time without the paused stretches."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._paused_at: float | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def pause(self) -> None:
        self._paused_at = time.monotonic()

    def resume(self) -> None:
        self._start += time.monotonic() - self._paused_at


def worker_main(spec: WorkerSpec, events: Connection, control: Connection) -> None:
    """Entry point of the worker process: :func:`serve` with snapshots written into the shared
    slots of each job's stream folder."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the consumer's to handle
    serve(spec, events, control, lambda job: SnapshotWriter(Path(job.stream_dir)) if job.stream_dir else None)


def serve(spec: WorkerSpec, events: Any, control: Any, snapshot_writer: Callable[[WorkerSpec], Any]) -> None:
    """Run ``spec``'s job, then, kept warm (its imports and loaded models with it), each job the
    consumer sends next, until none comes within ``spec.keep_warm_s``.

    ``events`` and ``control`` are the two ends of the consumer's pipes, or objects with their
    ``send``/``recv``; ``snapshot_writer`` gives the writer of a job's snapshots (a
    :class:`SnapshotWriter`, or anything with its ``write``/``close``), None for no snapshots."""
    controller = _Control(control)
    while spec is not None:
        _run_job(spec, events, controller, snapshot_writer(spec))
        events.send(JobEnded())
        spec = controller.next_job(spec.keep_warm_s) if spec.keep_warm_s > 0 else None


def _run_job(spec: WorkerSpec, events: Any, controller: "_Control", writer: Any) -> None:
    """One job, from its checks to its outcome; every message of it sent before this returns."""
    if spec.settings.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"  # read by Hugging Face libraries when an engine imports them
    elif _INHERITED_OFFLINE is None:
        os.environ.pop("HF_HUB_OFFLINE", None)  # a warm worker's previous job may have set it
    publisher = _Publisher(events, writer, spec)
    outcome = JobState.FAILED
    try:
        if spec.engine not in engine_names():
            importlib.import_module(spec.module)
        entry = find_engine(spec.engine)
        config = config_from_dict(entry.config_cls, spec.config)
        publisher.send(StateReport(JobState.PREPARING))
        publisher.send(Preparing(0.0, "checking inputs and outputs"))
        problems = path_problems(config)
        if problems:
            publisher.send(Failed("; ".join(f"{key}: {problem}" for key, problem in problems.items())))
        elif controller.wanted == "cancel":
            outcome = JobState.CANCELLED
        else:
            outcome = _run(entry, config, spec, controller, publisher)
    except Cancelled:  # during a long load or download
        outcome = JobState.CANCELLED
    except (ModelError, FormatError) as exc:  # the message says it all (a file's path and why): no traceback
        publisher.send(Failed(str(exc)))
        outcome = JobState.FAILED
    except BaseException as exc:  # everything becomes a Failed event
        publisher.send(Failed(_describe(exc), traceback.format_exc()))
        outcome = JobState.FAILED
    publisher.send(StateReport(outcome))
    publisher.close()  # waits for a slow consumer; a dead one makes the control thread end us
    if writer is not None:
        writer.close()


def _run(entry: Any, config: Any, spec: WorkerSpec, controller: "_Control", publisher: _Publisher) -> JobState:
    """Run the engine from its checkpoint or from the start; the outcome."""
    resume = _resume_checkpoint(spec) if spec.resume else None
    ctx = RunContext(
        spec.run_dir,
        spec.device,
        engine=spec.engine,
        config=spec.config,
        checkpoint_every=spec.checkpoint_every,
        checkpoint_every_s=spec.checkpoint_every_s,
        resume=resume,
        settings=spec.settings,
        wants_snapshot=publisher.wants_snapshot,
        on_checkpoint=lambda step: publisher.send(Checkpointed(step)),
        on_log=lambda text, level: publisher.send(Log(text, level)),
        on_preparing=lambda fraction, text: publisher.send(Preparing(fraction, text)),
    )
    controller.attach(ctx)
    if resume is not None:
        publisher.send(Log(f"resuming from the checkpoint at step {resume.step}"))
    generator = entry.run(config, ctx)
    try:
        return _drive(generator, ctx, controller, publisher)
    finally:
        generator.close()


def _drive(generator: Iterator[Event], ctx: RunContext, control: _Control, publisher: _Publisher) -> JobState:
    """Step ``generator`` until it ends (FINISHED) or a cancel takes effect (CANCELLED)."""
    clock = _Clock()
    preparing = True
    boundaries = 0  # Progress events since the pending pause or cancel request
    for event in generator:
        if preparing and not isinstance(event, (Preparing, Log)):
            preparing = False
            publisher.send(StateReport(JobState.RUNNING))
        if isinstance(event, Snapshot):
            publisher.offer_snapshot(event)
        elif isinstance(event, Progress):
            publisher.send(dataclasses.replace(event, elapsed_s=clock.elapsed()))
            boundaries += 1
        else:
            publisher.send(event)
        wanted = control.wanted
        if wanted == "run":
            boundaries = 0
            continue
        if preparing and wanted == "cancel" and isinstance(event, Preparing):
            return JobState.CANCELLED  # no step done: nothing to checkpoint
        if not isinstance(event, Progress):
            continue  # a step ends with its Progress; stopping earlier would hide the step just saved
        if not (ctx.request_acknowledged or boundaries >= (2 if ctx.engine_checkpoints else 1)):
            continue
        if wanted == "pause":
            publisher.send(StateReport(JobState.PAUSED))
            clock.pause()
            wanted = control.wait_while_paused()
            clock.resume()
            if wanted == "run":
                publisher.send(StateReport(JobState.RUNNING))
                boundaries = 0
                continue
        return JobState.CANCELLED
    return JobState.FINISHED


def _resume_checkpoint(spec: WorkerSpec) -> Checkpoint:
    checkpoint = load_checkpoint(spec.run_dir) if spec.run_dir else None
    if checkpoint is None:
        raise FileNotFoundError(f"cannot resume: no checkpoint in {spec.run_dir}")
    if checkpoint.engine != spec.engine:
        raise ValueError(f"cannot resume: the checkpoint in {spec.run_dir} is from engine {checkpoint.engine!r}")
    return checkpoint


def _describe(exc: BaseException) -> str:
    """A one-line message for the user; out-of-memory errors say so plainly."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":  # torch's is no MemoryError
        return f"the engine ran out of memory ({detail})"
    return detail
