"""Leftovers of a killed run, and their removal by the next run once their owner is gone.

A run that is killed (SIGKILL, a crash, a power cut) cannot clean up: the ``.part`` file it was
writing stays beside its output, its stream folder stays in shared memory. So each such file or
folder is named with its owner's tag (:func:`owner_tag`, the process id and, where the system tells
it, the process's start time) and the next run removes those whose owner is gone
(:func:`remove_orphans`). The start time tells a live process that reused the id of a dead owner
from the owner itself; without it, a live process with that id is taken for the owner and its
leftovers are kept: a leftover may outlive its owner, a live run's files are never removed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

TAG = r"(?P<pid>\d+)(?:_(?P<start>\d+))?"
"""The regular expression of :func:`owner_tag`, for the patterns of leftovers' names."""

PART_NAME = re.compile(rf"\..+\.{TAG}\.[a-z0-9_]+\.part")
"""The name of a temp file beside an output: ``.NAME.TAG.RANDOM.part`` (:func:`part_prefix`)."""


_SWEPT: set[str] = set()  # folders this process has swept of leftover temp files


def _start_time(pid: int) -> tuple[int, bool]:
    """Linux: when process ``pid`` started (clock ticks since boot) and whether it is a zombie (ended,
    not yet reaped). FileNotFoundError: no such process; another OSError: no /proc to ask."""
    text = Path(f"/proc/{pid}/stat").read_text()  # FileNotFoundError: no such process
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return int(fields[19]), fields[0] in ("Z", "X")


def owner_tag() -> str:
    """This process as leftovers name their owner: ``PID_START`` (``PID`` where the start time is unknown)."""
    pid = os.getpid()
    try:
        start, _ = _start_time(pid)
    except (OSError, ValueError, IndexError):
        return str(pid)
    return f"{pid}_{start}"


def owner_gone(pid: int, start: int | None) -> bool:
    """Whether the process that wrote tag ``pid`` (and ``start``) has ended (a zombie has too). In
    doubt (no way to ask the system), it has not."""
    try:
        now, zombie = _start_time(pid)
        return zombie or (start is not None and now != start)
    except FileNotFoundError:
        if os.path.exists("/proc/self/stat"):
            return True  # /proc answers, and knows no such process
    except (OSError, ValueError, IndexError):
        pass
    # no /proc (macOS): only whether some process has the id
    if os.name != "posix":
        return False  # os.kill(pid, 0) would end the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    return False


def part_prefix(target: Path) -> str:
    """The start of the name of a temp file written for ``target`` (``tempfile`` adds the random part)."""
    return f".{target.name}.{owner_tag()}."


def remove_orphaned_parts(folder: Path) -> None:
    """Remove the temp files and folders that killed writers left in ``folder``: the first time this
    process writes there (a folder of many frames is not listed again for each)."""
    key = os.path.abspath(folder)
    if key not in _SWEPT:
        _SWEPT.add(key)
        remove_orphans(folder, PART_NAME)


def remove_orphans(folder: Path, name: re.Pattern[str]) -> list[Path]:
    """Remove the files and folders of ``folder`` (this user's) whose name fully matches ``name``
    (with the groups of :data:`TAG`) and whose owner is gone; the paths removed. Never raises: a
    leftover that cannot be removed stays for the next run."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = name.fullmatch(entry.name)
        if match is None:
            continue
        try:
            if hasattr(os, "getuid") and entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            start = match.group("start")
            if not owner_gone(int(match.group("pid")), None if start is None else int(start)):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed
