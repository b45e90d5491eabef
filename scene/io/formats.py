"""Choosing the reader or writer for a path: ``load``, ``save`` and ``sniff_kind``.

The extension picks the format; a ``.ply`` is further told apart by its header (splats, mesh or
points). Every writer goes through ``atomic_output``, so a failed save leaves the previous file
untouched. Project files (``.a4d``) are read and written by ``scene.io.project``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Literal, Union

from scene.gaussians import GaussianCloud
from scene.io import meshes, ply, splat
from scene.io.errors import FormatError
from scene.mesh import MeshAsset
from scene.points import PointCloud

PathLike = Union[str, os.PathLike]
Asset = Union[GaussianCloud, MeshAsset, PointCloud]
Kind = Literal["splats", "mesh", "points"]

FORMAT_NAMES = {
    ".ply": "PLY (splats, mesh or point cloud)",
    ".splat": "antimatter15 .splat",
    ".glb": "binary glTF",
    ".gltf": "glTF",
    ".obj": "Wavefront OBJ",
}
READ_EXTENSIONS: tuple[str, ...] = (".ply", ".splat", ".glb", ".gltf", ".obj")
WRITE_EXTENSIONS: dict[type, tuple[str, ...]] = {
    GaussianCloud: (".ply", ".splat"),
    MeshAsset: (".glb", ".obj", ".ply"),
    PointCloud: (".ply",),
}

_READERS: dict[str, Callable[[PathLike], Asset]] = {
    ".ply": ply.read_ply,
    ".splat": splat.read_splat,
    ".glb": meshes.read_mesh,
    ".gltf": meshes.read_mesh,
    ".obj": meshes.read_mesh,
}
_WRITERS: dict[tuple[type, str], Callable[[PathLike, Asset], None]] = {
    (GaussianCloud, ".ply"): ply.write_gaussians_ply,
    (GaussianCloud, ".splat"): splat.write_splat,
    (MeshAsset, ".glb"): meshes.write_glb,
    (MeshAsset, ".obj"): meshes.write_obj,
    (MeshAsset, ".ply"): ply.write_mesh_ply,
    (PointCloud, ".ply"): ply.write_points_ply,
}


def _suffix(path: PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".a4d":
        raise FormatError(path, "a project file: open and save it with scene.io.project")
    return suffix


def load(path: PathLike) -> Asset:
    """Read splats, a mesh or a point cloud, choosing the reader by extension (and PLY header)."""
    suffix = _suffix(path)
    if suffix not in _READERS:
        raise FormatError(path, f"unknown format {suffix or '(no extension)'}; readable: {', '.join(READ_EXTENSIONS)}")
    return _READERS[suffix](path)


def save(path: PathLike, obj: Asset) -> None:
    """Write ``obj`` in the format named by the extension; FormatError if it cannot go there."""
    suffix = _suffix(path)
    kind = next((t for t in WRITE_EXTENSIONS if isinstance(obj, t)), None)
    if kind is None:
        raise FormatError(path, f"cannot save a {type(obj).__name__}; only splats, meshes and point clouds")
    if (kind, suffix) not in _WRITERS:
        raise FormatError(
            path,
            f"a {kind.__name__} cannot be saved as {suffix or '(no extension)'}; "
            f"it can be saved as {', '.join(WRITE_EXTENSIONS[kind])}",
        )
    _WRITERS[kind, suffix](path, obj)


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


def dialog_filter(extensions: tuple[str, ...]) -> str:
    """A Qt file-dialog filter string for ``extensions``, e.g. ``"PLY (...) (*.ply);;..."``."""
    return ";;".join(f"{FORMAT_NAMES[e]} (*{e})" for e in extensions)
