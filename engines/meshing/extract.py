"""A clean triangle mesh from Gaussians, as DreamGaussian's stage 2 starts.

The steps, one function each, in the order :func:`mesh_from_gaussians` runs them: the density on a
grid (:mod:`engines.meshing.density`), blurred, its inside filled, marching cubes at a threshold,
the largest connected parts kept (floaters dropped), small holes closed, decimation to a face
budget, clean-up (merged vertices, no degenerate or duplicate faces), faces wound outward; the
vertex normals follow from the winding (:class:`scene.MeshAsset` computes them).
"""

from __future__ import annotations

import dataclasses
import math

import fast_simplification
import mcubes
import numpy as np
import torch
import trimesh
from torch import Tensor

from engines.meshing.density import DensityGrid, density_grid
from engines.meshing.settings import MeshingSettings
from scene import MeshAsset


def mesh_from_gaussians(
    means: Tensor | np.ndarray,  # [N, 3]
    quats: Tensor | np.ndarray,  # [N, 4] wxyz
    scales: Tensor | np.ndarray,  # [N, 3] linear (activated)
    opacities: Tensor | np.ndarray,  # [N] activated, 0-1
    *,
    resolution: int = MeshingSettings.resolution,
    threshold: float = MeshingSettings.threshold,
    face_budget: int = MeshingSettings.face_budget,
    min_part_fraction: float = MeshingSettings.min_part_fraction,
    smoothing: float = MeshingSettings.smoothing,
    fill_radius: int = MeshingSettings.fill_radius,
    box: tuple[np.ndarray, np.ndarray] | None = None,  # (low [3], high [3]); default: all Gaussians
) -> MeshAsset:
    """The closed surface where the Gaussians' density reaches ``threshold``, as a clean mesh.

    Raises ValueError when there are no Gaussians or the density never reaches the threshold.
    ``MeshingSettings`` holds the same settings: ``mesh_from_gaussians(..., **asdict(settings))``.
    """
    MeshingSettings(resolution, threshold, face_budget, min_part_fraction, smoothing, fill_radius)  # validates them
    if len(means) == 0:
        raise ValueError("no Gaussians to mesh: the splat layer is empty")
    grid = smoothed(density_grid(*map(_tensor, (means, quats, scales, opacities)), resolution, box), smoothing)
    mesh = marching_cubes(filled(grid, threshold, fill_radius), threshold)
    mesh = keep_largest_parts(mesh, min_part_fraction)
    trimesh.repair.fill_holes(mesh)
    mesh = decimate(mesh, face_budget)
    mesh = clean(mesh)
    orient_outward(mesh)
    return MeshAsset(mesh.vertices, mesh.faces)


def smoothed(grid: DensityGrid, sigma: float) -> DensityGrid:
    """``grid`` blurred by a Gaussian of ``sigma`` voxels, one axis at a time (mass kept)."""
    if sigma <= 0:
        return grid
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float32) / sigma) ** 2)
    taps /= taps.sum()
    values = torch.from_numpy(grid.values)[None, None]  # [1, 1, X, Y, Z]
    for axis in range(3):
        shape = [1, 1, 1, 1, 1]
        shape[2 + axis] = len(taps)
        padding = [0, 0, 0]
        padding[axis] = radius
        values = torch.nn.functional.conv3d(values, taps.view(shape), padding=tuple(padding))
    return dataclasses.replace(grid, values=values[0, 0].numpy())


def filled(grid: DensityGrid, threshold: float, radius: int) -> DensityGrid:
    """``grid`` with all it encloses raised above ``threshold``: what a ball of ``radius`` voxels
    cannot reach from outside (cavities, and pores narrower than the ball that lead into them).

    An object grown as a porous shell of splats then gets one outer skin, not a second, inner one
    that no camera sees (it would take half the face budget, and the tunnels between the two skins
    make decimation pinch the surface)."""
    from scipy import ndimage

    inside = grid.values >= threshold
    if radius > 0:
        reached = ~ndimage.binary_fill_holes(ndimage.binary_dilation(inside, _ball(radius)))  # where its centre goes
        # what the ball covers there, one voxel more: a voxel ball leaves gaps along a smooth wall
        outside = ndimage.binary_dilation(reached, _ball(radius + 1)) & ~inside
    else:
        outside = ~ndimage.binary_fill_holes(inside)
    enclosed = ~inside & ~outside
    if not enclosed.any():
        return grid
    return dataclasses.replace(grid, values=np.where(enclosed, np.float32(2 * threshold), grid.values))


def _ball(radius: int) -> np.ndarray:
    """The voxels within ``radius`` of the centre of a ``2 * radius + 1`` cube."""
    return np.linalg.norm(np.indices((2 * radius + 1,) * 3) - radius, axis=0) <= radius


def _tensor(values: Tensor | np.ndarray) -> Tensor:
    """A float32 tensor of ``values`` (a copy of a numpy array: a cloud's arrays are read-only)."""
    return values.float() if isinstance(values, Tensor) else torch.from_numpy(np.array(values, dtype=np.float32))


def marching_cubes(grid: DensityGrid, threshold: float) -> trimesh.Trimesh:
    """The iso-surface at ``threshold``, in world coordinates, closed where it meets the box."""
    peak = float(grid.values.max())
    if not peak >= threshold:
        raise ValueError(
            f"no surface: the density never reaches the threshold {threshold:g} (its highest value is "
            f"{peak:.3g}); lower the threshold, or mesh Gaussians that are denser or more opaque"
        )
    padded = np.pad(grid.values, 1)  # an empty layer all round closes surfaces cut by the box
    vertices, faces = mcubes.marching_cubes(padded.astype(np.float64), threshold)
    return trimesh.Trimesh(grid.to_world(vertices - 1.0), faces, process=True)  # process: merge vertices


def keep_largest_parts(mesh: trimesh.Trimesh, min_part_fraction: float) -> trimesh.Trimesh:
    """The connected parts with at least ``min_part_fraction`` of the largest part's faces."""
    labels = trimesh.graph.connected_component_labels(mesh.face_adjacency, node_count=len(mesh.faces))
    faces_per_part = np.bincount(labels)
    mesh.update_faces(faces_per_part[labels] >= min_part_fraction * faces_per_part.max())
    mesh.remove_unreferenced_vertices()
    return mesh


def decimate(mesh: trimesh.Trimesh, face_budget: int) -> trimesh.Trimesh:
    """The mesh simplified (quadric edge collapses) to at most ``face_budget`` faces."""
    if len(mesh.faces) <= face_budget:
        return mesh
    vertices, faces = fast_simplification.simplify(mesh.vertices, mesh.faces, target_count=face_budget)
    return trimesh.Trimesh(vertices, faces, process=False)


def clean(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The mesh with coincident vertices merged and degenerate, duplicate and unused elements removed.

    Duplicate faces come from the decimator folding a flap back onto the surface: two faces on the
    same corners, back to back, enclosing nothing. Both go (keeping one would leave its edges open).
    """
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    _, group, counts = np.unique(np.sort(mesh.faces, axis=1), axis=0, return_inverse=True, return_counts=True)
    mesh.update_faces(counts[group.reshape(-1)] == 1)
    mesh.remove_unreferenced_vertices()
    return mesh


def orient_outward(mesh: trimesh.Trimesh) -> None:
    """Wind the faces so that their normals point out of the enclosed volume (in place).

    Marching cubes winds every face the same way, so one global sign decides: a surface wound
    outward encloses a positive volume.
    """
    if mesh.volume < 0:
        mesh.invert()
