"""Checkpoint files: an engine's state dict saved without pickling arbitrary objects.

A run folder holds ``checkpoint.json`` (step, engine, config, and the state's structure) beside
``state-<step>.npz`` (its numpy arrays, read with ``allow_pickle=False``) and, when the state holds
torch tensors, ``state-<step>.pt`` (a flat dict of tensors, read with ``weights_only=True``).
Arrays and tensors come back as what they were. Plain values (numbers, strings, bools, None, lists,
string-keyed dicts) live in the JSON; tuples come back as lists.

The JSON is replaced last and atomically, so a kill at any moment leaves the previous checkpoint or
the new one, never a broken one. torch is imported only when a state holds tensors.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scene.io.atomic import atomic_output

INDEX = "checkpoint.json"
_ARRAY, _TENSOR = "__array__", "__tensor__"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the step it was taken after, and the engine's state."""

    step: int
    state: dict[str, Any]
    engine: str
    config: dict[str, Any]


def save_checkpoint(
    run_dir: str | Path, step: int, state: dict[str, Any], engine: str, config: dict[str, Any]
) -> Path:
    """Write ``state`` as the run's checkpoint at ``step``; returns the index file's path."""
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, Any] = {}
    tree = _encode(state, "state", arrays, tensors)
    stem = f"state-{step:09d}"
    files = []
    if arrays:
        with atomic_output(folder / f"{stem}.npz") as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        files.append(f"{stem}.npz")
    if tensors:
        import torch

        with atomic_output(folder / f"{stem}.pt") as tmp, open(tmp, "wb") as handle:
            sink = _KeepsWriteErrors(handle)
            try:
                torch.save(tensors, sink)
            except RuntimeError:
                if sink.error is None:
                    raise
                raise sink.error from None  # a full disk is said as one, of the checkpoint's path
        files.append(f"{stem}.pt")
    index = {"step": step, "engine": engine, "config": config, "saved_at": time.time(), "files": files, "state": tree}
    with atomic_output(folder / INDEX) as tmp:
        tmp.write_text(json.dumps(index, indent=1, default=str))
    for old in folder.glob("state-*"):
        if old.name not in files:
            old.unlink(missing_ok=True)
    return folder / INDEX


class _KeepsWriteErrors:
    """A file for ``torch.save`` that keeps the OSError a write raised: torch turns it into a
    RuntimeError that no longer says the disk is full."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self._handle.flush()


def discard_checkpoint(run_dir: str | Path) -> None:
    """Delete the run folder's checkpoint (a finished run's is dead weight: it cannot be resumed);
    the index goes first, so a crash midway leaves no checkpoint rather than a broken one."""
    folder = Path(run_dir)
    (folder / INDEX).unlink(missing_ok=True)
    for state in folder.glob("state-*"):
        state.unlink(missing_ok=True)


def checkpoint_files(run_dir: str | Path) -> dict[str, bytes]:
    """The run folder's checkpoint as file name -> bytes, its index last, to carry it to another
    machine; {} when it has none, or when a newer checkpoint replaced it while it was read."""
    folder = Path(run_dir)
    try:
        index = (folder / INDEX).read_bytes()
        files = {name: (folder / name).read_bytes() for name in json.loads(index)["files"]}
    except (OSError, ValueError, KeyError):
        return {}
    return {**files, INDEX: index}


def put_checkpoint_files(run_dir: str | Path, files: dict[str, bytes]) -> None:
    """Make ``files`` (from :func:`checkpoint_files`) the run folder's checkpoint: the state files
    first and the index last, each written whole, so a copy cut short leaves the earlier checkpoint."""
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted(files, key=lambda name: name == INDEX):
        if Path(name).name != name or not (name == INDEX or name.startswith("state-")):
            raise ValueError(f"not a checkpoint file: {name!r}")
        with atomic_output(folder / name) as tmp:
            tmp.write_bytes(files[name])
    for old in folder.glob("state-*"):
        if old.name not in files:
            old.unlink(missing_ok=True)


def checkpoint_step(run_dir: str | Path | None) -> int | None:
    """The step of the run folder's checkpoint, or None when it has none (reads only the JSON)."""
    try:
        return int(json.loads((Path(run_dir) / INDEX).read_text())["step"])
    except (TypeError, OSError, ValueError, KeyError):
        return None


def load_checkpoint(run_dir: str | Path) -> Checkpoint | None:
    """The run folder's checkpoint, or None when there is none."""
    folder = Path(run_dir)
    try:
        index = json.loads((folder / INDEX).read_text())
    except FileNotFoundError:
        return None
    arrays: dict[str, Any] = {}
    for name in index["files"]:
        if name.endswith(".npz"):
            with np.load(folder / name, allow_pickle=False) as data:
                arrays.update({key: data[key] for key in data.files})
        else:
            import torch

            arrays.update(torch.load(folder / name, map_location="cpu", weights_only=True))
    return Checkpoint(int(index["step"]), _decode(index["state"], arrays), index["engine"], index["config"])


def _encode(value: Any, path: str, arrays: dict[str, np.ndarray], tensors: dict[str, Any]) -> Any:
    """``value`` as JSON, its arrays and tensors moved to ``arrays``/``tensors`` under ``path``."""
    torch = sys.modules.get("torch")
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"checkpoint: {path} is an object array, which cannot be saved without pickle")
        arrays[path] = value
        return {_ARRAY: path}
    if torch is not None and isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu()
        return {_TENSOR: path}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(item, f"{path}.{i}", arrays, tensors) for i, item in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _encode(item, f"{path}.{key}", arrays, tensors) for key, item in value.items()}
    raise TypeError(
        f"checkpoint: {path} is a {type(value).__name__}; a state holds arrays, tensors, numbers, "
        "strings, lists and string-keyed dicts"
    )


def _decode(tree: Any, arrays: dict[str, Any]) -> Any:
    if isinstance(tree, dict):
        if len(tree) == 1 and (_ARRAY in tree or _TENSOR in tree):
            return arrays[next(iter(tree.values()))]
        return {key: _decode(item, arrays) for key, item in tree.items()}
    if isinstance(tree, list):
        return [_decode(item, arrays) for item in tree]
    return tree
