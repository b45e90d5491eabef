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
from typing import Any


def path_problems(config: Any, prefix: str = "") -> dict[str, str]:
    """What is wrong with the paths of the config dataclass ``config``: the field's dotted key
    (``out``, ``group.field``) -> a sentence."""
    problems = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        name = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            problems.update(path_problems(value, f"{name}."))
        kind = field.metadata.get("path")
        if kind and isinstance(value, (str, os.PathLike)) and str(value):
            problem = _output_problem(Path(value), field.metadata.get("extensions")) if kind == "save" else _input_problem(Path(value), kind)
            if problem:
                problems[name] = problem
    return problems


def _output_problem(path: Path, extensions: tuple[str, ...] | None) -> str | None:
    if extensions and path.suffix.lower() not in extensions:
        return f"cannot write {path.name!r}: the extension must be one of {', '.join(extensions)}"
    folder = path.parent
    if not folder.is_dir():
        return f"cannot write {path}: the folder {folder} does not exist"
    if path.is_dir():
        return f"cannot write {path}: it is a folder"
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"cannot write {path}: permission denied"
    return None


def _input_problem(path: Path, kind: str) -> str | None:
    if kind == "folder":
        return None if path.is_dir() else f"the folder {path} does not exist"
    return None if path.is_file() else f"the file {path} does not exist"
