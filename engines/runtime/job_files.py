"""A job's files on another machine: its inputs travel with it, its results and checkpoints come back.

A job sent to a cluster node carries a :class:`JobBundle`: the bytes of every input its config names
(``metadata={"path": "file" | "image" | "folder"}``, see :mod:`engines.runtime.checks`) and, for a
resume, the checkpoint of its run folder. On the node, :func:`unpack` lays them out in a folder of
the job's own and rewrites the config to point there; each output (``"save"``) gets a folder of its
own, so the node needs no file system shared with the studio. :class:`PathMap` takes a path the
engine wrote on the node back to where it belongs on the studio's machine: an output's folder to the
folder the artist chose, the node's run folder to the job's run folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.registry import config_from_dict
from engines.runtime.checkpoint import checkpoint_files
from engines.runtime.checks import path_fields

MAX_BUNDLE_BYTES = 8 << 30
"""Inputs larger than this are refused before anything is sent (a wrong folder picked, say a home)."""


@dataclass(frozen=True)
class JobBundle:
    """What travels with a job: each input field's files (relative path -> bytes; a file input has
    one, named as the file), the run folder's checkpoint files, and the local places outputs go."""

    inputs: dict[str, dict[str, bytes]] = field(default_factory=dict)
    folders: frozenset[str] = frozenset()  # the input fields that name a folder (the others name a file)
    sources: dict[str, str] = field(default_factory=dict)  # input field key -> its path on the studio's machine
    checkpoint: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # field key -> the artist's path
    run_dir: str | None = None  # the job's run folder on the studio's machine


def pack(config_cls: type, config: dict[str, Any], run_dir: str | None, resume: bool) -> JobBundle:
    """The bundle of a job with the config dict ``config`` of ``config_cls``: its inputs read whole
    (an OSError names the file), its checkpoint when it resumes."""
    made = config_from_dict(config_cls, config)
    inputs, folders, sources, outputs, total = {}, set(), {}, {}, 0
    for key, kind, path, _ in path_fields(made):
        if kind == "save":
            outputs[key] = os.path.abspath(path)
            continue
        if kind == "folder":
            folders.add(key)
            files = {p.relative_to(path).as_posix(): p for p in sorted(path.rglob("*")) if p.is_file()}
        else:
            files = {path.name: path}
        total += sum(p.stat().st_size for p in files.values())
        if total > MAX_BUNDLE_BYTES:
            raise ValueError(f"{key}: the inputs of this job are over {MAX_BUNDLE_BYTES >> 30} GB ({path}); "
                             "put them on the cluster and name them there")
        inputs[key] = {name: p.read_bytes() for name, p in files.items()}
        sources[key] = os.path.abspath(path)
    checkpoint = checkpoint_files(run_dir) if resume and run_dir else {}
    return JobBundle(inputs, frozenset(folders), sources, checkpoint, outputs, run_dir)


def unpack(bundle: JobBundle, config: dict[str, Any], folder: Path) -> tuple[dict[str, Any], str | None, "PathMap"]:
    """Write ``bundle``'s files under ``folder`` (the job's own on this node); the config pointing
    there, the node's run folder (None when the job has none), and the map back."""
    config, places = _copy(config), {}
    for key, files in bundle.inputs.items():
        base = folder / "in" / key
        for name, data in files.items():
            target = (base / name).resolve()
            if base.resolve() not in target.parents:
                raise ValueError(f"{key}: the input name {name!r} leaves its folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        base.mkdir(parents=True, exist_ok=True)  # an empty folder input stays a folder
        node_path = str(base) if key in bundle.folders else str(base / next(iter(files)))
        _set(config, key, node_path)
        places[node_path] = bundle.sources[key]
    for key, local in bundle.outputs.items():
        out = folder / "out" / key
        out.mkdir(parents=True, exist_ok=True)
        _set(config, key, str(out / Path(local).name))
        places[str(out)] = str(Path(local).parent)
    run_dir = None
    if bundle.run_dir is not None:
        run_dir = folder / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        for name, data in bundle.checkpoint.items():
            (run_dir / name).write_bytes(data)
        places[str(run_dir)] = bundle.run_dir
    return config, (str(run_dir) if run_dir else None), PathMap(places)


@dataclass(frozen=True)
class PathMap:
    """Node path -> the path on the studio's machine it stands for (inputs, outputs' folders, the run folder)."""

    places: dict[str, str]

    def in_words(self, text: str) -> str:
        """``text`` (a message of the engine) with the node's paths said as the artist knows them."""
        for node in sorted(self.places, key=len, reverse=True):
            text = text.replace(node, self.places[node])
        return text

    def local(self, node_path: str | os.PathLike) -> str | None:
        """Where a file the engine wrote at ``node_path`` goes on the studio's machine; None when it
        lies in none of the job's folders."""
        path = Path(node_path)
        for node, local in self.places.items():
            if Path(node) in path.parents:
                return str(Path(local) / path.relative_to(node))
        return None


def _copy(config: dict[str, Any]) -> dict[str, Any]:
    return {key: _copy(value) if isinstance(value, dict) else value for key, value in config.items()}


def _set(config: dict[str, Any], dotted: str, value: str) -> None:
    *groups, name = dotted.split(".")
    for group in groups:
        config = config[group]
    config[name] = value

