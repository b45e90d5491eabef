"""``RunContext``: what an engine sees of the runtime while it runs.

Checkpoint protocol (the engine's side):

* After finishing each step, and before yielding that step's :class:`Progress`, the engine calls
  ``ctx.should_checkpoint(step)``. When it returns True the engine calls
  ``ctx.save_checkpoint(step, state)`` before its next ``yield``. ``state`` is a dict of numpy
  arrays, torch tensors and plain values (see :mod:`engines.runtime.checkpoint`).
* It returns True every ``checkpoint_every`` steps and every ``checkpoint_every_s`` seconds
  (runtime settings; 0 turns either off), and as soon as a pause or a cancel is pending, so those
  leave a checkpoint at the step where the run stopped.
* On start, ``ctx.resume_state`` is the state last saved (None for a fresh run) and
  ``ctx.resume_step`` its step (0 for a fresh run); the engine restores itself and goes on from the
  step after it.

Snapshots: ``ctx.wants_snapshot()`` says whether a :class:`Snapshot` yielded now would be shipped;
an engine uses it to skip building one (copying a cloud off the GPU costs time) when it would only be
dropped. Snapshots yielded anyway are fine: the newest one wins.

Outputs: ``ctx.save_output(write, path, default_name)`` writes a result where the config says, or
into the run folder, and when the config's place fails at the end (its folder was removed during
the run) keeps the result in the run folder and says where in the log.

Settings the engine needs from the user's preferences (model folders, cache, offline mode) are
``ctx.settings``, a :class:`WorkerSettings`.
"""

from __future__ import annotations

import contextlib
import dataclasses

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from engines.runtime.checkpoint import Checkpoint, save_checkpoint
from scene.io.atomic import staged_output


@dataclass(frozen=True)
class WorkerSettings:
    """The user's preferences an engine may need, sent to its worker explicitly (the GUI and the
    command line both fill them from the saved settings)."""

    model_folders: tuple[str, ...] = ()
    """Folders searched for model weights before downloading."""
    cache_folder: str = ""
    """Where downloads and derived files go ("": the engine's default)."""
    offline: bool = False
    """Never download: models must be in the model folders or the cache (the worker also sets
    ``HF_HUB_OFFLINE`` for Hugging Face libraries)."""
    model_choices: tuple[tuple[str, str], ...] = ()
    """(role, hub id or folder) the user chose instead of a role's default."""
    allow_pickle: tuple[str, ...] = ()
    """Roles whose models may load pickle weights (the user trusts where they came from)."""
    model_memory_gb: float = 16.0
    """How much memory a worker may keep warm models in between runs."""
    memory_savers: str = "none"
    """A :meth:`engines.models.placement.MemorySavers.preset`: "none", "8gb" or "4gb" (the GPU's size)."""

    def model_choice(self, role: str, default: str) -> str:
        """The hub id or folder to use for ``role``."""
        return dict(self.model_choices).get(role, default)


class Cancelled(Exception):
    """Raised inside a long call of an engine (a model download or load) when the run is cancelled;
    the run ends as cancelled, not failed."""


class RunContext:
    """The run folder, the device, resume state, and the checkpoint and snapshot hints."""

    def __init__(
        self,
        run_dir: str | Path | None = None,
        device: str = "cpu",
        *,
        engine: str = "",
        config: dict[str, Any] | None = None,
        checkpoint_every: int = 0,
        checkpoint_every_s: float = 0.0,
        resume: Checkpoint | None = None,
        settings: WorkerSettings = WorkerSettings(),
        wants_snapshot: Callable[[], bool] = lambda: True,
        on_checkpoint: Callable[[int], None] = lambda step: None,
        on_log: Callable[[str, str], None] = lambda text, level: None,
        on_preparing: Callable[[float | None, str], None] = lambda fraction, text: None,
    ) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        """Folder for the run's checkpoint and outputs (None: no checkpoints, outputs nowhere)."""
        self._device = device
        self.resume_state: dict[str, Any] | None = resume.state if resume else None
        self.resume_step = resume.step if resume else 0
        self._engine = engine
        self._config = config or {}
        self.settings = settings
        self._every = checkpoint_every
        self._every_s = checkpoint_every_s
        self._last_saved = self.resume_step
        self._last_saved_at = time.monotonic()
        self._wants_snapshot = wants_snapshot
        self._on_checkpoint = on_checkpoint
        self._on_log = on_log
        self._on_preparing = on_preparing
        self._cancelled = threading.Event()
        self._requested = threading.Event()
        self._acknowledged = threading.Event()
        self._asked = False

    # ----------------------------------------------------------------- the engine's side
    @property
    def device(self) -> str:
        """The torch device to run on. "auto" becomes "cuda" when torch sees a GPU, else "cpu";
        it is resolved on first read, so engines that never read it never import torch."""
        if self._device == "auto":
            import torch

            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    @property
    def checkpoint_requested(self) -> bool:
        """A pause or cancel is pending: the engine should save at its next step boundary."""
        return self._requested.is_set()

    def should_checkpoint(self, step: int) -> bool:
        """Whether to call :meth:`save_checkpoint` for ``step`` before the next ``yield``."""
        self._asked = True
        if self.run_dir is None:
            return False
        if self._requested.is_set():
            self._acknowledged.set()
            return True
        if self._every_s > 0 and time.monotonic() - self._last_saved_at >= self._every_s:
            return True
        return self._every > 0 and step - self._last_saved >= self._every

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Save ``state`` as the run's checkpoint at ``step`` (replacing the previous one)."""
        if self.run_dir is None:
            raise RuntimeError("save_checkpoint: this run has no run folder")
        save_checkpoint(self.run_dir, step, state, self._engine, self._config)
        self._last_saved, self._last_saved_at = step, time.monotonic()
        self._on_checkpoint(step)

    def wants_snapshot(self) -> bool:
        """Whether a Snapshot yielded now would be shipped to the consumer."""
        return self._wants_snapshot()

    def log(self, text: str, level: str = "info") -> None:
        """Send a line to the job's log from inside a call (where the engine cannot ``yield Log``)."""
        self._on_log(text, level)

    def model(self, role: str, *, source: str = "", dtype: str = "auto", savers: Any = None) -> Any:
        """The model for ``role`` (see :mod:`engines.models.roles`): ``source`` (a hub id or a
        folder, as a run's ``--model`` option gives it) or else the one the user chose, on this run's
        device, loaded as its real class: from this worker's warm models when a previous run
        loaded it, else fetched (downloading when allowed) and loaded, with the progress reported
        as the preparing phase. Raises :class:`engines.models.ModelError` with the message to
        show when it cannot be had, and :class:`Cancelled` when the run is cancelled meanwhile."""
        from engines.models.placement import MemorySavers, choose_placement
        from engines.models.warm import warm_model

        def progress(fraction: float | None, text: str) -> None:
            if self._cancelled.is_set():
                raise Cancelled(text)
            self._on_preparing(fraction, text)

        placement = choose_placement(self.device, dtype)
        savers = savers or MemorySavers.preset(self.settings.memory_savers)
        settings = self.settings
        if source:
            settings = dataclasses.replace(settings, model_choices=(*settings.model_choices, (role, source)))  # the last one wins
        return warm_model(role, settings, placement, savers, progress)

    def save_output(self, write: Callable[[Path], None], path: str | Path | None, default_name: str) -> Path | None:
        """Write one result: :meth:`save_outputs` of one :class:`Output`."""
        return self.save_outputs([Output(write, path, default_name)])[0]

    def save_outputs(self, outputs: Sequence[Output]) -> list[Path | None]:
        """Write results that go together (a scene and its camera path; an animation's project, frames
        and GLB), each to its ``path`` or to its ``default_name`` in the run folder when ``path`` is
        empty; the paths written (None: no path and no run folder).

        Each is staged beside its target and all are put in place only once every one is written
        (:mod:`scene.io.atomic`), so a failure midway leaves the earlier set whole. When the artist's
        paths fail (a folder went away during the run, the disk is full...), the set goes into the
        run folder under the same names instead and the log says where, so hours of work are not lost
        to a path checked before the first step. When the run folder fails too (the same full disk),
        the error raised is the one of the artist's path.
        """
        fallbacks = [None if self.run_dir is None else self.run_dir / (Path(o.path).name if o.path else o.default_name) for o in outputs]
        targets = [Path(o.path) if o.path else fallback for o, fallback in zip(outputs, fallbacks)]
        try:
            return _write_set(outputs, targets)
        except OSError as exc:
            if self.run_dir is None or targets == fallbacks:
                raise
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                written = _write_set(outputs, fallbacks)
            except OSError:
                raise exc from None  # the run folder failed too (the same full disk): say it of the artist's path
            saved = ", ".join(str(path) for path in written if path is not None)
            self.log(f"could not write {exc}; saved in the run folder instead: {saved}", "warning")
            return written

    # ----------------------------------------------------------------- the runtime's side
    def request_checkpoint(self) -> None:
        """Ask for a checkpoint at the next step boundary (on pause and cancel)."""
        self._acknowledged.clear()
        self._requested.set()

    def request_cancel(self) -> None:
        """The run is cancelled: checkpoint at the next step boundary, abort a long load."""
        self._cancelled.set()
        self.request_checkpoint()

    def clear_request(self) -> None:
        self._requested.clear()
        self._acknowledged.clear()

    @property
    def request_acknowledged(self) -> bool:
        """The engine was told to checkpoint since the last request (and saves before it yields)."""
        return self._acknowledged.is_set()

    @property
    def engine_checkpoints(self) -> bool:
        """Whether the engine has ever asked :meth:`should_checkpoint` (i.e. it supports them)."""
        return self._asked


@dataclass(frozen=True)
class Output:
    """A result an engine writes: ``write(target)`` makes it (a file or a folder) at ``target``;
    ``path`` is the artist's choice (empty: ``default_name`` in the run folder)."""

    write: Callable[[Path], None]
    path: str | Path | None
    default_name: str


def _write_set(outputs: Sequence[Output], targets: Sequence[Path | None]) -> list[Path | None]:
    """Write each output beside its target; put them all in place once every one is written, else none."""
    with contextlib.ExitStack() as staged:  # an error in any write rolls every one of them back
        for output, target in zip(outputs, targets):
            if target is not None:
                output.write(staged.enter_context(staged_output(target)))
    return list(targets)
