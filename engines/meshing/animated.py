"""An animated GLB of a clip: a textured mesh of its canonical splats, moved by the splats' motion.

1. The mesh: the canonical splats meshed and their texture baked exactly as text-to-3D's stage 2
   does (:func:`engines.meshing.extract.mesh_from_gaussians`, then
   :func:`engines.meshing.uv_bake.textured_mesh` from renders of the splats), decimated to
   ``max_faces``.
2. Skinning: each vertex follows its ``neighbours`` nearest canonical splats, weighted by opacity
   over squared distance. A splat moves rigidly: its centre shift, and the turn from its canonical
   rotation to its rotation at the time. A vertex goes where the weighted blend of those rigid
   motions takes it (linear blend skinning); its normal turns with the blended rotation. A clip
   that moves all its splats rigidly moves its mesh exactly so.
3. The frames: the clip evaluated with :meth:`scene.clip.GaussianClip.at` (motion, timing and
   group keys) at its frames' document times (:meth:`scene.clip.GaussianClip.frame_times`, at the
   clip's rate or ``fps``), at most ``max_frames`` of them, written as morph targets with a
   weights animation (:mod:`scene.io.animated_glb`). The animation starts at 0 s: the clip's
   offset on the document's timeline is left out.

Splats that make no usable surface (too sparse or too noisy: no density reaches the threshold,
the mesh falls into many parts, or it leaves most of the splats out) become small ellipsoids
instead: an icosahedron per splat stretched by its scales (one sigma) and turned by its rotation,
in its colour, following it exactly, the most visible ``max_faces / 20`` splats. Ellipsoids
rather than glTF points: Blender imports points as loose vertices that render as nothing and most
viewers draw them one pixel wide, while ellipsoids show each splat's place, size, shape and
colour everywhere, and they are a plain triangle mesh with vertex colours for the same writer.

A flipbook clip (frames of different splats, nothing to follow from one frame to the next) is
meshed frame by frame, each frame's mesh (or ellipsoids) shown in turn
(:func:`scene.io.animated_glb.write_flipbook_glb`): every frame is meshed and baked, so it takes
as long as that many text-to-3D meshes, and the file grows with the frames.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from engines.fields import check_fields
from engines.meshing.extract import mesh_from_gaussians
from engines.meshing.settings import MeshingSettings
from engines.meshing.uv_bake import bake_cameras, render_views, textured_mesh
from scene import GaussianCloud, MeshAsset
from scene.clip import GaussianClip
from scene.io.animated_glb import write_flipbook_glb, write_morph_glb
from scene.io.errors import FormatError
from scene.rotation import quat_to_matrix

MAX_PARTS = 16
"""A mesh in more connected parts than this is a scatter of blobs, not the clip's surface."""
MIN_COVERAGE = 0.7
"""Least share of the splats' opacity whose centres must lie within the mesh's bounds (grown by a
tenth of its size): a mesh of one dense spot in a spray of splats leaves the rest out."""
ELLIPSOID_FACES = 20
"""Triangles of one splat's ellipsoid (an icosahedron)."""


@dataclass
class AnimatedGlbSettings:
    """How a clip becomes an animated GLB: the frames sampled, the mesh's detail, its texture and skinning."""

    fps: float = field(default=0.0, metadata={"min": 0.0})
    """Frames per second of the animation; 0: the clip's own frames as it plays them."""
    max_frames: int = field(default=240, metadata={"min": 1})
    """Most frames written; a longer clip is sampled more sparsely (each frame stores every vertex's
    position and normal again)."""
    max_faces: int = field(default=20_000, metadata={"min": ELLIPSOID_FACES})
    """Most triangles of the mesh (it is decimated to this); for splats shown as ellipsoids, 20 each."""
    resolution: int = field(default=128, metadata={"min": 8, "max": 1024, "advanced": True})
    """Density samples along the longest side of the splats' box when meshing (see the meshing settings)."""
    texture_size: int = field(default=512, metadata={"min": 16, "max": 4096, "advanced": True})
    """Side of the baked base-colour texture in pixels."""
    bake_views: int = field(default=8, metadata={"min": 1, "advanced": True})
    """Renders of the canonical splats the texture is baked from."""
    neighbours: int = field(default=8, metadata={"min": 1, "max": 64, "advanced": True})
    """Splats each vertex follows (its nearest, weighted by opacity over squared distance)."""

    def __post_init__(self) -> None:
        check_fields(self)


class AnimatedMesh(NamedTuple):
    """A mesh and where its vertices are at each written frame."""

    mesh: MeshAsset  # the rest pose (the canonical splats' mesh)
    positions: np.ndarray  # [F, V, 3] vertex positions per frame
    normals: np.ndarray  # [F, V, 3] unit vertex normals per frame
    times: np.ndarray  # [F] seconds from 0
    note: str  # why the splats are ellipsoids; "" for a surface


class Flipbook(NamedTuple):
    """A mesh for each written frame of a flipbook clip."""

    meshes: list[MeshAsset]  # frame k's surface or ellipsoids (no faces: an empty frame)
    times: np.ndarray  # [F] seconds from 0 where each shows
    notes: list[str]  # why frame k's splats are ellipsoids; "" for a surface


def write_animated_glb(
    clip: GaussianClip, path: str | os.PathLike, settings: AnimatedGlbSettings | None = None, **changes: object
) -> str:
    """Write ``clip`` as an animated GLB at ``path``; ``changes`` override fields of ``settings``
    (``fps=12, max_faces=5000``). Returns one line saying what was written. FormatError for a path
    that cannot be written (checked before the work), ValueError for a clip that cannot be exported."""
    target = Path(path)
    if target.suffix.lower() != ".glb":
        given = target.suffix or "a file without extension"
        raise FormatError(path, f"an animated clip is written as .glb, not as {given}")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FormatError(path, f"the folder {folder} does not exist")
    settings = dataclasses.replace(settings or AnimatedGlbSettings(), **changes)
    if clip.is_flipbook:
        book = flipbook_meshes(clip, settings)
        write_flipbook_glb(path, book.meshes, book.times)
        shapes = sum(1 for mesh, note in zip(book.meshes, book.notes) if note and mesh.face_count)
        return f"a flipbook of {len(book.meshes)} frames, {shapes} of them as ellipsoids (no surface in their splats)"
    animated = animated_mesh(clip, settings)
    write_morph_glb(path, animated.mesh, animated.positions, animated.times, animated.normals)
    frames = f"{len(animated.times)} frame{'s' if len(animated.times) != 1 else ''}"
    if animated.note:
        splats = animated.mesh.face_count // ELLIPSOID_FACES
        return f"{splats} splats as ellipsoids over {frames} ({animated.note})"
    texture = "textured" if animated.mesh.is_textured else "coloured"
    return f"a {texture} surface of {animated.mesh.face_count} faces over {frames}"


def animated_mesh(clip: GaussianClip, settings: AnimatedGlbSettings = AnimatedGlbSettings()) -> AnimatedMesh:
    """The mesh of a moving ``clip`` (or its splats' ellipsoids) and its vertices at each exported frame."""
    if clip.is_flipbook:
        raise ValueError("a flipbook clip (frames of different splats) has no one mesh to move: use flipbook_meshes")
    if clip.count == 0:
        raise ValueError("the clip has no splats to export")
    times = export_times(clip, settings.fps, settings.max_frames)
    mesh, note = surface_mesh(clip.canonical, settings)
    if mesh is not None:
        indices, weights = skinning_weights(mesh.vertices, clip.canonical, settings.neighbours)
        moved = [skinned(mesh, indices, weights, clip.canonical, clip.at(float(t))) for t in times]
    else:
        chosen = visible_splats(clip.canonical, settings.max_faces // ELLIPSOID_FACES)
        mesh = ellipsoids(clip.canonical.subset(chosen))
        moved = [_ellipsoid_frame(clip.at(float(t)).subset(chosen)) for t in times]
    positions = np.stack([p for p, _ in moved]).astype(np.float32)
    normals = np.stack([n for _, n in moved]).astype(np.float32)
    return AnimatedMesh(mesh, positions, normals, times - times[0], note)


def flipbook_meshes(clip: GaussianClip, settings: AnimatedGlbSettings = AnimatedGlbSettings()) -> Flipbook:
    """A surface (or ellipsoids) of the splats shown at each exported time of a flipbook ``clip``;
    a time that shows the same splats as the one before (the same frame, no group keys) is left
    out, as the frame before goes on showing."""
    times = export_times(clip, settings.fps, settings.max_frames)
    keyed = any(group.keys for group in clip.groups)
    shown = [float(t) if keyed else clip.frame_at(float(t))[0] for t in times]
    kept = [i for i in range(len(times)) if i == 0 or shown[i] != shown[i - 1]]
    meshes, notes = [], []
    for i in kept:
        cloud = clip.at(float(times[i]))
        mesh, note = surface_mesh(cloud, settings) if cloud.count else (None, "no splats")
        if mesh is None:
            mesh = ellipsoids(cloud.subset(visible_splats(cloud, settings.max_faces // ELLIPSOID_FACES)))
        meshes.append(mesh)
        notes.append(note)
    return Flipbook(meshes, times[kept] - times[0], notes)


def export_times(clip: GaussianClip, fps: float, max_frames: int) -> np.ndarray:  # [F] document seconds
    """Document times of the exported frames: the clip sampled at ``fps`` (0: its own) from its
    offset to its end (:meth:`scene.clip.GaussianClip.frame_times`, group keys included), evenly
    thinned to ``max_frames`` when there are more."""
    times = clip.frame_times(fps or None)
    if len(times) > max_frames:
        times = np.linspace(times[0], times[-1], max_frames)
    return times


def surface_mesh(cloud: GaussianCloud, settings: AnimatedGlbSettings) -> tuple[MeshAsset | None, str]:
    """The textured mesh of ``cloud`` (coloured by its splats when the bake fails), or None and why
    it has no usable surface."""
    meshing = dataclasses.asdict(MeshingSettings(resolution=settings.resolution, face_budget=settings.max_faces))
    try:
        mesh = mesh_from_gaussians(cloud.means, cloud.quats, cloud.scales, cloud.opacities, **meshing)
    except ValueError:  # the density never reaches the surface's threshold
        return None, "the splats are too sparse or faint for a surface"
    adjacency = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).face_adjacency
    parts = int(trimesh.graph.connected_component_labels(adjacency, node_count=mesh.face_count).max()) + 1
    if parts > MAX_PARTS:
        return None, f"the splats make {parts} separate blobs, not one surface"
    coverage = _coverage(mesh, cloud)
    if coverage < MIN_COVERAGE:
        return None, f"the surface holds only {coverage:.0%} of the splats"
    cameras = bake_cameras(mesh, settings.bake_views, resolution=max(64, settings.texture_size // 2))
    try:
        return textured_mesh(mesh, render_views(cloud, cameras), settings.texture_size), ""
    except ValueError:  # no render covers the mesh: colours from the splats nearest each vertex
        indices, weights = skinning_weights(mesh.vertices, cloud, settings.neighbours)
        colours = np.einsum("vk,vkc->vc", weights, np.clip(cloud.base_colors[indices], 0.0, 1.0))
        return MeshAsset(mesh.vertices, mesh.faces, mesh.normals, vertex_colors=colours), ""


def _coverage(mesh: MeshAsset, cloud: GaussianCloud) -> float:
    """The share of the splats' opacity whose centres lie within the mesh's bounds, grown by a tenth."""
    lo, hi = mesh.bounds()
    margin = 0.1 * (hi - lo).max()
    inside = np.all((cloud.means >= lo - margin) & (cloud.means <= hi + margin), axis=1)
    opacity = cloud.opacities
    return float(opacity[inside].sum() / max(opacity.sum(), 1e-12))


def skinning_weights(
    vertices: np.ndarray,  # [V, 3]
    cloud: GaussianCloud,  # the splats in their rest pose
    neighbours: int,
) -> tuple[np.ndarray, np.ndarray]:  # indices [V, K] into the cloud, weights [V, K] summing to 1
    """Each vertex's ``neighbours`` nearest splats and their weights, opacity over squared distance."""
    k = min(neighbours, cloud.count)
    distances, indices = cKDTree(cloud.means).query(vertices, k=k)
    distances, indices = distances.reshape(len(vertices), k), indices.reshape(len(vertices), k)
    lo, hi = cloud.bounds()
    floor = 1e-4 * max(float(np.linalg.norm(hi - lo)), 1e-9)  # a vertex on a centre: finite weights
    weights = cloud.opacities[indices] / (distances**2 + floor**2)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-30)
    return indices, weights


def skinned(
    mesh: MeshAsset,
    indices: np.ndarray,  # [V, K] splats each vertex follows
    weights: np.ndarray,  # [V, K]
    rest: GaussianCloud,
    moved: GaussianCloud,  # the same splats at another time
) -> tuple[np.ndarray, np.ndarray]:  # positions [V, 3], unit normals [V, 3]
    """The vertices and normals of ``mesh`` carried by the splats' rigid motions from ``rest`` to ``moved``."""
    used, local = np.unique(indices, return_inverse=True)
    local = local.reshape(indices.shape)
    turns = quat_to_matrix(moved.quats[used]) @ np.swapaxes(quat_to_matrix(rest.quats[used]), 1, 2)  # [U, 3, 3]
    offsets = mesh.vertices[:, None, :].astype(np.float64) - rest.means[used][local]  # [V, K, 3]
    carried = np.einsum("vkij,vkj->vki", turns[local], offsets) + moved.means[used][local]
    positions = np.einsum("vk,vki->vi", weights, carried)
    blended = np.einsum("vk,vkij->vij", weights, turns[local])
    normals = np.einsum("vij,vj->vi", blended, mesh.normals.astype(np.float64))
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)
    return positions, normals


def visible_splats(cloud: GaussianCloud, count: int) -> np.ndarray:  # [M] indices, M <= count
    """The ``count`` splats that show most (opacity times their area), in their order in the cloud."""
    area = np.exp(cloud.log_scales.astype(np.float64)).prod(axis=1) ** (2.0 / 3.0)
    visibility = cloud.opacities * area
    return np.sort(np.argsort(-visibility, kind="stable")[:count])


_ICOSAHEDRON = trimesh.creation.icosahedron()


def ellipsoids(cloud: GaussianCloud) -> MeshAsset:
    """One icosahedron per splat, stretched to one sigma by its scales and turned by its rotation, in its colour."""
    positions, normals = _ellipsoid_frame(cloud)
    corners = len(_ICOSAHEDRON.vertices)
    faces = _ICOSAHEDRON.faces[None] + corners * np.arange(cloud.count)[:, None, None]
    colours = np.repeat(np.clip(cloud.base_colors, 0.0, 1.0), corners, axis=0)
    return MeshAsset(positions, faces.reshape(-1, 3), normals, vertex_colors=colours)


def _ellipsoid_frame(cloud: GaussianCloud) -> tuple[np.ndarray, np.ndarray]:  # positions, normals [S * 12, 3]
    """The splats' ellipsoid corners and their normals (the unit sphere's, through the inverse stretch)."""
    unit = np.asarray(_ICOSAHEDRON.vertices, dtype=np.float64)  # [12, 3] on the unit sphere
    turns = quat_to_matrix(cloud.quats)  # [S, 3, 3]
    scales = cloud.scales.astype(np.float64)[:, None, :]  # [S, 1, 3]
    positions = np.einsum("sij,scj->sci", turns, unit[None] * scales) + cloud.means[:, None, :]
    normals = np.einsum("sij,scj->sci", turns, unit[None] / scales)
    normals /= np.maximum(np.linalg.norm(normals, axis=2, keepdims=True), 1e-20)
    return positions.reshape(-1, 3), normals.reshape(-1, 3)
