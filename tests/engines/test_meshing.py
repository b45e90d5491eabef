"""Meshes from Gaussians: the density grid and the clean mesh marching cubes makes of it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from engines.fields import FieldError
from engines.meshing.density import REACH, density_grid
from engines.meshing.extract import clean, mesh_from_gaussians
from engines.meshing.settings import MeshingSettings
from engines.rasterizer import camera_to_tensors, rasterize
from engines.rasterizer.projection import covariances
from scene import Camera, MeshAsset
from scene.rotation import matrix_to_quat, quat_multiply
from tests.known_objects import striped_ball


def filled_ball(n: int, radius: float = 1.0, centre=(0.0, 0.0, 0.0), sigma: float = 0.05, seed: int = 0):
    """``n`` half-opaque round Gaussians spread evenly through a ball: means, quats, scales, opacities."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    means = directions * radius * rng.random((n, 1)) ** (1 / 3) + np.asarray(centre)
    return means, rng.normal(size=(n, 4)), np.full((n, 3), sigma), np.full(n, 0.5)


SHARP = {"threshold": 1.0, "smoothing": 0.0, "fill_radius": 0}
"""DreamGaussian's extraction: the bare iso-surface of the density, whose place the tests below know."""


def as_trimesh(mesh: MeshAsset) -> trimesh.Trimesh:
    return trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)


def brute_force_density(means, quats, scales, opacities, points):  # [N, 3]... , [P, 3] -> [P]
    """Every Gaussian at every point, cut at the reach: the plain definition."""
    precisions = torch.linalg.inv(covariances(quats, scales).double())
    d = points.double()[:, None, :] - means.double()[None]  # [P, N, 3]
    squared = torch.einsum("pni,nij,pnj->pn", d, precisions, d)
    return (opacities.double() * torch.exp(-0.5 * squared) * (squared <= REACH**2)).sum(dim=1)


@pytest.mark.parametrize("box", [None, (np.array([-0.4, -0.3, -0.5]), np.array([0.5, 0.2, 0.3]))])
def test_density_grid_matches_the_plain_definition(box):
    torch.manual_seed(0)
    n = 60
    means, quats = torch.randn(n, 3) * 0.5, torch.randn(n, 4)
    scales, opacities = torch.rand(n, 3) * 0.25 + 0.005, torch.rand(n)
    scales[0] = torch.tensor([2.0, 0.05, 0.5])  # one Gaussian wider than the box
    grid = density_grid(means, quats, scales, opacities, resolution=24, box=box)
    indices = np.stack(np.meshgrid(*(np.arange(s) for s in grid.values.shape), indexing="ij"), -1)
    points = torch.from_numpy(grid.to_world(indices.reshape(-1, 3)))
    expected = brute_force_density(means, quats, scales, opacities, points).reshape(grid.values.shape)
    torch.testing.assert_close(torch.from_numpy(grid.values).double(), expected, atol=1e-4, rtol=1e-4)
    assert max(grid.values.shape) == 24


def test_density_grid_covers_the_box_with_cubic_voxels():
    means = torch.tensor([[0.0, 0.0, 0.0], [2.0, 1.0, 0.5]])
    grid = density_grid(means, torch.tensor([[1.0, 0, 0, 0]] * 2), torch.full((2, 3), 0.1), torch.ones(2), 41)
    low, high = grid.origin, grid.to_world(np.array(grid.values.shape) - 1)
    assert np.all(low <= np.array([-0.3, -0.3, -0.3]) + 1e-6)
    assert np.all(high >= np.array([2.3, 1.3, 0.8]) - 1e-6)
    assert grid.values.shape[0] == 41 and grid.values.shape[1] < 41  # a flat cloud gets a flat grid


def test_a_filled_ball_gives_a_closed_round_mesh_within_the_budget():
    mesh = mesh_from_gaussians(*filled_ball(20_000), resolution=64, face_budget=3000, **SHARP)
    surface = as_trimesh(mesh)
    assert surface.is_watertight
    assert 0.8 * 3000 <= mesh.face_count <= 3000
    radii = np.linalg.norm(mesh.vertices, axis=1)
    # the iso-surface of the summed bells lies just outside the ball the centres fill (sigma 0.05)
    assert abs(radii.mean() - 1.0) < 0.06 and radii.std() < 0.03
    outward = np.einsum("ij,ij->i", mesh.normals, mesh.vertices / radii[:, None])
    assert outward.min() > 0.5 and surface.volume > 0


def test_a_mesh_under_the_budget_is_not_decimated_and_is_still_clean():
    mesh = mesh_from_gaussians(*filled_ball(5000), resolution=32, face_budget=100_000, **SHARP)
    surface = as_trimesh(mesh)
    assert surface.is_watertight and mesh.face_count > 1000
    assert len(surface.nondegenerate_faces()) == mesh.face_count
    assert len(np.unique(np.round(mesh.vertices, 6), axis=0)) == mesh.vertex_count


def test_floaters_far_away_are_dropped():
    ball = filled_ball(20_000)
    speck = filled_ball(200, radius=0.1, centre=(3.0, 0.0, 0.0), sigma=0.02, seed=1)
    gaussians = [np.concatenate(pair) for pair in zip(ball, speck)]
    kept = mesh_from_gaussians(*gaussians, resolution=96, face_budget=5000, **SHARP)
    assert np.linalg.norm(kept.vertices, axis=1).max() < 1.2
    assert as_trimesh(kept).is_watertight
    everything = mesh_from_gaussians(*gaussians, resolution=96, face_budget=5000, **SHARP, min_part_fraction=0.0)
    assert np.linalg.norm(everything.vertices, axis=1).max() > 2.5  # the speck is a surface of its own


def test_a_box_that_cuts_the_object_still_gives_a_closed_mesh():
    box = (np.array([-1.2, -1.2, -1.2]), np.array([1.2, 1.2, 0.0]))  # the lower half of the ball
    mesh = mesh_from_gaussians(*filled_ball(20_000), resolution=48, face_budget=4000, box=box, **SHARP)
    assert as_trimesh(mesh).is_watertight
    voxel = 2.4 / 47
    assert mesh.vertices[:, 2].max() <= 2 * voxel and mesh.vertices[:, 2].min() < -0.9  # capped at the box


def test_the_default_outline_is_the_rendered_splats_outline():
    """A shell of small splats (the known striped ball) seen from afar: the mesh's outline has the
    radius of the rendered splats' (alpha 0.5), and it is one closed outer skin, nothing inside."""
    ball = striped_ball(3000)
    camera = Camera.look_at([0.0, 0.0, 6.0], [0.0, 0.0, 0.0], width=200, height=200, fov_y_deg=15.0)
    viewmats, Ks, width, height = camera_to_tensors([camera])
    params = [torch.tensor(a) for a in (ball.means, ball.quats, ball.scales, ball.opacities, ball.sh)]
    alpha = rasterize(*params, viewmats, Ks, width, height, sh_degree=0, background=torch.zeros(3)).alpha[0, ..., 0]
    angle = math.atan(math.sqrt(float((alpha > 0.5).sum()) / math.pi) / camera.intrinsics()[0, 0])
    rendered_radius = 6.0 * math.sin(angle)

    mesh = mesh_from_gaussians(ball.means, ball.quats, ball.scales, ball.opacities, resolution=96, face_budget=20_000)
    radii = np.linalg.norm(mesh.vertices, axis=1)
    assert as_trimesh(mesh).is_watertight and len(as_trimesh(mesh).split(only_watertight=False)) == 1
    assert radii.min() > 0.85 * rendered_radius  # no inner skin
    outline = np.linalg.norm(mesh.vertices[np.abs(mesh.vertices[:, 2]) < 0.03, :2], axis=1)  # the rim facing the camera
    assert abs(np.median(outline) / rendered_radius - 1.0) < 0.05, (np.median(outline), rendered_radius)  # 3.7% here


def test_pores_into_a_hollow_are_closed_over_by_the_fill():
    """A shell with holes wider than the voxels but narrower than the fill ball: filled, one outer skin;
    with the fill off, the holes join the outer skin to an inner one (a mesh of high genus)."""
    rng = np.random.default_rng(5)
    directions = rng.normal(size=(20_000, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    pores = rng.normal(size=(12, 3))
    pores /= np.linalg.norm(pores, axis=1, keepdims=True)
    keep = (directions @ pores.T).max(axis=1) < math.cos(0.12)  # 12 round holes, 0.1 wide at radius 0.8
    shell = (directions[keep] * 0.8, np.tile([1.0, 0, 0, 0], (keep.sum(), 1)), np.full((keep.sum(), 3), 0.02), np.full(keep.sum(), 0.8))
    options = dict(resolution=80, threshold=0.5, smoothing=0.0, face_budget=20_000)
    filled = as_trimesh(mesh_from_gaussians(*shell, fill_radius=4, **options))
    hollow = as_trimesh(mesh_from_gaussians(*shell, fill_radius=0, **options))
    assert filled.is_watertight and filled.euler_number == 2
    assert np.linalg.norm(filled.vertices, axis=1).min() > 0.7
    assert hollow.euler_number < -10 and np.linalg.norm(hollow.vertices, axis=1).min() < 0.8


def test_back_to_back_duplicate_faces_both_go():
    """A fold the decimator leaves: a flap of two coincident faces on an edge of a closed tetrahedron."""
    tetrahedron = trimesh.creation.box().convex_hull
    vertices = np.vstack([tetrahedron.vertices, [[2.0, 2.0, 2.0]]])
    a, b = tetrahedron.faces[0][:2]
    apex = len(vertices) - 1
    faces = np.vstack([tetrahedron.faces, [[a, b, apex], [b, a, apex]]])
    cleaned = clean(trimesh.Trimesh(vertices, faces, process=False))
    assert cleaned.is_watertight and len(cleaned.faces) == len(tetrahedron.faces)


def test_a_transformed_cloud_gives_the_transformed_mesh():
    means, quats, scales, opacities = filled_ball(20_000, sigma=0.05)
    means = means * [1.0, 0.6, 0.35]  # an ellipsoid, so that a rotation shows
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    rotation = rotation @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    scale, shift = 2.0, np.array([5.0, -3.0, 1.0])
    moved_quats = quat_multiply(np.broadcast_to(matrix_to_quat(rotation), quats.shape), quats)
    moved = (means @ rotation.T * scale + shift, moved_quats, scales * scale, opacities)

    original = mesh_from_gaussians(means, quats, scales, opacities, resolution=64, face_budget=4000, **SHARP)
    transformed = mesh_from_gaussians(*moved, resolution=64, face_budget=4000, **SHARP)
    expected = original.vertices @ rotation.T * scale + shift
    distances = np.linalg.norm(transformed.vertices[:, None, :] - expected[None, :, :], axis=-1)
    # symmetric mean nearest-vertex distance, against vertex spacing of about 0.1 at this scale
    assert distances.min(axis=1).mean() < 0.06 and distances.min(axis=0).mean() < 0.06
    assert as_trimesh(transformed).volume == pytest.approx(as_trimesh(original).volume * scale**3, rel=0.02)


def test_no_gaussians_say_so():
    empty = (np.zeros((0, 3)), np.zeros((0, 4)), np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="no Gaussians to mesh"):
        mesh_from_gaussians(*empty)


def test_a_density_below_the_threshold_says_so():
    means, quats, scales, opacities = filled_ball(50, sigma=0.01)  # sparse specks that never overlap
    with pytest.raises(ValueError, match=r"no surface: the density never reaches the threshold 1\b"):
        mesh_from_gaussians(means, quats, scales, opacities * 0.9, resolution=32, **SHARP)


def test_settings_are_checked():
    assert MeshingSettings().threshold == 0.2
    with pytest.raises(FieldError, match="resolution"):
        MeshingSettings(resolution=2)
    with pytest.raises(FieldError, match="min_part_fraction"):
        mesh_from_gaussians(*filled_ball(10), min_part_fraction=1.5)


def test_smoothing_closes_a_porous_shell():
    """Small faint splats on a sphere: at the threshold their density is full of pores; blurred, one closed skin."""
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(6000, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    shell = (directions * 0.45, np.tile([1.0, 0.0, 0.0, 0.0], (6000, 1)), np.full((6000, 3), 0.012), np.full(6000, 0.3))
    porous = as_trimesh(mesh_from_gaussians(*shell, resolution=96, threshold=0.3, smoothing=0.0, min_part_fraction=0.0, fill_radius=0))
    closed = as_trimesh(mesh_from_gaussians(*shell, resolution=96, threshold=0.2, smoothing=2.0, fill_radius=0))
    assert not porous.is_watertight and len(porous.split(only_watertight=False)) > 1
    assert closed.is_watertight and len(closed.split(only_watertight=False)) == 1
