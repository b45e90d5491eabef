import numpy as np
import pytest

from scene import MeshAsset, PointCloud


def test_normals_are_computed_and_transformed():
    mesh = MeshAsset([[0, 0, 0], [1, 0, 0], [0, 0, -1]], [[0, 1, 2]])
    np.testing.assert_allclose(mesh.normals, np.tile([0, 1, 0], (3, 1)), atol=1e-6)
    mirrored = mesh.transformed(np.diag([1.0, -1.0, 1.0, 1.0]))
    np.testing.assert_allclose(mirrored.normals, np.tile([0, -1, 0], (3, 1)), atol=1e-6)
    np.testing.assert_array_equal(mirrored.faces, [[2, 1, 0]])  # winding kept consistent


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(faces=[[0, 1, 5]]), "indices must be in 0..2"),
        (dict(vertex_colors=np.ones((2, 4))), "disagree"),
        (dict(uvs=np.zeros((3, 2))), "come together"),
        (dict(uvs=np.zeros((3, 2)), texture=np.zeros((4, 4), np.uint8)), "uint8 image"),
    ],
)
def test_mesh_validation(kwargs, message):
    args = dict(vertices=np.eye(3), faces=[[0, 1, 2]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        MeshAsset(**args)


def test_rgb_vertex_colours_get_alpha():
    mesh = MeshAsset(np.eye(3), [[0, 1, 2]], vertex_colors=np.full((3, 3), 0.5))
    np.testing.assert_allclose(mesh.vertex_colors[:, 3], 1.0)


def test_point_cloud_to_gaussians():
    points = PointCloud(np.random.default_rng(0).uniform(size=(1000, 3)), np.full((1000, 3), 0.25))
    splats = points.to_gaussians()
    assert splats.count == 1000
    np.testing.assert_allclose(splats.base_colors, 0.25, atol=1e-6)
    assert 0.01 < float(splats.scales.mean()) < 0.2
