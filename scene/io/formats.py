"""Choosing the reader or writer for a path: ``load``, ``save`` and ``sniff_kind``.

The extension picks the format; a ``.ply`` is further told apart by its header (splats, mesh or
points). A folder is a PLY sequence, read as a clip, and a clip is saved as one
(``scene.io.ply_sequence``). Every writer goes through ``atomic_output``, so a failed save leaves
the previous file untouched. Project files (``.a4d``) are read and written by ``scene.io.project``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Literal, Union

from scene.io import meshes, ply, ply_sequence, splat
from scene.io.errors import FormatError
from scene.kinds import CLIP, MESH, POINTS, SPLATS, kind_of, payload_kinds

PathLike = Union[str, os.PathLike]
Asset = Any  # a payload of a registered kind (scene.kinds)
Kind = Literal["splats", "mesh", "points"]

FORMAT_NAMES = {
    ".ply": "PLY (splats, mesh or point cloud)",
    ".splat": "antimatter15 .splat",
    ".glb": "binary glTF",
    ".gltf": "glTF",
    ".obj": "Wavefront OBJ",
}
READ_EXTENSIONS: tuple[str, ...] = (".ply", ".splat", ".glb", ".gltf", ".obj")
WRITE_EXTENSIONS: dict[str, tuple[str, ...]] = {  # by kind name; kinds not here have no file format
    SPLATS.name: (".ply", ".splat"),
    MESH.name: (".glb", ".obj", ".ply"),
    POINTS.name: (".ply",),
}

_READERS: dict[str, Callable[[PathLike], Asset]] = {
    ".ply": ply.read_ply,
    ".splat": splat.read_splat,
    ".glb": meshes.read_mesh,
    ".gltf": meshes.read_mesh,
    ".obj": meshes.read_mesh,
}
_WRITERS: dict[tuple[str, str], Callable[[PathLike, Asset], None]] = {
    (SPLATS.name, ".ply"): ply.write_gaussians_ply,
    (SPLATS.name, ".splat"): splat.write_splat,
    (MESH.name, ".glb"): meshes.write_glb,
    (MESH.name, ".obj"): meshes.write_obj,
    (MESH.name, ".ply"): ply.write_mesh_ply,
    (POINTS.name, ".ply"): ply.write_points_ply,
}


def _suffix(path: PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".a4d":
        raise FormatError(path, "a project (.a4d) holds layers, not a single one; open it in the studio")
    return suffix


def load(path: PathLike) -> Asset:
    """Read splats, a mesh or a point cloud, choosing the reader by extension (and PLY header);
    a folder's PLY files as a clip (24 fps; ``scene.io.ply_sequence`` takes another rate)."""
    is_folder = Path(path).is_dir()
    suffix = "" if is_folder else _suffix(path)
    if not is_folder and suffix not in _READERS:
        raise FormatError(path, f"unknown format {suffix or '(no extension)'}; readable: {', '.join(READ_EXTENSIONS)}")
    try:
        return ply_sequence.read_ply_sequence(path) if is_folder else _READERS[suffix](path)
    except FormatError as exc:
        raise FormatError(exc.path, _in_users_words(exc.problem)) from None


def save(path: PathLike, obj: Asset) -> None:
    """Write ``obj`` in the format named by the extension; FormatError if it cannot go there."""
    suffix = _suffix(path)
    try:
        kind = kind_of(obj)
    except TypeError as exc:
        raise FormatError(path, f"cannot save a {type(obj).__name__}; {exc}") from None
    if kind is CLIP:
        if suffix and not Path(path).is_dir():
            raise FormatError(path, f"a clip is saved as a folder of PLY frames (a name without extension), not as {suffix}")
        ply_sequence.write_ply_sequence(obj, path)
        return
    if kind.name not in WRITE_EXTENSIONS:
        raise FormatError(path, f"a {kind.label} layer has no file format of its own; save it in a project")
    if (kind.name, suffix) not in _WRITERS:
        choices, given = _either(WRITE_EXTENSIONS[kind.name]), suffix or "a file without extension"
        raise FormatError(path, f"a {kind.label} layer can be saved as {choices}, not as {given}")
    _WRITERS[kind.name, suffix](path, obj)


def sniff_kind(path: PathLike) -> Kind:
    """What ``load`` would return, cheaply (only a PLY's header is read)."""
    suffix = _suffix(path)
    if suffix == ".ply":
        return ply.ply_kind(path)
    if suffix == ".splat":
        return "splats"
    if suffix in _READERS:
        return "mesh"
    raise FormatError(path, f"unknown format {suffix or '(no extension)'}; readable: {', '.join(READ_EXTENSIONS)}")


_WORDS = {"means": "positions", "log_scales": "scales", "quats": "rotations", "opacity_logits": "opacities", "sh": "colours"}


def _in_users_words(problem: str) -> str:
    """A payload's own check, "GaussianCloud.means: ...", said as "splat positions: ..."."""
    labels = {kind.type.__name__: kind.label for kind in payload_kinds()}

    def say(match: re.Match) -> str:
        owner, field = match.group(1), match.group(2) or ""
        if owner not in labels:
            return match.group(0)
        words = _WORDS.get(field, field.replace("_", " ")) if field else "layer"
        return f"{labels[owner]} {words}:"

    return re.sub(r"\b([A-Z]\w+)(?:\.(\w+))?:", say, problem)


def _either(extensions: tuple[str, ...]) -> str:
    """``.glb, .obj or .ply``."""
    return " or ".join(filter(None, (", ".join(extensions[:-1]), extensions[-1])))


def dialog_filter(extensions: tuple[str, ...]) -> str:
    """A Qt file-dialog filter string for ``extensions``, e.g. ``"PLY (...) (*.ply);;..."``."""
    return ";;".join(f"{FORMAT_NAMES[e]} (*{e})" for e in extensions)
