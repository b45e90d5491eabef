"""The worker runtime: engine runs in worker processes that stream events to a Qt-free consumer.

* :mod:`engines.runtime.events` — what a run reports (Progress, Snapshot, Log, Checkpointed,
  Result, Failed) and the states of a job;
* :mod:`engines.runtime.context` — :class:`RunContext`, the engine's view of the runtime, and the
  checkpoint protocol;
* :mod:`engines.runtime.checkpoint` — checkpoint files (npz/pt + JSON, no arbitrary pickle);
* :mod:`engines.runtime.stream` — snapshots through shared memory, latest wins;
* :mod:`engines.runtime.worker` — the worker process;
* :mod:`engines.runtime.manager` — :class:`JobManager`, the job queue the GUI polls;
* :mod:`engines.runtime.foreground` — one job in a terminal, with a progress bar and Ctrl-C.

Engines themselves are registered in :mod:`engines.registry`.
"""

from engines.runtime.checkpoint import Checkpoint, checkpoint_step, discard_checkpoint, load_checkpoint
from engines.runtime.context import RunContext
from engines.runtime.events import Checkpointed, Event, Failed, JobState, Log, Progress, Result, Snapshot
from engines.runtime.manager import JobInfo, JobManager, JobUpdate, RuntimeOptions

__all__ = [
    "Checkpoint",
    "Checkpointed",
    "Event",
    "Failed",
    "JobInfo",
    "JobManager",
    "JobState",
    "JobUpdate",
    "Log",
    "Progress",
    "Result",
    "RunContext",
    "RuntimeOptions",
    "Snapshot",
    "checkpoint_step",
    "discard_checkpoint",
    "load_checkpoint",
]
