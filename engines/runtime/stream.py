"""Snapshots from a worker to the consumer through shared buffers, latest wins.

The worker copies a payload's arrays into one of three slot files in a folder on ``/dev/shm`` (a
RAM file system; the temp folder elsewhere) and sends only a small :class:`SnapshotReady` notice
through the event pipe. The consumer copies the arrays back out of the slot named by the newest
notice and ignores older ones. Slots are written round-robin, so the writer touches the slot being
read only after two newer snapshots. A sequence number at the head of each slot, odd while the
slot is being written (a seqlock), lets the reader detect that case and drop the torn copy instead
of returning it. A slot too small for a payload is replaced by a larger file.

The consumer owns the folder: it creates it before the worker starts and deletes it after the
worker exited, so neither a crash nor a kill can leak shared memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import mmap
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scene import GaussianCloud, MeshAsset

#: Payload types a snapshot may hold, by name; each is a dataclass of arrays (or None).
PAYLOAD_TYPES: dict[str, type] = {cls.__name__: cls for cls in (GaussianCloud, MeshAsset)}

SLOTS = 3
_HEADER = 64  # bytes before the data: the int64 sequence number, then padding for alignment
_ALIGN = 64


@dataclass(frozen=True)
class SnapshotReady:
    """A snapshot of type ``kind`` is complete in slot file ``file`` with sequence number ``seq``;
    ``fields`` are ``(name, dtype, shape, offset)`` of its arrays."""

    kind: str
    file: str
    seq: int
    fields: tuple[tuple[str, str, tuple[int, ...], int], ...]


def make_stream_dir() -> Path:
    """A new private folder for one worker's slots, in RAM where the system offers it."""
    base = Path("/dev/shm") if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=f"atelier4d-stream-{os.getpid()}-", dir=base))


def remove_stream_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def check_payload(payload: Any) -> None:
    """TypeError unless ``payload`` is of a type a snapshot can carry."""
    if PAYLOAD_TYPES.get(type(payload).__name__) is not type(payload):
        raise TypeError(f"Snapshot: cannot stream a {type(payload).__name__}; expected one of {sorted(PAYLOAD_TYPES)}")


def _arrays_of(payload: Any) -> dict[str, np.ndarray]:
    check_payload(payload)
    values = {f.name: getattr(payload, f.name) for f in dataclasses.fields(payload)}
    return {name: np.ascontiguousarray(value) for name, value in values.items() if value is not None}


class SnapshotWriter:
    """Worker side: writes payloads into the slots of ``folder`` (not thread-safe; one thread)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._maps: list[mmap.mmap | None] = [None] * SLOTS
        self._names: list[str] = [""] * SLOTS
        self._seq = [0] * SLOTS
        self._next = 0

    def write(self, payload: Any) -> SnapshotReady:
        """Copy ``payload`` into the next slot and return the notice to send."""
        arrays = _arrays_of(payload)
        fields, offset = [], _HEADER
        for name, array in arrays.items():
            fields.append((name, array.dtype.str, array.shape, offset))
            offset += -(-array.nbytes // _ALIGN) * _ALIGN
        slot = self._next
        self._next = (slot + 1) % SLOTS
        buffer = self._slot(slot, offset)
        header = np.frombuffer(buffer, np.int64, 1)
        header[0] = self._seq[slot] + 1  # odd: being written
        for (name, dtype, shape, start), array in zip(fields, arrays.values()):
            target = np.frombuffer(buffer, np.dtype(dtype), array.size, start).reshape(shape)
            np.copyto(target, array)
        self._seq[slot] += 2
        header[0] = self._seq[slot]
        del header, target
        return SnapshotReady(type(payload).__name__, self._names[slot], self._seq[slot], tuple(fields))

    def _slot(self, slot: int, size: int) -> mmap.mmap:
        current = self._maps[slot]
        if current is not None and len(current) >= size:
            return current
        if current is not None:
            size = max(size, len(current) * 3 // 2)  # grow geometrically: clouds densify
            current.close()
            with contextlib.suppress(OSError):  # Windows keeps a file the reader has mapped
                (self._folder / self._names[slot]).unlink()
        name = f"slot{slot}-{secrets.token_hex(4)}.bin"
        with open(self._folder / name, "w+b") as handle:
            handle.truncate(size)
            self._maps[slot] = mmap.mmap(handle.fileno(), size)
        self._names[slot] = name
        return self._maps[slot]

    def close(self) -> None:
        for buffer in self._maps:
            if buffer is not None:
                buffer.close()
        self._maps = [None] * SLOTS


class SnapshotReader:
    """Consumer side: copies payloads out of the slots of ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._maps: dict[str, mmap.mmap] = {}

    def read(self, notice: SnapshotReady) -> Any | None:
        """The payload ``notice`` announces, or None when its slot was overwritten or removed."""
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
        return PAYLOAD_TYPES[notice.kind](**arrays)

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
