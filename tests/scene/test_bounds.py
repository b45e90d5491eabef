"""Robust bounds: the dense part of a layer, floaters left out, transforms applied."""

from __future__ import annotations

import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer, MeshAsset, PointCloud
from scene.bounds import dense_box, document_dense_box, layer_dense_box
from scene.transform import Transform


def cloud_with_floaters(count: int = 4000, floaters: int = 20, floater_opacity: float = 0.9) -> GaussianCloud:
    """A dense unit cube around the origin and a few splats 50 units away."""
    rng = np.random.default_rng(0)
    means = np.concatenate([rng.uniform(-1.0, 1.0, (count, 3)), rng.uniform(45.0, 55.0, (floaters, 3))])
    opacity = np.concatenate([np.full(count, 0.9), np.full(floaters, floater_opacity)])
    return GaussianCloud.create(means, 0.02, np.full((len(means), 3), 0.5), opacity)


def test_floaters_are_left_out_of_the_dense_box():
    cloud = cloud_with_floaters()
    assert cloud.bounds()[1].min() > 40  # the plain box reaches the floaters
    lo, hi = layer_dense_box(Layer("rock", cloud))
    assert np.all(lo > -1.0) and np.all(lo < -0.9) and np.all(hi < 1.0) and np.all(hi > 0.9)


def test_faint_splats_weigh_little():
    """Haze: 10% of the splats far away, but nearly transparent."""
    faint = cloud_with_floaters(count=2000, floaters=200, floater_opacity=0.001)
    assert layer_dense_box(Layer("hazy", faint))[1].max() < 1.0
    opaque = cloud_with_floaters(count=2000, floaters=200, floater_opacity=0.9)
    assert layer_dense_box(Layer("solid", opaque))[1].max() > 40  # as many, opaque: they are content


def test_weighted_quantiles_per_axis():
    positions = np.stack([np.arange(101.0), np.zeros(101), np.linspace(-5, 5, 101)], axis=1)
    lo, hi = dense_box(positions, tail=0.1)
    np.testing.assert_allclose(lo, [10.0, 0.0, -4.0], atol=1.01)
    np.testing.assert_allclose(hi, [90.0, 0.0, 4.0], atol=1.01)
    lo, hi = dense_box(positions, weights=(positions[:, 0] >= 50).astype(float), tail=0.0)  # only the upper half counts
    assert lo[0] == 50.0 and hi[0] == 100.0
    np.testing.assert_array_equal(dense_box(positions, np.zeros(101)), (positions.min(0), positions.max(0)))
    np.testing.assert_array_equal(dense_box(np.zeros((0, 3))), (np.zeros(3), np.zeros(3)))
    with pytest.raises(ValueError, match="tail must be in"):
        dense_box(positions, tail=0.5)


def test_the_transform_moves_the_dense_box_and_meshes_keep_their_bounds():
    moved = Layer("rock", cloud_with_floaters(), transform=Transform(translation=np.array([10.0, 0.0, 0.0]), scale=np.full(3, 2.0)))
    lo, hi = layer_dense_box(moved)
    assert 7.9 < lo[0] < 8.2 and 11.8 < hi[0] < 12.1
    mesh = Layer("tri", MeshAsset([[0, 0, 0], [5, 0, 0], [0, 5, 0]], [[0, 1, 2]]))
    np.testing.assert_array_equal(layer_dense_box(mesh), mesh.world_bounds())
    points = Layer("dots", PointCloud(np.concatenate([np.zeros((500, 3)), np.full((2, 3), 100.0)])))
    np.testing.assert_array_equal(layer_dense_box(points), (np.zeros(3), np.zeros(3)))


def test_a_document_box_joins_its_visible_layers():
    document = Document()
    assert document_dense_box(document) is None
    document.add_layer(Layer("rock", cloud_with_floaters()))
    document.add_layer(Layer("tri", MeshAsset([[0, 0, 0], [5, 0, 0], [0, 5, 0]], [[0, 1, 2]])))
    document.add_layer(Layer("hidden", MeshAsset([[0, 0, 0], [90, 0, 0], [0, 90, 0]], [[0, 1, 2]]), visible=False))
    lo, hi = document_dense_box(document)
    assert hi[0] == 5.0 and hi[1] == 5.0 and hi[2] < 1.0 and lo[0] < -0.9
    only_rock = document_dense_box(document, [document.layers[0]])
    assert only_rock[1].max() < 1.0
