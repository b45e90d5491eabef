"""Jobs on a Ray cluster: an actor runs the worker loop there, a proxy here stands in for its process.

:class:`EngineHost` is the Ray actor: it runs the same :func:`engines.runtime.worker.serve` as a
local worker process, on a thread of its own, with in-memory mailboxes for the two pipes, and keeps
only the newest snapshot of each output key (latest wins, as the shared slots do locally). It asks
for the resources of its job's device (a GPU for CUDA jobs), and between jobs it waits warm with its
loaded models like a local worker: the manager reuses it for the next job on that device.

:class:`RemoteWorker` is what :class:`engines.runtime.manager.JobManager` holds instead of a worker
process: it has a process's sentinel, ``kill`` and exit code, and a thread of its own that connects
to the cluster, places the actor, sends each job's inputs along (:mod:`engines.runtime.job_files`),
forwards pause, resume and cancel, and long-polls the actor for its events. The newest snapshot of
each key is held by the proxy (:class:`HeldSnapshots`) and announced as a local worker announces
one in its slots, so the manager reads both alike; every checkpoint the actor saves is copied into
the job's run folder here at once (a lost node loses nothing a resume needs, and the resume may run
on any node); results are written where the artist asked, together. A job may be :class:`Detached`
(a batch's): its actor outlives this process, and a later one takes the job up (:func:`running_jobs`). An actor that dies (``ray.kill``, a lost node) ends its
job as Failed, naming where it ran.

Ray is imported only by these threads and the actor, never when this module is imported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engines.registry import find_engine
from engines.runtime.checkpoint import checkpoint_files, put_checkpoint_files
from engines.runtime.cluster import ClusterError, connect, placement
from engines.runtime.events import Checkpointed, Failed, JobState, Log, Preparing, Result
from engines.runtime.job_files import JobBundle, PathMap, pack, unpack
from engines.runtime.stream import LiveArrays, SnapshotReady
from engines.runtime.worker import JobEnded, StateReport, WorkerSpec, serve
from scene.io.atomic import atomic_outputs
from scene.io.errors import FormatError
from scene.kinds import kind_named, kind_of

_POLL_S = 0.1  # longest wait of one receive call on the actor
UNCOLLECTED_S = 1800.0
"""How long a detached actor whose jobs ended keeps their results (and its GPU) for a consumer to
collect them; then it exits, and a rerun resumes from the checkpoint that came back."""
_ACTOR_PREFIX = "atelier4d"
_KILLED = -signal.SIGKILL


@dataclass(frozen=True)
class Placed:
    """Where the cluster placed a job, in words (node, GPU), and how many jobs on its device the
    cluster can run at once (sent by the proxy to the manager)."""

    where: str
    slots: int


@dataclass(frozen=True)
class Detached:
    """A cluster job whose actor outlives this process (a batch's, so that closing the terminal loses
    nothing): ``owner`` (the batch) and ``key`` (the job in it) find it again with :func:`running_jobs`;
    ``actor`` names the running actor to take the job up from, instead of starting it."""

    owner: str
    key: str
    actor: str | None = None


@dataclass(frozen=True)
class _Snapshots:
    """The newest payload of each output key that got one, in Ray's object store, with its notice (from the actor)."""

    payloads: dict[str, tuple[SnapshotReady, Any]]


@dataclass(frozen=True)
class _WithFiles:
    """An event and the files that come back with it: the result's (the studio machine's path ->
    bytes), or a checkpoint's (file name -> bytes)."""

    event: Any
    files: dict[str, bytes]


class _Mailbox:
    """One direction of a pipe between threads: ``send`` never blocks, ``recv`` waits for one
    message (EOFError once closed and empty), ``take`` for all that came within a timeout."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def send(self, message: Any) -> None:
        with self._cond:
            self._items.append(message)
            self._cond.notify_all()

    def recv(self) -> Any:
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed)
            if not self._items:
                raise EOFError
            return self._items.popleft()

    def take(self, timeout: float) -> list[Any]:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._items), timeout)
            items = list(self._items)
            self._items.clear()
            return items

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _LatestSnapshots:
    """The snapshot writer of the actor: puts each payload into Ray's object store on the engine's
    thread (one copy, as a local worker's slot write; the engine's snapshot budget counts it, and the
    actor's other threads then only hand over references) and keeps the newest of each key until
    it is taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}
        self._seq = 0

    def write(self, key: str, payload: Any) -> SnapshotReady:
        import ray

        if isinstance(payload, LiveArrays):  # copied once, by ray.put, from views of the live arrays
            kind, stored = payload.kind, ray.put(LiveArrays(payload.kind, payload.numpy()))
        else:
            kind, stored = kind_of(payload).name, ray.put(payload)
        with self._lock:
            self._seq += 1
            self._latest[key] = stored
            return SnapshotReady(key, kind, "", self._seq, ())

    def take(self, key: str) -> Any | None:
        with self._lock:
            return self._latest.pop(key, None)

    def close(self) -> None:
        """Nothing to free: payloads go with the next receive."""


class HeldSnapshots:
    """The proxy's side: the newest payload of each key that came back, until the manager reads it
    (as it reads a local worker's slots: :meth:`read` a notice, latest wins)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}

    def put(self, key: str, payload: Any) -> None:
        with self._lock:
            self._latest[key] = payload

    def read(self, notice: SnapshotReady) -> Any | None:
        """The newest payload of the notice's key, once (None: taken already by an earlier notice)."""
        with self._lock:
            payload = self._latest.pop(notice.key, None)
        if isinstance(payload, LiveArrays):  # arrays that came from the object store: nobody else holds them
            payload = kind_named(payload.kind).from_arrays(dict(payload.arrays))
        return payload

    def clear(self) -> None:
        with self._lock:
            self._latest.clear()


class EngineHost:
    """The Ray actor of a worker: jobs run by :func:`serve` in a folder of their own on this node."""

    def __init__(self) -> None:
        self._events, self._control = _Mailbox(), _Mailbox()
        self._snapshots = _LatestSnapshots()
        self._root = Path(tempfile.mkdtemp(prefix="atelier4d-jobs-"))
        self._thread: threading.Thread | None = None
        self._job: tuple[Path, str | None, PathMap] | None = None  # folder, node run folder, map back
        self._key: str | None = None  # the consumer's key of the current (or last, uncollected) job
        self._received_at = time.monotonic()
        threading.Thread(target=self._exit_when_uncollected, name="atelier4d-uncollected", daemon=True).start()

    def where(self) -> str:
        """The node and the GPUs this actor holds, in words."""
        import ray

        gpus = ray.get_gpu_ids()
        return f"node {ray.util.get_node_ip_address()} · " + (f"GPU {','.join(map(str, gpus))}" if gpus else "CPU")

    def job_key(self) -> str | None:
        """The key of the job this actor runs (or ran, while its results wait to be collected)."""
        return self._key

    def start(self, spec: WorkerSpec, bundle: JobBundle) -> None:
        """Unpack a job's files and start it (the first job starts the worker loop; later ones
        reach it as a local warm worker's do)."""
        folder = Path(tempfile.mkdtemp(prefix="job-", dir=self._root))
        config, run_dir, paths = unpack(bundle, spec.config, folder)
        self._job = (folder, run_dir, paths)
        self._key = spec.detached.key if spec.detached is not None else None
        spec = replace(spec, config=config, run_dir=run_dir)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, args=(spec,), name="atelier4d-worker", daemon=True)
            self._thread.start()
        else:
            self._control.send(spec)

    def control(self, message: str) -> None:
        """"pause", "resume", "cancel" for the current job, "exit" between jobs."""
        self._control.send(message)

    def receive(self, timeout: float) -> tuple[list[Any], bool]:
        """The worker's messages of the last ``timeout`` seconds at most, with the payloads of new
        snapshots and the files of checkpoints and results; and whether the worker loop ended."""
        self._received_at = time.monotonic()
        ended = self._thread is not None and not self._thread.is_alive()
        messages = []
        for message in self._events.take(timeout):
            if isinstance(message, SnapshotReady):
                payload = self._snapshots.take(message.key)
                if payload is not None:  # None: an earlier notice's payload went already (latest wins)
                    messages.append(_Snapshots({message.key: (message, payload)}))
            elif isinstance(message, Checkpointed) and self._job is not None and self._job[1] is not None:
                messages.append(_WithFiles(message, checkpoint_files(self._job[1])))
            elif isinstance(message, Result) and self._job is not None:
                messages.append(self._result(message))
            elif isinstance(message, (Failed, Log, Preparing)) and self._job is not None:
                messages.append(_said_here(message, self._job[2]))
            else:
                if isinstance(message, JobEnded) and self._job is not None:
                    shutil.rmtree(self._job[0], ignore_errors=True)  # everything of it came back
                    self._job = None
                messages.append(message)
        if ended and not messages:  # everything was taken: nothing of the actor's jobs is needed on this node
            shutil.rmtree(self._root, ignore_errors=True)
            return [], True
        return messages, False

    def _result(self, result: Result) -> _WithFiles:
        """The result with its paths as they are on the studio's machine, and the files' bytes."""
        _, run_dir, paths = self._job
        local_run_dir = paths.places.get(str(run_dir)) if run_dir else None
        local = {}
        for path in result.paths:  # a file outside the job's folders goes to the run folder, if it has one
            place = paths.local(path) or (str(Path(local_run_dir) / Path(path).name) if local_run_dir else None)
            if place is not None:
                local[path] = place
        files = {local[path]: Path(path).read_bytes() for path in local if Path(path).is_file()}
        moved = replace(result, paths=list(local.values()),
                        outputs={key: local[path] for key, path in result.outputs.items() if path in local})
        return _WithFiles(moved, files)

    def _serve(self, spec: WorkerSpec) -> None:
        serve(spec, self._events, self._control, lambda job: self._snapshots if job.snapshot_rate_hz > 0 else None)

    def _exit_when_uncollected(self) -> None:
        """A detached actor is ended by its consumer; one whose consumer went away and whose worker loop
        ended exits after :data:`UNCOLLECTED_S` without a receive, so it does not hold its GPU for ever."""
        while True:
            time.sleep(5.0)
            ended = self._thread is not None and not self._thread.is_alive()
            if ended and time.monotonic() - self._received_at > UNCOLLECTED_S:
                shutil.rmtree(self._root, ignore_errors=True)
                os._exit(0)


def _write_all(files: dict[str, bytes]) -> None:
    """Write ``files`` (path -> bytes) together: all of them or none."""
    if files:
        with atomic_outputs(list(files)) as temps:
            for temp, data in zip(temps, files.values()):
                temp.write_bytes(data)


def _said_here(message: Failed | Log | Preparing, paths: PathMap) -> Any:
    """A message of the engine with the node's paths in it said as they are on the studio's machine."""
    if isinstance(message, Failed):
        return replace(message, message=paths.in_words(message.message),
                       traceback=message.traceback and paths.in_words(message.traceback))
    return replace(message, text=paths.in_words(message.text))


_host_class: Any = None


def _remote_host() -> Any:
    """:class:`EngineHost` as a Ray actor class (made once)."""
    global _host_class
    if _host_class is None:
        import ray

        _host_class = ray.remote(EngineHost)
    return _host_class


def running_jobs(address: str, owner: str) -> dict[str, str]:
    """The jobs of ``owner`` whose detached actors still run on the cluster at ``address`` (or hold
    their uncollected results): job key -> actor name. Actors of ``owner`` with no job are ended."""
    import ray

    connect(address)
    prefix = f"{_ACTOR_PREFIX}-{owner}-"
    found = {}
    for name in ray.util.list_named_actors():
        if not name.startswith(prefix):
            continue
        try:
            actor = ray.get_actor(name)
            key = ray.get(actor.job_key.remote(), timeout=30)
        except Exception:  # ended meanwhile, or not answering: not one to take up
            continue
        if key is None:
            ray.kill(actor, no_restart=True)
        else:
            found[key] = name
    return found


class RemoteWorker:
    """Stands in for a worker process whose worker runs as a Ray actor on the cluster at ``address``.

    The manager's side is the same as for a process: the two pipe ends it keeps, ``sentinel``
    (readable once the proxy ended), ``kill``/``terminate`` (which kill the actor), ``join``,
    ``is_alive``, ``exitcode`` and ``close``.
    """

    pid = None

    def __init__(self, address: str, spec: WorkerSpec, events: Connection, control: Connection) -> None:
        self.address = address
        self.exitcode: int | None = None
        self._spec = spec
        self._events, self._control = events, control
        self.sentinel, self._sentinel_w = os.pipe()
        self._killed = threading.Event()
        self._actor: Any = None
        self.snapshots = HeldSnapshots()  # what the manager reads this proxy's jobs' snapshots from
        self._thread = threading.Thread(target=self._run, name="atelier4d-remote", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def kill(self) -> None:
        self._killed.set()
        if self._actor is not None:
            import ray

            with contextlib.suppress(Exception):  # gone already
                ray.kill(self._actor, no_restart=True)

    terminate = kill

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.sentinel)

    # ----------------------------------------------------------------- the proxy's thread
    def _run(self) -> None:
        try:
            self.exitcode = self._serve()
        except Exception as exc:  # a failure of the proxy itself: the job still ends with a reason
            self._end_job(Failed(f"the cluster job failed here: {type(exc).__name__}: {exc}"))
            self.exitcode = 0
            self.kill()
        finally:
            for connection in (self._events, self._control):
                connection.close()
            os.close(self._sentinel_w)

    def _serve(self) -> int:
        """Connect, place the actor, then relay until the actor's worker loop ends; the exit code."""
        spec = self._spec
        self._send(StateReport(JobState.PREPARING))
        self._send(Preparing(None, f"connecting to the Ray cluster at {self.address}"))
        try:
            connect(self.address)
            options, capacity = placement(self.address, spec.device)
        except ClusterError as exc:
            self._end_job(Failed(str(exc)))
            return 0
        import ray

        detached = spec.detached
        try:
            self._actor = ray.get_actor(detached.actor) if detached is not None and detached.actor else None
        except ValueError:  # it ended since it was listed
            self._end_job(Failed(f"the job's worker on the Ray cluster at {self.address} ended before it was taken up; "
                                 "Resume continues from its last checkpoint"))
            return 0
        taking_up = self._actor is not None
        if not taking_up:
            if detached is not None:
                options.update(name=f"{_ACTOR_PREFIX}-{detached.owner}-{uuid.uuid4().hex[:12]}", lifetime="detached")
            self._actor = _remote_host().options(**options).remote()
        if self._killed.is_set():
            self.kill()
        self._send(Preparing(None, "waiting for room on the cluster"))
        where_ref = self._actor.where.remote()
        held: list[Any] = []  # control messages that came before the actor had its job
        while not ray.wait([where_ref], timeout=_POLL_S)[0]:
            if self._killed.is_set():
                return _KILLED
            held += self._control_messages()
            if "cancel" in held or None in held:
                self.kill()
                self._end_job(None, JobState.CANCELLED)
                return 0
        try:
            where = f"{self.address} · {ray.get(where_ref)}"
        except ray.exceptions.RayActorError:
            return _KILLED if self._killed.is_set() else self._lost(self.address)
        self._send(Placed(where, capacity))
        if taking_up:
            self._send(Log(f"taken up where it runs ({where})"))
        elif not self._start_job(spec):
            return 0
        for message in held:
            self._actor.control.remote(message)
        return self._relay(spec, where)

    def _relay(self, spec: WorkerSpec, where: str) -> int:
        import ray

        in_job = True
        while True:
            for message in self._control_messages():
                if message is None:  # the manager is gone
                    self.kill()
                    return 0
                if isinstance(message, WorkerSpec):
                    spec, in_job = message, True
                    self.snapshots.clear()  # the last job's, never read
                    if not self._start_job(spec):
                        return 0
                else:
                    self._actor.control.remote(message)
            try:
                messages, ended = ray.get(self._actor.receive.remote(_POLL_S))
            except ray.exceptions.RayActorError as exc:
                if self._killed.is_set():
                    return _KILLED
                return self._lost(where, exc) if in_job else 0
            for message in messages:
                if isinstance(message, _Snapshots):
                    for key, (notice, stored) in message.payloads.items():
                        with contextlib.suppress(ray.exceptions.RayError):  # lost with its actor: the job's end says so
                            self.snapshots.put(key, ray.get(stored))
                            self._send(notice)
                    continue
                if isinstance(message, _WithFiles):
                    message = self._files_back(message, spec)
                if isinstance(message, JobEnded):
                    in_job = False
                self._send(message)
            if ended:
                self.kill()
                return 0

    def _start_job(self, spec: WorkerSpec) -> bool:
        """Send ``spec``'s inputs and start it on the actor; False (the job failed, said) when its
        inputs cannot be read."""
        try:
            bundle = pack(find_engine(spec.engine).config_cls, spec.config, spec.run_dir, spec.resume)
        except (OSError, ValueError) as exc:
            self._end_job(Failed(f"the job's inputs cannot be sent to the cluster: {exc}"))
            self.kill()
            return False
        self._actor.start.remote(spec, bundle)
        return True

    def _files_back(self, message: _WithFiles, spec: WorkerSpec) -> Any:
        """Write what came back with an event on this machine; the event to pass on."""
        event = message.event
        if isinstance(event, Checkpointed):
            if message.files and spec.run_dir:
                put_checkpoint_files(spec.run_dir, message.files)
            return event
        try:
            _write_all(message.files)
        except (OSError, FormatError) as exc:  # the artist's folder went away during the run: keep it in the run folder
            if not spec.run_dir:
                return Failed(f"the result came back from the cluster but cannot be written here: {exc}")
            moved = {path: str(Path(spec.run_dir) / Path(path).name) for path in message.files}
            _write_all({moved[path]: data for path, data in message.files.items()})
            self._send(Log(f"{exc}; the result is in the run folder {spec.run_dir} instead", "warning"))
            event = replace(event, paths=[moved.get(p, p) for p in event.paths],
                            outputs={key: moved.get(p, p) for key, p in event.outputs.items()})
        return event

    def _lost(self, where: str, exc: BaseException | None = None) -> int:
        """The actor died with a job on it: the job fails, naming where it ran."""
        reason = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else "it was killed"
        self._end_job(Failed(f"the job's worker on the Ray cluster died ({where}): {reason}; "
                             "its last checkpoint is on this machine, Resume continues from it on any node"))
        return 0

    def _control_messages(self) -> list[Any]:
        """What the manager sent since the last call; None for a closed pipe (the manager is gone)."""
        messages = []
        try:
            while self._control.poll():
                messages.append(self._control.recv())
        except (EOFError, OSError):
            messages.append(None)
        return messages

    def _end_job(self, failed: Failed | None, state: JobState = JobState.FAILED) -> None:
        """End the current job here (the actor will not): its outcome, then the end of its messages."""
        for message in ([failed] if failed is not None else []) + [StateReport(state), JobEnded()]:
            self._send(message)

    def _send(self, message: Any) -> None:
        with contextlib.suppress(OSError):  # the manager is gone
            self._events.send(message)

