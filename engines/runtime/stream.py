"""Snapshots from a worker to the consumer through shared buffers, latest wins per output key.

A payload is any registered kind (:mod:`scene.kinds`): the worker turns it into named arrays
(``kind.to_arrays``), copies them into one of three slot files of its output key in a folder on
``/dev/shm`` (a RAM file system; the temp folder elsewhere) and sends only a small
:class:`SnapshotReady` notice through the event pipe. The consumer copies the arrays back out of
the slot named by the newest notice of each key, rebuilds the payload (``kind.from_arrays``) and
ignores older notices. Slots are written round-robin, so the writer touches the slot being
read only after two newer snapshots. A sequence number at the head of each slot, odd while the
slot is being written (a seqlock), lets the reader detect that case and drop the torn copy instead
of returning it. A slot too small for a payload is replaced by a larger file.

An engine whose state lives in torch tensors offers :class:`LiveArrays` instead of a payload: its
live tensors (or arrays), copied straight into a slot on the engine's thread when the worker
takes the snapshot, so a snapshot costs the engine one memory copy (no payload built, nothing
allocated). A slot skips an array that did not change since that slot's last write: the same
read-only array, or the same tensor at the same in-place version (``Tensor._version``).

The consumer owns the folder: it creates it before the worker starts and deletes it after the
worker exited, so neither a crash nor a kill of the worker can leak shared memory. The folder is
named with the consumer's tag (:mod:`scene.io.leftovers`), so when the consumer itself is killed,
the next run removes the folder (:func:`remove_orphan_stream_dirs`, on start-up).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import secrets
import shutil
import sys
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from scene.io.leftovers import TAG, owner_tag, remove_orphans
from scene.kinds import kind_named, kind_of

SLOTS = 3
_HEADER = 64  # bytes before the data: the int64 sequence number, then padding for alignment
_ALIGN = 64
_PREFIX = "atelier4d-stream-"
_FOLDER_NAME = re.compile(rf"{_PREFIX}{TAG}-[a-z0-9_]+")


@dataclass(frozen=True)
class SnapshotReady:
    """A snapshot of output ``key``, of payload kind ``kind``, is complete in slot file ``file``
    with sequence number ``seq``; ``fields`` are ``(name, dtype, shape, offset)`` of its arrays."""

    key: str
    kind: str
    file: str
    seq: int
    fields: tuple[tuple[str, str, tuple[int, ...], int], ...]


@dataclass(frozen=True)
class LiveArrays:
    """A payload of kind ``kind`` as the engine's live arrays, copied when the snapshot is taken.

    ``arrays`` maps each of the kind's array names to an array or a tensor (on any device), or to
    a tuple of them joined along axis 1 (e.g. splats' ``sh`` from separate DC and rest tensors).
    The engine must not change them until its next ``yield``: the worker copies them before that.
    """

    kind: str
    arrays: Mapping[str, Any]

    def parts(self) -> dict[str, tuple[Any, ...]]:
        """Each name's parts, as they come (tensors stay tensors, so their versions can be read)."""
        return {name: value if isinstance(value, tuple) else (value,) for name, value in self.arrays.items()}

    def numpy(self, copy: bool = False) -> dict[str, np.ndarray]:
        """Each name's array in numpy: a name's one part as a view of the live array (or CPU
        tensor) unless ``copy``, several parts joined (a copy)."""
        joined = {}
        for name, parts in self.parts().items():
            arrays = [_numpy(part) for part in parts]
            joined[name] = np.concatenate(arrays, axis=1) if len(arrays) > 1 else arrays[0].copy() if copy else arrays[0]
        return joined

    def payload(self) -> Any:
        """The payload itself, from copies of the arrays (validated as the kind does)."""
        return kind_named(self.kind).from_arrays(self.numpy(copy=True))


def _numpy(value: Any) -> np.ndarray:
    """A numpy view of an array, or of a tensor (copied to the CPU first if it is elsewhere)."""
    if _torch_tensor(value):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _torch_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (torch is imported already if it is one)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _meta(value: Any) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and numpy dtype of an array or a tensor, without copying it."""
    if _torch_tensor(value):
        return tuple(value.shape), np.dtype(str(value.dtype).removeprefix("torch."))
    value = np.asarray(value)
    return value.shape, value.dtype


def _copy(target: np.ndarray, value: Any) -> None:
    """Copy an array, or a tensor on any device (with torch's threads), into ``target``."""
    if _torch_tensor(value):
        import torch

        torch.from_numpy(target).copy_(value.detach())
    else:
        np.copyto(target, value)


def _version(value: Any) -> Any:
    """What tells that ``value`` did not change since it was last seen: a read-only array never
    changes; a tensor's in-place version counter grows with every change; None: cannot tell."""
    if _torch_tensor(value):
        return value._version
    if isinstance(value, np.ndarray) and not value.flags.writeable and value.base is None:
        return "read-only"
    return None


def stream_base() -> Path:
    """Where stream folders go: ``/dev/shm`` (RAM) where the system offers it, else the temp folder."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def make_stream_dir() -> Path:
    """A new private folder for one worker's slots, in RAM where the system offers it, named with
    this process (its owner): ``atelier4d-stream-TAG-RANDOM``."""
    return Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{owner_tag()}-", dir=stream_base()))


def remove_stream_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def remove_orphan_stream_dirs() -> list[Path]:
    """Remove the stream folders whose owner is gone (a consumer that was killed); the folders removed."""
    return remove_orphans(stream_base(), _FOLDER_NAME)


def check_payload(payload: Any) -> None:
    """TypeError unless ``payload`` is of a registered payload kind (which a snapshot can carry) or
    :class:`LiveArrays` of one (KeyError if its kind is unknown)."""
    if isinstance(payload, LiveArrays):
        kind_named(payload.kind)
        return
    try:
        kind_of(payload)
    except TypeError as exc:
        raise TypeError(f"Snapshot: cannot stream it: {exc}") from None


class SnapshotWriter:
    """Worker side: writes payloads into the slots of ``folder``, three per output key (not
    thread-safe; one thread)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._slots: dict[str, list[mmap.mmap | None]] = {}
        self._names: dict[str, list[str]] = {}
        self._seq: dict[str, list[int]] = {}
        self._next: dict[str, int] = {}
        self._written: dict[tuple[str, int], tuple[Any, ...]] = {}  # per slot: its buffer, fields, sources

    def write(self, key: str, payload: Any) -> SnapshotReady:
        """Copy ``payload`` (or :class:`LiveArrays`) into the next slot of output ``key`` and return
        the notice to send."""
        if isinstance(payload, LiveArrays):
            kind, sources = kind_named(payload.kind), payload.parts()
        else:
            kind = kind_of(payload)
            sources = {name: (value,) for name, value in kind.to_arrays(payload).items()}
        metas = {name: [_meta(part) for part in parts] for name, parts in sources.items()}
        fields, offset = [], _HEADER
        for name, parts in metas.items():
            first = parts[0][0]
            shape = first[:1] + (sum(p[1] for p, _ in parts),) + first[2:] if len(parts) > 1 else first
            dtype = np.result_type(*(d for _, d in parts))
            fields.append((name, dtype.str, shape, offset))
            offset += -(-int(np.prod(shape)) * dtype.itemsize // _ALIGN) * _ALIGN
        if key not in self._slots:
            self._slots[key], self._names[key], self._seq[key], self._next[key] = [None] * SLOTS, [""] * SLOTS, [0] * SLOTS, 0
        slot = self._next[key]
        self._next[key] = (slot + 1) % SLOTS
        buffer = self._slot(key, slot, offset)
        versions = {name: tuple((_ref(part), _version(part)) for part in parts) for name, parts in sources.items()}
        before_buffer, before_fields, before = self._written.pop((key, slot), (None, None, {}))
        same_layout = before_buffer is buffer and before_fields == tuple(fields)
        seq = self._seq[key]
        header = np.frombuffer(buffer, np.int64, 1)
        header[0] = seq[slot] + 1  # odd: being written
        for (name, dtype, shape, start), (parts, part_metas) in zip(fields, zip(sources.values(), metas.values())):
            if same_layout and _unchanged(before.get(name), versions[name]):
                continue  # the slot holds these very values already
            target = np.frombuffer(buffer, np.dtype(dtype), int(np.prod(shape)), start).reshape(shape)
            if len(parts) == 1:
                _copy(target, parts[0])
            else:
                at = 0
                for part, (part_shape, _) in zip(parts, part_metas):
                    _copy(target[:, at : at + part_shape[1]], part)
                    at += part_shape[1]
            del target
        seq[slot] += 2
        header[0] = seq[slot]
        del header
        self._written[(key, slot)] = (buffer, tuple(fields), versions)
        return SnapshotReady(key, kind.name, self._names[key][slot], seq[slot], tuple(fields))

    def _slot(self, key: str, slot: int, size: int) -> mmap.mmap:
        """The mapped file of ``slot``, replaced by a larger one if it is smaller than ``size``."""
        maps, names = self._slots[key], self._names[key]
        current = maps[slot]
        if current is not None and len(current) >= size:
            return current
        if current is not None:
            size = max(size, len(current) * 3 // 2)  # grow geometrically: clouds densify
            current.close()
            with contextlib.suppress(OSError):  # Windows keeps a file the reader has mapped
                (self._folder / names[slot]).unlink()
        name = f"k{list(self._slots).index(key)}s{slot}-{secrets.token_hex(4)}.bin"
        with open(self._folder / name, "w+b") as handle:
            handle.truncate(size)
            maps[slot] = mmap.mmap(handle.fileno(), size)
        names[slot] = name
        return maps[slot]

    def close(self) -> None:
        for maps in self._slots.values():
            for buffer in maps:
                if buffer is not None:
                    buffer.close()
        self._slots.clear()
        self._written.clear()


def _ref(value: Any) -> Any:
    """A weak reference to ``value`` (the writer must not keep an engine's old tensors alive)."""
    try:
        return weakref.ref(value)
    except TypeError:
        return None


def _unchanged(before: tuple[tuple[Any, Any], ...] | None, now: tuple[tuple[Any, Any], ...]) -> bool:
    """Whether every part is the same live object at the same known version as before."""
    return (
        before is not None
        and len(before) == len(now)
        and all(
            a is not None and b is not None and a() is not None and a() is b() and va is not None and va == vb
            for (a, va), (b, vb) in zip(before, now)
        )
    )


class SnapshotReader:
    """Consumer side: copies payloads out of the slots of ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._maps: dict[str, mmap.mmap] = {}

    def read(self, notice: SnapshotReady) -> Any | None:
        """The payload ``notice`` announces, or None when its slot was overwritten or removed, or
        when its arrays are no valid payload (live arrays are validated here, e.g. a diverged
        engine's NaNs: the view keeps the last valid snapshot)."""
        buffer = self._map(notice.file)
        if buffer is None:
            return None
        header = np.frombuffer(buffer, np.int64, 1)
        if header[0] != notice.seq:
            return None
        arrays = {
            name: np.frombuffer(buffer, np.dtype(dtype), int(np.prod(shape)), offset).reshape(shape).copy()
            for name, dtype, shape, offset in notice.fields
        }
        if header[0] != notice.seq:
            return None
        try:
            return kind_named(notice.kind).from_arrays(arrays)
        except ValueError:
            return None

    def _map(self, name: str) -> mmap.mmap | None:
        if name not in self._maps:
            slot = name.split("-")[0]
            for old in [key for key in self._maps if key.split("-")[0] == slot]:
                self._maps.pop(old).close()
            try:
                with open(self.folder / name, "rb") as handle:
                    self._maps[name] = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (FileNotFoundError, ValueError):
                return None
        return self._maps[name]

    def close(self) -> None:
        for buffer in self._maps.values():
            buffer.close()
        self._maps.clear()
