"""``MeshAsset``: a triangle mesh with vertex colours or a UV-mapped base-colour texture."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from scene.validation import as_array, axis_bounds, same_length


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``[V, 3]``; vertices on no face get +Y."""
    v = vertices.astype(np.float64)
    normals = np.zeros_like(v)
    if len(faces):
        tri = v[faces]
        face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # length = 2 * area
        for corner in range(3):
            np.add.at(normals, faces[:, corner], face_n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 1e-20, normals / np.maximum(length, 1e-20), [0.0, 1.0, 0.0])
    return normals.astype(np.float32)


@dataclass(frozen=True, eq=False)
class MeshAsset:
    """Vertices, triangles and normals, coloured by RGBA vertex colours or a texture with UVs.

    ``vertex_colors`` are float RGBA in 0-1. ``texture`` is an ``[H, W, 3|4]`` uint8 image with
    row 0 at the top, and ``uvs`` follow glTF (v = 0 at the top of the image).
    Normals are computed when not given.
    """

    vertices: np.ndarray  # [V, 3] float32
    faces: np.ndarray  # [F, 3] int32
    normals: np.ndarray | None = None  # [V, 3] float32
    vertex_colors: np.ndarray | None = None  # [V, 4] float32 0-1
    uvs: np.ndarray | None = None  # [V, 2] float32
    texture: np.ndarray | None = None  # [H, W, 3|4] uint8

    def __post_init__(self) -> None:
        vertices = as_array("MeshAsset.vertices", self.vertices, np.float32, (None, 3))
        faces = as_array("MeshAsset.faces", self.faces, np.int64, (None, 3))
        if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise ValueError(
                f"MeshAsset.faces: indices must be in 0..{len(vertices) - 1}, "
                f"found {faces.min()}..{faces.max()}"
            )
        faces = faces.astype(np.int32)
        if self.normals is None:
            normals = vertex_normals(vertices, faces)
        else:
            normals = as_array("MeshAsset.normals", self.normals, np.float32, (None, 3))
        arrays = {"vertices": vertices, "normals": normals}
        colors = None
        if self.vertex_colors is not None:
            colors = as_array("MeshAsset.vertex_colors", self.vertex_colors, np.float32, (None, None))
            if colors.shape[1] == 3:
                colors = np.concatenate([colors, np.ones((len(colors), 1), np.float32)], axis=1)
            if colors.shape[1] != 4:
                raise ValueError(f"MeshAsset.vertex_colors: expected 3 or 4 channels, got {colors.shape[1]}")
            arrays["vertex_colors"] = colors
        uvs = texture = None
        if (self.uvs is None) != (self.texture is None):
            raise ValueError("MeshAsset: uvs and texture come together (both or neither)")
        if self.uvs is not None:
            uvs = as_array("MeshAsset.uvs", self.uvs, np.float32, (None, 2))
            texture = np.ascontiguousarray(self.texture)
            if texture.dtype != np.uint8 or texture.ndim != 3 or texture.shape[2] not in (3, 4):
                raise ValueError(
                    f"MeshAsset.texture: expected an [H, W, 3|4] uint8 image, "
                    f"got {texture.dtype} {list(texture.shape)}"
                )
            arrays["uvs"] = uvs
        same_length("MeshAsset", **arrays)
        for name, value in (
            ("vertices", vertices),
            ("faces", faces),
            ("normals", normals),
            ("vertex_colors", colors),
            ("uvs", uvs),
            ("texture", texture),
        ):
            if value is not None:
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def vertex_count(self) -> int:
        return len(self.vertices)

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @property
    def is_textured(self) -> bool:
        return self.texture is not None

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds ``(min, max)`` of the vertices; zeros for an empty mesh."""
        return self._bounds

    @cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:  # the mesh is immutable: compute once
        return axis_bounds(self.vertices)

    def transformed(self, matrix: np.ndarray) -> "MeshAsset":
        """The mesh moved by an affine 4x4 ``matrix`` (normals by the inverse transpose)."""
        m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
        vertices = self.vertices @ m[:3, :3].T + m[:3, 3]
        normal_matrix = np.linalg.inv(m[:3, :3]).T
        normals = self.normals @ normal_matrix.T
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)
        faces = self.faces if np.linalg.det(m[:3, :3]) > 0 else self.faces[:, ::-1]  # keep winding
        return MeshAsset(vertices, faces, normals, self.vertex_colors, self.uvs, self.texture)
