import numpy as np
import pytest
import torch
from gsplat.cuda._torch_impl import _spherical_harmonics

from scene import sh
from scene.rotation import axis_angle_to_quat, quat_to_matrix


def _dirs(rng, n):
    d = rng.normal(size=(n, 3))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_eval_matches_gsplat_reference(degree):
    rng = np.random.default_rng(degree)
    coeffs = rng.normal(size=(200, sh.num_coeffs(degree), 3)).astype(np.float32)
    dirs = _dirs(rng, 200)
    ours = sh.eval_sh(coeffs, dirs)
    theirs = _spherical_harmonics(degree, torch.from_numpy(dirs).float(), torch.from_numpy(coeffs)).numpy()
    np.testing.assert_allclose(ours, np.maximum(theirs + 0.5, 0.0), atol=1e-5)


def test_rgb_dc_round_trip():
    rgb = np.array([[0.0, 0.5, 1.0], [0.2, 0.3, 0.9]], np.float32)
    np.testing.assert_allclose(sh.dc_to_rgb(sh.rgb_to_dc(rgb)), rgb, atol=1e-6)


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_rotation_turns_view_dependent_colour_with_the_object(degree):
    rng = np.random.default_rng(1)
    coeffs = rng.normal(size=(20, sh.num_coeffs(degree), 3)).astype(np.float32)
    rotation = quat_to_matrix(axis_angle_to_quat([0.3, -1.0, 0.5], 2.1))
    rotated = sh.rotate_sh(coeffs, rotation)
    dirs = _dirs(rng, 20)
    # The rotated object seen along R d looks as the original seen along d.
    np.testing.assert_allclose(sh.eval_sh(rotated, dirs @ rotation.T), sh.eval_sh(coeffs, dirs), atol=1e-5)
    np.testing.assert_array_equal(rotated[:, 0], coeffs[:, 0])


def test_degree_of_rejects_odd_layouts():
    assert [sh.degree_of(k) for k in (1, 4, 9, 16)] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="5 SH coefficients"):
        sh.degree_of(5)


def test_mirror_flips_view_dependent_colour_exactly():
    rng = np.random.default_rng(2)
    coeffs = rng.normal(size=(20, 16, 3)).astype(np.float32)
    mirror = np.diag([-1.0, 1.0, 1.0]) @ quat_to_matrix(axis_angle_to_quat([1.0, 0.2, 0.0], 0.9))
    dirs = _dirs(rng, 20)
    np.testing.assert_allclose(
        sh.eval_sh(sh.rotate_sh(coeffs, mirror), dirs @ mirror.T), sh.eval_sh(coeffs, dirs), atol=1e-5
    )
