"""Meshes: textures, and splats over a mesh at equal depths (splats must not write depth)."""

from __future__ import annotations

import numpy as np

from scene import Camera, Document, GaussianCloud, Layer, MeshAsset

CAMERA = Camera.look_at([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], width=120, height=90)


def _plane(z: float, x0: float, x1: float, color=(0.2, 0.9, 0.2, 1.0)) -> MeshAsset:
    vertices = [[x0, -2, z], [x1, -2, z], [x1, 2, z], [x0, 2, z]]
    return MeshAsset(vertices, [[0, 1, 2], [0, 2, 3]], vertex_colors=np.tile(color, (4, 1)))


def _splats() -> GaussianCloud:
    xs = np.linspace(-1.2, 1.2, 7)
    means = np.stack([xs, 0 * xs, 0 * xs], 1)
    return GaussianCloud.create(means, 0.15, [1.0, 0.1, 0.1], 0.95)


def _document(*data) -> Document:
    document = Document()
    for i, item in enumerate(data):
        document.add_layer(Layer(f"l{i}", item))
    return document


def test_plane_behind_splats_shows_through(offscreen) -> None:
    """Splats side by side at one depth all show over a mesh: none hides another through depth."""
    image = offscreen.render(_document(_splats(), _plane(-1.0, -3.0, 3.0)), CAMERA).astype(int)
    row = image[45]
    for x in CAMERA.project(_splats().means)[0][:, 0]:
        assert row[int(x), 0] > 150 and row[int(x), 0] > row[int(x), 1]  # every splat centre is red
    assert row[2, 1] > 100 and row[2, 0] < 100  # the plane at the edge, no splat


def test_textured_mesh(offscreen) -> None:
    texture = np.zeros((4, 4, 3), np.uint8)
    texture[:, :2] = (255, 0, 0)
    texture[:, 2:] = (0, 0, 255)
    vertices = [[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]]
    uvs = [[0, 1], [1, 1], [1, 0], [0, 0]]
    mesh = MeshAsset(vertices, [[0, 1, 2], [0, 2, 3]], uvs=uvs, texture=texture)
    image = offscreen.render(mesh, CAMERA).astype(int)
    assert image[45, 45, 0] > 100 and image[45, 45, 2] < 30  # left half red
    assert image[45, 75, 2] > 100 and image[45, 75, 0] < 30  # right half blue
