"""The worker runtime: engine runs in worker processes that stream events to a Qt-free consumer.

* :mod:`engines.runtime.events` — what a run reports (Preparing, Progress, Snapshot, Log,
  Checkpointed, Result, Failed) and the states of a job;
* :mod:`engines.runtime.context` — :class:`RunContext`, the engine's view of the runtime (the
  checkpoint protocol, outputs, :class:`WorkerSettings`);
* :mod:`engines.runtime.checks` — the checks of a run's input and output paths before its first step;
* :mod:`engines.runtime.checkpoint` — checkpoint files (npz/pt + JSON, no arbitrary pickle);
* :mod:`engines.runtime.stream` — snapshots of any payload kind through shared memory, latest wins per key;
* :mod:`engines.runtime.worker` — the worker process;
* :mod:`engines.runtime.manager` — :class:`JobManager`, the job queue the GUI polls;
* :mod:`engines.runtime.cluster` — the Ray cluster jobs may run on: the connection, what it has, the code it runs;
* :mod:`engines.runtime.remote` — a job's worker as a Ray actor there, and the proxy that stands in for it here;
* :mod:`engines.runtime.job_files` — the inputs that travel with a cluster job, the results and checkpoints that come back;
* :mod:`engines.runtime.foreground` — one job in a terminal, with a progress bar and Ctrl-C.

Engines themselves are registered in :mod:`engines.registry`.
"""

from engines.runtime.checkpoint import Checkpoint, checkpoint_step, discard_checkpoint, load_checkpoint
from engines.runtime.checks import path_problems
from engines.runtime.context import RunContext, WorkerSettings
from engines.runtime.events import (
    MAIN,
    Checkpointed,
    Event,
    Failed,
    JobState,
    Log,
    Preparing,
    Progress,
    Result,
    Snapshot,
    drain,
)
from engines.runtime.manager import JobInfo, JobManager, JobUpdate, RuntimeOptions

__all__ = [
    "MAIN",
    "Checkpoint",
    "Checkpointed",
    "Event",
    "Failed",
    "JobInfo",
    "JobManager",
    "JobState",
    "JobUpdate",
    "Log",
    "Preparing",
    "Progress",
    "Result",
    "RunContext",
    "RuntimeOptions",
    "Snapshot",
    "WorkerSettings",
    "checkpoint_step",
    "discard_checkpoint",
    "drain",
    "load_checkpoint",
    "path_problems",
]
