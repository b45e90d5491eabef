"""Atomic file output: write beside the target, then replace it, so a failure never leaves a
half-written file and never damages the file that was there before. Temp names carry their
writer's tag (:mod:`scene.io.leftovers`): those a killed run left are removed the first time a
later run writes into their folder.

A set of files (an OBJ with its material and texture) is written into temp names and renamed into
place only when every one is written (:func:`atomic_outputs`); a folder of files (PNG or PLY frames)
is written as a hidden sibling folder and swapped in whole (:func:`atomic_folder`), the old and new
folders exchanged in one step, so the folder's name never stands empty. Any failure of the
file system says, in one line, which of the user's files could not be written and why, never the
temp name (:class:`CannotWrite`, :func:`os_problem`).

Replacing follows ``mv``: a read-only file in a writable folder is replaced (keeping its
permissions), as the folder, not the file, decides who may rename there.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from scene.io.errors import FormatError
from scene.io.leftovers import part_prefix, remove_orphaned_parts


class CannotWrite(FormatError, OSError):
    """The file system refused a file (a full disk, no permission, a folder in the way): a FormatError
    naming the user's path, and still an OSError with its ``errno`` for code that then writes elsewhere
    (an engine saving its result in the run folder instead)."""

    def __init__(self, path: Path, problem: str, errno_: int | None) -> None:
        super().__init__(path, problem)
        self.errno, self.strerror, self.filename = errno_, problem, str(path)

    def __str__(self) -> str:
        return BaseException.__str__(self)  # "out.ply: the disk is full", not OSError's "[Errno 28] ..."


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was; a failure of the
    file system is raised as a :class:`FormatError` naming ``path``.
    """
    with atomic_outputs([path]) as (tmp,):
        yield tmp


@contextmanager
def atomic_outputs(paths: Sequence[str | os.PathLike], replacing: Sequence[Path] = ()) -> Iterator[list[Path]]:
    """Yield one temporary path per target (in its folder); when the block succeeds every target is
    replaced, otherwise none is and the temporaries are removed.

    Name the main file first: a file-system error that no single file explains is said of it.
    ``replacing`` are files the set replaces besides its targets (frames of an earlier, longer run):
    removed once every target is in place, and only then.
    """
    targets = [Path(p) for p in paths]
    for target in targets:
        _check_target(target)
    for folder in {_folder(target) for target in targets}:
        remove_orphaned_parts(folder)  # what a killed run left there
    temps: list[Path] = []
    try:
        for target in targets:
            fd, name = tempfile.mkstemp(prefix=part_prefix(target), suffix=".part", dir=_folder(target))
            os.close(fd)
            temps.append(Path(name))
        yield temps
        for tmp, target in zip(temps, targets):
            _sync(tmp)
            os.chmod(tmp, mode_for(target))  # mkstemp makes 0600 files; give the usual permissions
        for tmp, target in zip(temps, targets):  # renames in one folder: nothing left to fail on
            os.replace(tmp, target)
        for stale in set(map(Path, replacing)) - set(targets):
            stale.unlink(missing_ok=True)
    except BaseException as exc:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        _raise_in_users_terms(exc, dict(zip(temps, targets)), targets[0])


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``path``; when the block succeeds it replaces ``path``
    (the two exchanged in one step), otherwise it is removed: :func:`staged_output` of a folder,
    a file in the way refused before anything is written."""
    folder = Path(os.path.abspath(path))
    if folder.exists() and not folder.is_dir():
        raise CannotWrite(folder, "is a file; name a folder", errno.ENOTDIR)
    with staged_output(folder) as staging:
        staging.mkdir()
        yield staging


@contextmanager
def staged_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield ``path``'s own name inside a hidden folder beside it, for a writer that knows its output
    by its name (a format by its suffix) and may make a file or a folder: when the block succeeds,
    what it made there replaces ``path`` (a file renamed over it, a folder exchanged with it),
    otherwise it is removed. A set of these in one ``ExitStack`` appears together or not at all."""
    target = Path(os.path.abspath(path))
    if not target.parent.is_dir():
        raise CannotWrite(target, f"the folder {target.parent} does not exist", errno.ENOENT)
    staging: Path | None = None
    try:
        remove_orphaned_parts(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=part_prefix(target), suffix=".part", dir=target.parent))
        staged = staging / target.name
        yield staged
        if staged.is_dir():
            if target.exists() and not target.is_dir():
                raise CannotWrite(target, "is a file; name a folder", errno.ENOTDIR)
            os.chmod(staged, mode_for(target, 0o777))
            _swap_in(staged, target)
        else:
            _check_target(target)
            os.chmod(staged, mode_for(target))
            os.replace(staged, target)
    except BaseException as exc:
        _raise_in_users_terms(exc, {} if staging is None else {staging / target.name: target}, target)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def os_problem(exc: OSError, target: Path) -> str:
    """What a file-system error means for writing ``target``, in the artist's words."""
    folder = _folder(target)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if exc.errno == errno.EFBIG:
        return "the disk is full or the file is larger than this disk or account allows"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to write in {folder}"
    if exc.errno == errno.EISDIR:
        return "is a folder; name a file"
    if exc.errno == errno.EROFS:
        return f"{folder} is on a read-only disk"
    if exc.errno == errno.ENOENT:
        return f"the folder {folder} does not exist"
    return f"cannot be written ({exc.strerror or exc})"


def mode_for(target: Path, created: int = 0o666) -> int:
    """The replaced file's (or folder's) permissions, or what a new one would get under the umask
    (``created``: 0o666 for files, 0o777 for folders), since temp files are made private."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return created & ~umask


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _check_target(target: Path) -> None:
    """Refuse a target that cannot be a file before anything is written."""
    if not _folder(target).is_dir():
        raise CannotWrite(target, f"the folder {_folder(target)} does not exist", errno.ENOENT)
    if target.is_dir():
        raise CannotWrite(target, "is a folder; name a file", errno.EISDIR)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_in(staging: Path, folder: Path) -> None:
    """Put the finished ``staging`` folder where ``folder`` is, so that at every instant ``folder`` is the
    old folder or the new one: the two are exchanged in one step (:func:`_exchange`), then the old one,
    now under the staging name (a leftover the next run removes, should this one be killed), is removed.
    Where the system cannot exchange, the old folder is moved aside first (killed then, a run leaves
    it there: ``.NAME.*.old`` beside the missing folder)."""
    if not folder.exists():
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
    os.rename(folder, old / folder.name)
    try:
        os.rename(staging, folder)
    except BaseException:
        os.rename(old / folder.name, folder)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


_AT_FDCWD = -100  # Linux: paths relative to the working folder
_RENAME_EXCHANGE = 0x2  # Linux renameat2: swap the two names
_RENAME_SWAP = 0x2  # macOS renamex_np: the same
_CANNOT_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names of ``a`` and ``b`` (both existing) in one step: Linux's ``renameat2`` with
    ``RENAME_EXCHANGE``, macOS's ``renamex_np`` with ``RENAME_SWAP``. False where the system or the
    file system cannot (nothing changed then); an OSError for any other refusal."""
    libc = ctypes.CDLL(None, use_errno=True)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        done = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        done = libc.renamex_np(os.fsencode(a), os.fsencode(b), _RENAME_SWAP)
    else:
        return False
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in _CANNOT_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(b))


def _raise_in_users_terms(exc: BaseException, temps: dict[Path, Path], main: Path) -> None:
    """Raise ``exc`` saying the user's paths: an OSError as :class:`CannotWrite` naming the target
    (``main`` when no temporary explains it), a FormatError about a temporary (or a file inside a
    temporary folder) naming what it stands for; anything else as it is."""
    if isinstance(exc, OSError) and not isinstance(exc, CannotWrite):
        name = exc.filename if isinstance(exc.filename, (str, os.PathLike)) else None
        target = (_users_path(Path(name), temps) if name is not None else None) or main
        raise CannotWrite(target, os_problem(exc, target), exc.errno) from None
    if isinstance(exc, FormatError) and exc.path is not None:
        target = _users_path(Path(exc.path), temps)
        if target is not None:
            if isinstance(exc, CannotWrite):
                raise CannotWrite(target, exc.problem, exc.errno) from None
            raise FormatError(target, exc.problem) from None
    raise exc


def _users_path(path: Path, temps: dict[Path, Path]) -> Path | None:
    """The user's path that ``path`` (a temporary, or inside a temporary folder) stands for; None if neither."""
    for tmp, target in temps.items():
        if path == tmp:
            return target
        if path.is_relative_to(tmp):
            return target / path.relative_to(tmp)
    return None
