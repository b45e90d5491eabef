"""What a run tells the outside world: small picklable events, and the states a job goes through.

An engine yields these from its ``run`` generator. They cross the process boundary through a pipe,
so they stay small: a :class:`Snapshot` is the one exception, and the runtime never pickles it but
copies its arrays into a shared buffer (see :mod:`engines.runtime.stream`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterator, Union


@dataclass(frozen=True)
class Progress:
    """Step ``step`` of ``total`` is done. ``metrics`` are scalars for the loss plot; the first one
    is the run's main metric. ``elapsed_s`` (run time without pauses) is filled in by the runtime.

    A Progress also marks a step boundary: the runtime pauses and cancels only there.
    """

    step: int
    total: int
    metrics: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0


MAIN = "main"
"""The key of a run's main output, the one snapshots and results have unless they name another."""


@dataclass(frozen=True)
class Preparing:
    """Work before the first step (checking inputs and outputs, loading or downloading models):
    ``fraction`` done (0-1; None when unknown) and what is happening, in words.

    A Preparing event is also a point where a cancel takes effect at once (no step was done, so
    there is nothing to checkpoint)."""

    fraction: float | None
    text: str


@dataclass(frozen=True)
class Snapshot:
    """The current state of output ``key``: any registered payload kind (``scene.kinds``), e.g. a
    ``scene.GaussianCloud`` under "main", then a ``scene.MeshAsset`` under "mesh".

    The consumer keeps the newest snapshot of each key. The payload must not change after it is
    yielded (payload kinds are immutable).
    """

    payload: Any
    key: str = MAIN


@dataclass(frozen=True)
class Log:
    """A line for the job's log. ``level`` is a ``logging`` level name: "info", "warning", "error"."""

    text: str
    level: str = "info"


@dataclass(frozen=True)
class Checkpointed:
    """The runtime saved a checkpoint at ``step`` into the run folder (sent by the runtime)."""

    step: int


@dataclass(frozen=True)
class Result:
    """The run finished; ``paths`` are the files it wrote, ``summary`` a few final numbers, and
    ``outputs`` the file written for each snapshot key (a subset of ``paths``)."""

    paths: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    """The run stopped on an error. ``traceback`` is the engine's, when there was one."""

    message: str
    traceback: str | None = None


Event = Union[Preparing, Progress, Snapshot, Log, Checkpointed, Result, Failed]


class JobState(str, enum.Enum):
    """The life of a job. Terminal states: cancelled, finished, failed."""

    QUEUED = "queued"  # waiting for its device
    STARTING = "starting"  # worker process launched, importing the engine
    PREPARING = "preparing"  # checking inputs and outputs, loading models: before the first step
    RUNNING = "running"
    PAUSED = "paused"  # worker alive, generator not stepped, checkpoint saved
    CANCELLING = "cancelling"  # asked to stop; stopped at the next step boundary or killed
    CANCELLED = "cancelled"
    FINISHED = "finished"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (JobState.CANCELLED, JobState.FINISHED, JobState.FAILED)

    @property
    def holds_device(self) -> bool:
        """Whether a worker process exists (and may hold device memory)."""
        return self in (JobState.STARTING, JobState.PREPARING, JobState.RUNNING, JobState.PAUSED, JobState.CANCELLING)


def drain(stage: Iterator[Event], events: list[Event] | None = None) -> Any:
    """Run an engine stage (a generator of events that returns a value, as ``grow_object`` does)
    in this thread to its end and return its value; its events go into ``events`` when given.
    For benches and tests that drive an optimization without a worker."""
    while True:
        try:
            event = next(stage)
        except StopIteration as stop:
            return stop.value
        if events is not None:
            events.append(event)
