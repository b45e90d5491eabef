"""One engine run in a terminal: a progress bar on stderr, Ctrl-C cancels and leaves a checkpoint.

``atelier4d generate`` parses its arguments and calls :func:`run_foreground`; the run happens in a
worker process through the same :class:`JobManager` the GUI uses, so both behave alike.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TextIO

from engines.runtime.context import WorkerSettings
from engines.runtime.events import JobState, Log, Preparing
from engines.runtime.manager import JobInfo, JobManager, RuntimeOptions

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130  # 130 = 128 + SIGINT, the shell's convention
_BAR_WIDTH = 24


def run_foreground(
    engine: str,
    config: Any = None,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    device: str = "cpu",
    cluster: str | None = None,
    options: RuntimeOptions | None = None,
    settings: WorkerSettings | None = None,
    stream: TextIO = sys.stderr,
    resume_hint: str = "run the same command with --resume",
) -> int:
    """Run ``engine`` with ``config`` until it ends; returns a process exit code.

    0: finished; 1: failed (the last line, ``atelier4d: error: ...``, says why and what is left to
    resume from); 130: cancelled by Ctrl-C (SIGINT), after the engine saved a checkpoint
    into ``run_dir`` when it could (the message says how to resume). ``settings`` go to the
    worker; ``cluster`` is the address of a Ray cluster to run on (None: this machine). Call it
    from the main thread.
    """
    wake = threading.Event()
    interrupted = threading.Event()
    with ctrl_c_held(interrupted):  # before the worker starts: no moment of the run without it
        manager = JobManager(options, on_update=wake.set)
        try:
            job = manager.submit(engine, config, run_dir=run_dir, device=device, resume=resume, settings=settings,
                                 cluster=cluster)
            bar = _ProgressBar(engine, stream)
            state, preparing, cancelled = JobState.QUEUED, "", False
            while not state.is_terminal:
                wake.wait(0.25)
                wake.clear()
                if interrupted.is_set() and not cancelled:
                    manager.cancel(job)
                    cancelled = True
                for update in manager.poll().values():
                    state = update.state
                    for event in update.events:
                        if isinstance(event, Log):
                            bar.line(f"[{event.level}] {event.text}")
                        elif isinstance(event, Preparing) and event.text != preparing:
                            preparing = event.text  # one line per stage, not per fraction
                            bar.line(f"{event.text}…")
                bar.draw(manager.info(job))
            info = manager.info(job)
        finally:
            manager.shutdown()
    bar.line(_summary(info, resume_hint))
    if info.state is JobState.FINISHED:
        return EXIT_OK
    return EXIT_INTERRUPTED if interrupted.is_set() else EXIT_FAILED


@contextmanager
def ctrl_c_held(interrupted: threading.Event) -> Iterator[None]:
    """For the run, Ctrl-C (SIGINT) only sets ``interrupted`` (from the main thread; elsewhere Python
    raises KeyboardInterrupt in the main thread as usual). Installed before the worker starts, so no
    moment of the run is without it; the flag may be set while this thread holds the manager's lock,
    so the handler does nothing else."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class TerminalLine:
    """One status line on a stream: redrawn in place on a terminal, printed as a line of its own
    otherwise; other lines are printed above it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.tty = stream.isatty()
        self._open = False  # a status line without its newline is on screen

    def show(self, text: str) -> None:
        if self.tty:
            self._stream.write("\r\x1b[2K" + text)
            self._open = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def line(self, text: str) -> None:
        """Print ``text`` on a line of its own, above the status line."""
        self._stream.write(("\r\x1b[2K" if self._open else "") + text + "\n")
        self._stream.flush()
        self._open = False

    def close(self) -> None:
        """End a status line left open on a terminal."""
        if self._open:
            self._stream.write("\n")
            self._open = False


class _ProgressBar(TerminalLine):
    """A one-line bar redrawn in place on a terminal, printed every few seconds otherwise."""

    def __init__(self, label: str, stream: TextIO) -> None:
        super().__init__(stream)
        self._label = label
        self._interval = 0.1 if self.tty else 2.0
        self._drawn_at = 0.0
        self._last_step: int | None = None

    def draw(self, info: JobInfo) -> None:
        now = time.monotonic()
        if now - self._drawn_at < self._interval or info.step == self._last_step or info.total <= 0:
            return
        self._drawn_at, self._last_step = now, info.step
        filled = int(_BAR_WIDTH * info.fraction)
        text = f"{self._label} [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {info.step}/{info.total}"
        if info.steps_per_s is not None and info.step < info.total:
            text += f"  {info.steps_per_s:.1f} steps/s  ETA {_clock(info.eta_s)}"
        if info.metrics:
            name, points = next(iter(info.metrics.items()))
            text += f"  {name} {points[-1][1]:.4g}"
        self.show(text)


def _summary(info: JobInfo, resume_hint: str) -> str:
    if info.state is JobState.FINISHED:
        paths = ", ".join(info.result.paths) if info.result and info.result.paths else "no files"
        return f"finished after {info.step} steps: {paths}"
    where = f"stopped at step {info.step}"
    if info.checkpoint_step is None:
        where += "; no checkpoint was saved, so it cannot be resumed"
    else:
        where += f"; checkpoint at step {info.checkpoint_step} in {info.run_dir}. To continue, {resume_hint}."
    if info.state is JobState.FAILED:  # one line says it all: why, and what is left to continue from
        why = " ".join(info.error.message.split()) if info.error is not None else "the run failed"
        return f"atelier4d: error: {why} ({where})"
    return f"{info.state.value}, {where}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
