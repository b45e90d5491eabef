"""Checks of a run's paths before its first step, read off its config's field metadata.

A config field marks a path with ``metadata={"path": kind}``: "save" for an output (its folder
must exist and be writable, and its extension be one of ``metadata["extensions"]`` when given),
"file", "image" or "folder" for an input that must exist. Empty values are not checked: whether a
field is required is the config's own validation. Nested config dataclasses are walked too.

The worker runs these checks in the preparing phase, so a run that could not write its result
fails before it trains; the command line runs them before it starts a worker at all.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Iterator, Mapping


def path_problems(config: Any) -> dict[str, str]:
    """What is wrong with the paths of the config dataclass ``config``: the field's dotted key
    (``out``, ``group.field``) -> a sentence."""
    problems = {}
    for name, kind, path, metadata in path_fields(config):
        problem = _output_problem(path, metadata.get("extensions")) if kind == "save" else _input_problem(path, kind)
        if problem:
            problems[name] = problem
    return problems


def output_paths(config: Any) -> list[Path]:
    """The outputs the config dataclass ``config`` names (its "save" paths that are not empty)."""
    return [path for _, kind, path, _ in path_fields(config) if kind == "save"]


def path_fields(config: Any, prefix: str = "") -> Iterator[tuple[str, str, Path, Mapping[str, Any]]]:
    """(dotted key, path kind, path, field metadata) of each path field of ``config`` that is not empty."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        name = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            yield from path_fields(value, f"{name}.")
        kind = field.metadata.get("path")
        if kind and isinstance(value, (str, os.PathLike)) and str(value):
            yield name, kind, Path(value), field.metadata


def _output_problem(path: Path, extensions: tuple[str, ...] | None) -> str | None:
    if extensions and path.suffix.lower() not in extensions:
        return f"cannot write {path.name!r}: the extension must be one of {', '.join(extensions)}"
    folder = path.parent
    if not folder.is_dir():
        return f"cannot write {path}: the folder {folder} does not exist"
    if path.is_dir():
        return f"cannot write {path}: it is a folder"
    if not os.access(folder, os.W_OK):  # the folder decides, as for ``mv``: a read-only file in it is replaced
        return f"cannot write {path}: permission denied"
    return None


def _input_problem(path: Path, kind: str) -> str | None:
    if kind == "folder":
        return None if path.is_dir() else f"the folder {path} does not exist"
    return None if path.is_file() else f"the file {path} does not exist"
