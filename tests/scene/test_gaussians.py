import numpy as np
import pytest

from scene import GaussianCloud, Transform
from scene.rotation import axis_angle_to_quat, normalize_quats
from scene.sh import eval_sh


def random_cloud(n=50, degree=3, seed=0) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    cloud = GaussianCloud.create(
        rng.normal(size=(n, 3)),
        rng.uniform(0.01, 0.2, size=(n, 3)),
        rng.uniform(size=(n, 3)),
        rng.uniform(0.1, 0.9, size=n),
        quats=rng.normal(size=(n, 4)),
        sh_degree=degree,
    )
    rest = rng.normal(scale=0.2, size=cloud.sh[:, 1:].shape)
    return cloud.replace(sh=np.concatenate([cloud.sh[:, :1], rest], axis=1))


def test_create_gives_activated_values_back():
    cloud = GaussianCloud.create([[0, 1, 2]], [0.1, 0.2, 0.3], [0.2, 0.4, 0.6], 0.75)
    np.testing.assert_allclose(cloud.scales, [[0.1, 0.2, 0.3]], rtol=1e-6)
    np.testing.assert_allclose(cloud.opacities, [0.75], rtol=1e-5)
    np.testing.assert_allclose(cloud.base_colors, [[0.2, 0.4, 0.6]], atol=1e-6)
    assert cloud.sh_degree == 0 and cloud.count == 1 and cloud.means.dtype == np.float32


def test_arrays_are_read_only():
    cloud = random_cloud()
    with pytest.raises(ValueError):
        cloud.means[0, 0] = 5.0


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("means", np.zeros((3, 2)), r"means: expected shape \[N, 3\]"),
        ("opacity_logits", np.zeros(4), "disagree on the element count"),
        ("sh", np.zeros((3, 5, 3)), "5 SH coefficients"),
        ("log_scales", np.full((3, 3), np.inf), "NaN or infinite"),
        ("quats", np.zeros((3, 4)), "zero length"),
    ],
)
def test_validation_names_the_problem(field, value, message):
    arrays = dict(
        means=np.zeros((3, 3)),
        log_scales=np.zeros((3, 3)),
        quats=np.tile([1.0, 0, 0, 0], (3, 1)),
        opacity_logits=np.zeros(3),
        sh=np.zeros((3, 1, 3)),
    )
    arrays[field] = value
    with pytest.raises(ValueError, match=message):
        GaussianCloud(**arrays)


def test_quaternions_are_normalised_on_construction():
    cloud = GaussianCloud(np.zeros((1, 3)), np.zeros((1, 3)), [[2.0, 0, 0, 0]], np.zeros(1), np.zeros((1, 1, 3)))
    np.testing.assert_allclose(cloud.quats, [[1, 0, 0, 0]])


def test_subset_concatenate_and_degree_padding():
    a, b = random_cloud(10, degree=3, seed=1), random_cloud(5, degree=0, seed=2)
    both = GaussianCloud.concatenate([a, b])
    assert both.count == 15 and both.sh_degree == 3
    np.testing.assert_array_equal(both.subset(np.arange(10, 15)).sh[:, 0], b.sh[:, 0])
    assert not both.subset(np.arange(10, 15)).sh[:, 1:].any()
    mask = np.zeros(15, bool)
    mask[[0, 3]] = True
    np.testing.assert_array_equal(both.subset(mask).means, a.means[[0, 3]])
    with pytest.raises(ValueError, match="mask has shape"):
        both.subset(np.ones(3, bool))
    assert GaussianCloud.concatenate([]).count == 0


def test_bounds():
    cloud = GaussianCloud.create([[0, 0, 0], [1, -2, 3]], 0.1, [0.5, 0.5, 0.5])
    lo, hi = cloud.bounds()
    np.testing.assert_array_equal(lo, [0, -2, 0])
    np.testing.assert_array_equal(hi, [1, 0, 3])


@pytest.mark.parametrize(
    "transform",
    [
        Transform([1, 2, 3], axis_angle_to_quat([0, 1, 0], 0.8), [1.5, 1.5, 1.5]),  # similarity
        Transform([0, -1, 0], axis_angle_to_quat([1, 1, 0], 2.0), [2.0, 0.5, 1.0]),  # non-uniform
        Transform([0, 0, 0], [1, 0, 0, 0], [-1.0, 1.0, 1.0]),  # a mirror
    ],
)
def test_transform_moves_covariances_and_view_dependent_colour(transform):
    cloud = random_cloud(40)
    m = transform.matrix()
    moved = cloud.transformed(m)
    a = m[:3, :3]
    np.testing.assert_allclose(moved.means, cloud.means @ a.T + m[:3, 3], atol=1e-5)
    np.testing.assert_allclose(moved.covariances(), a @ cloud.covariances() @ a.T, atol=1e-6, rtol=1e-4)
    u, _, vt = np.linalg.svd(a)
    orthogonal = u @ vt  # the turning part of the transform, a mirror included
    rng = np.random.default_rng(3)
    d = rng.normal(size=(40, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    np.testing.assert_allclose(eval_sh(moved.sh, d @ orthogonal.T), eval_sh(cloud.sh, d), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(moved.quats, axis=1), 1.0, atol=1e-5)


def test_transform_rejects_singular_matrix():
    with pytest.raises(ValueError, match="invertible"):
        random_cloud().transformed(np.diag([1.0, 0.0, 1.0, 1.0]))


def test_normalize_quats_handles_zero():
    np.testing.assert_array_equal(normalize_quats(np.zeros((1, 4))), [[1, 0, 0, 0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_one_non_finite_value_anywhere_is_refused(bad):
    cloud = random_cloud()
    sh = cloud.sh.copy()
    sh[len(sh) // 2, -1, 1] = bad
    with pytest.raises(ValueError, match=r"sh: 1 value\(s\) are NaN or infinite"):
        GaussianCloud(cloud.means, cloud.log_scales, cloud.quats, cloud.opacity_logits, sh)


def test_one_zero_quaternion_among_unit_ones_is_refused_and_slightly_long_ones_are_normalised():
    cloud = random_cloud()
    quats = cloud.quats * 1.01  # raw optimizer parameters drift off unit length
    normalised = GaussianCloud(cloud.means, cloud.log_scales, quats, cloud.opacity_logits, cloud.sh).quats
    np.testing.assert_allclose(np.linalg.norm(normalised, axis=1), 1.0, atol=1e-6)
    quats[3] = 0
    with pytest.raises(ValueError, match="zero length"):
        GaussianCloud(cloud.means, cloud.log_scales, quats, cloud.opacity_logits, cloud.sh)
