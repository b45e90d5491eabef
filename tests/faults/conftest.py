"""Helpers of the fault-injection tests: the real ``atelier4d`` command in a child process, where a
fault (a full disk, a signal) can hit it as it would hit an artist's run."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

CLI = Path(sys.executable).parent / "atelier4d"
"""The installed console script (what an artist runs)."""
KILLS = int(os.environ.get("A4D_FAULT_KILLS", "1"))
"""Random moments each command is killed at (``benches/faults.py`` raises it)."""
KILL_SEED = os.environ.get("A4D_FAULT_SEED", "0")
"""The seed of those moments: the same in every CI run, another for a campaign."""


def _child_setup(rlimit_fsize: int | None) -> None:
    """In the child before it runs: its own session (a signal to the group reaches its workers, as a
    terminal's Ctrl-C does) and, with ``rlimit_fsize``, a disk that is full after that many bytes a
    file (SIGXFSZ ignored, so a write past it fails with EFBIG as on a full disk instead of killing)."""
    os.setsid()
    if rlimit_fsize is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (rlimit_fsize, rlimit_fsize))


def start_cli(
    args: Sequence[str | os.PathLike], rlimit_fsize: int | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen:
    """``atelier4d ARGS`` started in a session of its own, stdout and stderr piped as text; ``env``
    adds to (or overrides) this process's environment."""
    return subprocess.Popen(
        [str(CLI), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, preexec_fn=lambda: _child_setup(rlimit_fsize),
    )


def run_cli(
    args: Sequence[str | os.PathLike], rlimit_fsize: int | None = None, env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> tuple[int, str, str]:
    """Run ``atelier4d ARGS`` to its end in a child process: (exit status, stdout, stderr)."""
    process = start_cli(args, rlimit_fsize, env)
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        end_group(process)
    return process.returncode, out, err


def end_group(process: subprocess.Popen) -> None:
    """SIGKILL what is left of ``process``'s session (its workers, an ffmpeg) and reap ``process``."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
