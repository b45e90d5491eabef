"""PLY files as Gaussian splats (the 3DGS layout), triangle meshes and point clouds.

The container (header, elements, ascii and binary data) is read and written by
:mod:`scene.io.ply_container`; this module maps its elements to payloads. What a file holds is
decided from the header alone (see ``ply_kind``):

* splats when the ``vertex`` element has the 3DGS properties (x, y, z, f_dc_*, opacity,
  scale_*, rot_*), read as a ``GaussianCloud`` of SH degree 0-3 (taken from the f_rest count);
* a mesh when a ``face`` element has faces, read as a ``MeshAsset`` (polygons fan-triangulated);
* else a point cloud: x, y, z and optional red/green/blue, read as a ``PointCloud``.

Splats are written in exactly the layout of the reference implementation (graphdeco-inria
gaussian-splatting), which every splat tool reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Literal

import numpy as np
from numpy.lib.recfunctions import structured_to_unstructured

from scene import sh as shmath
from scene.gaussians import GaussianCloud
from scene.io.errors import FormatError
from scene.io.ply_container import (
    ENCODINGS,
    PathLike,
    PlyElement,
    PlyHeader,
    Ragged,
    check_room,
    fixed_dtype,
    read_elements,
    read_header,
    write_elements,
)
from scene.mesh import MeshAsset
from scene.points import PointCloud

PlyKind = Literal["splats", "mesh", "points"]

_SPLAT_REQUIRED = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
                   "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3")  # fmt: skip
_FACE_LISTS = ("vertex_indices", "vertex_index")
_CHUNK_ROWS = 1 << 16  # rows of a streamed splat PLY read at a time (16 MB of SH-3 splats)
_OUTLINE_ROWS = 1 << 14  # rows at a time when only outlining one (a few MB of scratch in all)


# ------------------------------------------------------------------------------ kinds
def _splat_rest_count(path: PathLike, names: list[str]) -> int:
    """The number of f_rest_* properties, checked to be f_rest_0..f_rest_{M-1} of an SH degree."""
    rest = sorted(n for n in names if n.startswith("f_rest_"))
    count = len(rest)
    if set(rest) != {f"f_rest_{i}" for i in range(count)}:
        raise FormatError(path, f"the f_rest_* properties are not numbered 0..{count - 1}")
    if count % 3 or count // 3 + 1 not in [shmath.num_coeffs(d) for d in range(shmath.MAX_DEGREE + 1)]:
        raise FormatError(path, f"{count} f_rest_* properties do not match an SH degree 0-3 (0, 9, 24 or 45)")
    return count


def _face_list(header: PlyHeader) -> str | None:
    """The name of the face element's integer index list, when there are faces."""
    face = header.element("face")
    if face is None or face.count == 0:
        return None
    lists = {p.name for p in face.properties if p.count_dtype and p.dtype[0] != "f"}
    return next((n for n in _FACE_LISTS if n in lists), None)


def _kind(header: PlyHeader) -> PlyKind | None:
    vertex = header.element("vertex")
    if vertex is None or not {"x", "y", "z"} <= set(vertex.property_names()):
        return None
    if set(_SPLAT_REQUIRED) <= set(vertex.property_names()):
        return "splats"
    return "mesh" if _face_list(header) else "points"


def ply_kind(path: PathLike) -> PlyKind:
    """What a PLY file holds, from its header alone: "splats", "mesh" or "points"."""
    kind = _kind(read_header(path))
    if kind is None:
        raise FormatError(path, "the PLY has no 'vertex' element with x, y, z properties")
    return kind


# ------------------------------------------------------------------------------ reading
def _float_table(rows: np.ndarray, names: list[str]) -> np.ndarray:
    """Fields ``names`` of structured ``rows`` as a float32 array ``[N, len(names)]`` (one pass)."""
    return structured_to_unstructured(rows[names], dtype=np.float32)


def _colors(rows: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
    """Colours 0-1 from integer (scaled by the type's maximum) or float (taken as 0-1) fields."""
    if not set(names) <= set(rows.dtype.names):
        return None
    channels = []
    for n in names:
        values = rows[n]
        scale = np.iinfo(values.dtype).max if values.dtype.kind in "iu" else 1.0
        channels.append(values.astype(np.float64) / scale)
    return np.clip(np.stack(channels, axis=1), 0.0, 1.0).astype(np.float32)


def _splat_fields(path: PathLike, names: list[str]) -> list[str]:
    """The vertex properties a splat cloud is made of, in :func:`_cloud_from_table`'s order."""
    k = _splat_rest_count(path, names) // 3 + 1
    # SH fields in [K, 3] order: coefficient j of channel c is f_dc_c (j = 0) or f_rest_{c(K-1) + j-1}.
    sh_names = [f"f_dc_{c}" if j == 0 else f"f_rest_{c * (k - 1) + j - 1}" for j in range(k) for c in range(3)]
    return ["x", "y", "z", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "opacity", *sh_names]


def _cloud_from_table(table: np.ndarray) -> GaussianCloud:
    """A cloud from the float32 table of :func:`_splat_fields` columns."""
    sh = table[:, 11:].reshape(len(table), (table.shape[1] - 11) // 3, 3)
    return GaussianCloud(table[:, 0:3], table[:, 3:6], table[:, 6:10], table[:, 10], sh)


def _gaussians(path: PathLike, vertex: np.ndarray) -> GaussianCloud:
    return _cloud_from_table(_float_table(vertex, _splat_fields(path, list(vertex.dtype.names))))


def _streamable_vertex(header: PlyHeader) -> PlyElement | None:
    """The vertex element when it can be read straight from the file in chunks: binary, first in
    the file, fixed-size rows (no lists)."""
    if header.encoding == "ascii" or not header.elements or header.elements[0].name != "vertex":
        return None
    vertex = header.elements[0]
    return None if vertex.has_lists else vertex


def _splat_tables(path: PathLike, header: PlyHeader, vertex: PlyElement, rows: int) -> Iterator[np.ndarray]:
    """The float32 table of :func:`_splat_fields` columns of a streamable vertex element, ``rows`` rows
    at a time, read straight from the file. The file is checked to hold the rows its header claims
    before this returns, so a caller may size its arrays by the header."""
    dtype = fixed_dtype(vertex, ENCODINGS[header.encoding], {})
    names = _splat_fields(path, list(dtype.names))
    try:
        check_room(path, vertex, dtype.itemsize, os.path.getsize(path) - header.data_offset)
    except OSError as exc:
        raise FormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    return _blocks(path, header.data_offset, dtype, names, vertex.count, rows)


def _blocks(path: PathLike, offset: int, dtype: np.dtype, names: list[str], count: int, rows: int) -> Iterator[np.ndarray]:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            for start in range(0, count, rows):
                yield _float_table(np.fromfile(handle, dtype, min(rows, count - start)), names)
    except OSError as exc:
        raise FormatError(path, f"cannot be read ({exc.strerror or exc})") from None


def _gaussians_streamed(path: PathLike, header: PlyHeader, vertex: PlyElement) -> GaussianCloud:
    """A splat PLY read a chunk of rows at a time into the final table.

    The whole-file path holds the file's bytes and a converted copy at once; this one needs
    :data:`_CHUNK_ROWS` rows of scratch, so a million splats load without ~0.5 GB of temporaries
    whose allocation and release (page faults, unmapping) also slow the other threads of the
    process, the GUI's among them.
    """
    blocks = _splat_tables(path, header, vertex, _CHUNK_ROWS)  # first: it checks the file holds vertex.count rows
    table = np.empty((vertex.count, len(_splat_fields(path, vertex.property_names()))), np.float32)
    start = 0
    for block in blocks:
        table[start : start + len(block)] = block
        start += len(block)
    return _cloud_from_table(table)


@dataclass(frozen=True)
class SplatOutline:
    """What a splat PLY holds, without holding it: the count and SH degree its header says and the
    bounds of its centres. It answers ``count``, ``sh_degree`` and ``bounds()`` as a GaussianCloud does."""

    count: int
    sh_degree: int
    lowest: np.ndarray  # [3] float32, the least x, y, z of the centres
    highest: np.ndarray  # [3] float32

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lowest, self.highest


def splat_outline(path: PathLike) -> SplatOutline | None:
    """The outline of a binary splat PLY, read a block of rows at a time (a few MB for any size), every
    block checked as loading checks a cloud; None for a PLY of other contents or layout (load it)."""
    header = read_header(path)
    vertex = _streamable_vertex(header)
    if _kind(header) != "splats" or vertex is None:
        return None
    lowest, highest = np.zeros(3, np.float32), np.zeros(3, np.float32)  # an empty cloud's bounds
    coefficients = _splat_rest_count(path, vertex.property_names()) // 3 + 1
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for index, table in enumerate(_splat_tables(path, header, vertex, _OUTLINE_ROWS)):
                block_lowest, block_highest = _cloud_from_table(table).bounds()  # validates the block
                lowest = block_lowest if index == 0 else np.minimum(lowest, block_lowest)
                highest = block_highest if index == 0 else np.maximum(highest, block_highest)
    except FormatError:
        raise
    except ValueError as exc:  # a block that is not a valid cloud
        raise FormatError(path, str(exc)) from None
    return SplatOutline(vertex.count, shmath.degree_of(coefficients), lowest, highest)


def _triangles(path: PathLike, indices: Ragged) -> np.ndarray:
    """Fan-triangulated faces ``[F, 3]`` (int64) from the face element's index lists."""
    counts, values = indices
    if np.any(counts < 3):
        raise FormatError(path, "a face has fewer than 3 vertices")
    n_tri = counts - 2
    offsets = np.cumsum(counts) - counts
    polygon = np.repeat(np.arange(len(counts)), n_tri)
    corner = np.arange(int(n_tri.sum())) - np.repeat(np.cumsum(n_tri) - n_tri, n_tri)
    first = offsets[polygon]
    values = values.astype(np.int64)
    return np.stack([values[first], values[first + corner + 1], values[first + corner + 2]], axis=1)


def read_ply(path: PathLike) -> GaussianCloud | MeshAsset | PointCloud:
    """Read a PLY file as splats, a mesh or a point cloud (see the module docstring)."""
    header = read_header(path)
    kind = _kind(header)
    if kind is None:
        raise FormatError(path, "the PLY has no 'vertex' element with x, y, z properties")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # junk values fail validation, not warn
            vertex = _streamable_vertex(header)
            if kind == "splats" and vertex is not None:  # the usual 3DGS file
                return _gaussians_streamed(path, header, vertex)
            return _read_whole(path, header, kind)
    except FormatError:
        raise
    except ValueError as exc:  # the validation of GaussianCloud, MeshAsset and PointCloud
        raise FormatError(path, str(exc)) from None


def _read_whole(path: PathLike, header: PlyHeader, kind: PlyKind) -> GaussianCloud | MeshAsset | PointCloud:
    """A PLY that cannot be streamed (ascii, lists, other elements first), read all at once."""
    _, elements = read_elements(path, {"vertex", "face"})
    vertex = elements["vertex"]
    if not isinstance(vertex, np.ndarray):
        raise FormatError(path, "the vertex element has list properties")
    if kind == "splats":
        return _gaussians(path, vertex)
    points = _float_table(vertex, ["x", "y", "z"])
    if kind == "mesh":
        colors = _colors(vertex, ("red", "green", "blue", "alpha"))
        if colors is None:
            colors = _colors(vertex, ("red", "green", "blue"))
        faces = _triangles(path, elements["face"][_face_list(header)])
        return MeshAsset(points, faces, vertex_colors=colors)
    return PointCloud(points, _colors(vertex, ("red", "green", "blue")))


# ------------------------------------------------------------------------------ writing
def splat_ply_fields(degree: int) -> list[str]:
    """The vertex property names of a 3DGS PLY of SH ``degree``, in the reference order."""
    rest = [f"f_rest_{i}" for i in range(3 * (shmath.num_coeffs(degree) - 1))]
    return ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", *rest,
            "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]  # fmt: skip


def write_gaussians_ply(path: PathLike, cloud: GaussianCloud) -> None:
    """Write ``cloud`` in the reference 3DGS PLY layout (normals zero, f_rest channel-major)."""
    n, k = cloud.count, cloud.sh.shape[1]
    table = np.concatenate(
        [
            cloud.means,
            np.zeros((n, 3), np.float32),
            cloud.sh[:, 0, :],
            cloud.sh[:, 1:, :].transpose(0, 2, 1).reshape(n, 3 * (k - 1)),
            cloud.opacity_logits[:, None],
            cloud.log_scales,
            cloud.quats,
        ],
        axis=1,
        dtype="<f4",
    )
    dtype = np.dtype([(name, "<f4") for name in splat_ply_fields(cloud.sh_degree)])
    write_elements(path, [("vertex", np.ascontiguousarray(table).view(dtype).reshape(n))])


def _color_bytes(colors: np.ndarray) -> np.ndarray:
    return np.round(np.clip(colors, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_points_ply(path: PathLike, points: PointCloud) -> None:
    """Write a point cloud as x, y, z (float) and red, green, blue (uchar)."""
    rows = np.empty(points.count, [("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
                                    ("red", "u1"), ("green", "u1"), ("blue", "u1")])  # fmt: skip
    for i, axis in enumerate("xyz"):
        rows[axis] = points.points[:, i]
    for i, channel in enumerate(("red", "green", "blue")):
        rows[channel] = _color_bytes(points.colors[:, i])
    write_elements(path, [("vertex", rows)])


def write_mesh_ply(path: PathLike, mesh: MeshAsset) -> None:
    """Write a mesh with normals and, when it has any colour, RGBA vertex colours.

    PLY has no texture, so a textured mesh is written with colours sampled from its texture.
    """
    from scene.io.meshes import texture_to_vertex_colors  # meshes.py imports trimesh: only when needed

    colors = mesh.vertex_colors if not mesh.is_textured else texture_to_vertex_colors(mesh)
    fields = [(name, "<f4") for name in ("x", "y", "z", "nx", "ny", "nz")]
    if colors is not None:
        fields += [(name, "u1") for name in ("red", "green", "blue", "alpha")]
    rows = np.empty(mesh.vertex_count, fields)
    for i, name in enumerate(("x", "y", "z")):
        rows[name] = mesh.vertices[:, i]
        rows["n" + name] = mesh.normals[:, i]
    if colors is not None:
        for i, name in enumerate(("red", "green", "blue", "alpha")):
            rows[name] = _color_bytes(colors[:, i])
    faces = np.empty(mesh.face_count, [("vertex_indices", "<i4", (3,))])
    faces["vertex_indices"] = mesh.faces
    write_elements(path, [("vertex", rows), ("face", faces)])
