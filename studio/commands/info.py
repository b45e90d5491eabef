"""``atelier4d info PATH [--json]``: what a file holds: kind (first), counts, SH degree, bounds; a clip's
frames, frame rate and duration; a project's layers each with the bounds its transform gives it. A folder
is read as a PLY sequence. A binary splat PLY is described from its header and its rows read a block at a
time (a million SH-3 splats in a few MB), not loaded whole."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from scene import Document, Layer
from scene.io import FormatError, load
from scene.io.ply import SplatOutline, splat_outline
from scene.io.project import PROJECT_SUFFIX, load_project
from scene.kinds import SPLATS, PayloadKind, kind_of
from studio.commands.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("info", help="describe a scene file", description="Describe a scene file, a project "
                            "(.a4d) or a folder of PLY frames (a PLY sequence, read as a clip at 24 fps).")
    parser.add_argument("path", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def describe(data: Any, kind: PayloadKind | None = None) -> dict:
    """A JSON-ready summary of one layer payload: its kind first, the kind's own facts, its bounds.
    ``kind`` is given for a stand-in that answers as a payload of that kind (a :class:`SplatOutline`)."""
    kind = kind or kind_of(data)
    return {"kind": kind.name, **kind.summary(data), **_bounds(kind.bounds(data))}


def describe_layer(layer: Layer) -> dict:
    """A project layer's summary: its bounds where the project places it (its transform applied)."""
    return {"name": layer.name, **describe(layer.data), "visible": layer.visible, **_bounds(layer.world_bounds())}


def describe_document(document: Document) -> dict:
    return {"kind": "project", "layers": [describe_layer(layer) for layer in document.layers]}


def _outline(path: Path) -> SplatOutline | None:
    """The outline of a binary splat PLY; None for any other file, and for a PLY it cannot read:
    ``load`` then says what is wrong, in the artist's words."""
    if path.suffix.lower() != ".ply" or not path.is_file():
        return None
    try:
        return splat_outline(path)
    except FormatError:
        return None


def _bounds(box: tuple[np.ndarray, np.ndarray]) -> dict:
    return {"bounds_min": [float(v) for v in box[0]], "bounds_max": [float(v) for v in box[1]]}


def run(args: argparse.Namespace) -> int:
    if not (args.path.is_file() or args.path.is_dir()):
        raise CliError(f"{args.path}: no such file or folder")
    if args.path.suffix.lower() == PROJECT_SUFFIX:
        summary = describe_document(load_project(args.path))
    elif (outline := _outline(args.path)) is not None:
        summary = describe(outline, SPLATS)
    else:
        summary = describe(load(args.path))
    summary = {"kind": summary["kind"], "path": str(args.path), **summary}
    if args.json:
        print(json.dumps(summary))
    else:
        print(_as_text(summary))
    return 0


def _as_text(summary: dict, indent: str = "") -> str:
    lines = []
    for key, value in summary.items():
        if key == "layers":
            lines.append(f"{indent}layers: {len(value)}")
            for layer in value:
                lines.append(f"{indent}  - {layer['name']}")
                lines.append(_as_text({k: v for k, v in layer.items() if k != "name"}, indent + "    "))
        elif isinstance(value, list):
            lines.append(f"{indent}{key}: " + ", ".join(f"{v:.4g}" for v in value))
        else:
            lines.append(f"{indent}{key}: {value}")
    return "\n".join(lines)
