import math

import numpy as np
import pytest

from scene import Camera, Transform


def test_look_at_follows_opengl_convention():
    cam = Camera.look_at([0, 0, 5], [0, 0, 0], width=640, height=480)
    np.testing.assert_allclose(cam.forward, [0, 0, -1])
    np.testing.assert_allclose(cam.c2w[:3, 1], [0, 1, 0])  # +Y up
    uv, depth = cam.project([[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_allclose(uv[0], [320, 240])
    assert uv[1, 0] > 320  # +X is to the right of the image
    assert uv[2, 1] < 240  # +Y is up: row 0 is the top
    np.testing.assert_allclose(depth, 5.0)


def test_fov_and_focal_length():
    cam = Camera.look_at([0, 0, 1], [0, 0, 0], width=100, height=200, fov_y_deg=90.0)
    assert cam.fy == pytest.approx(100.0)
    # A point at the top edge of the vertical field of view lands on row 0.
    uv, _ = cam.project([[0, math.tan(math.radians(45.0)), 0]])
    assert uv[0, 1] == pytest.approx(0.0, abs=1e-9)


def test_gl_projection_agrees_with_pixel_projection():
    cam = Camera.look_at([2, 1, 4], [0, 0.3, 0], width=320, height=200, fov_y_deg=40.0)
    cam = Camera(cam.c2w, cam.width, cam.height, cam.fov_y_deg, cx=150.0, cy=110.0)
    points = np.random.default_rng(0).normal(size=(10, 3)) * 0.5
    clip = np.c_[points, np.ones(10)] @ (cam.projection() @ cam.w2c()).T
    ndc = clip[:, :3] / clip[:, 3:]
    pixels = np.c_[(ndc[:, 0] + 1) / 2 * cam.width, (1 - ndc[:, 1]) / 2 * cam.height]
    np.testing.assert_allclose(pixels, cam.project(points)[0], atol=1e-9)


def test_nerf_transform_matrix_is_used_as_is():
    """NeRF-synthetic c2w matrices share our convention: the camera looks down its -Z column."""
    c2w = Transform([0, 0, 4], [1, 0, 0, 0]).matrix()
    cam = Camera.from_fov_x(c2w, 800, 800, 0.6911112070083618)
    assert cam.fx == pytest.approx(0.5 * 800 / math.tan(0.5 * 0.6911112070083618))
    uv, depth = cam.project([[0, 0, 0]])
    np.testing.assert_allclose(uv, [[400, 400]])
    assert depth[0] == pytest.approx(4.0)


def test_opencv_view_matrix_flips_y_and_z():
    cam = Camera.look_at([0, 0, 3], [0, 0, 0])
    p = cam.w2c_opencv() @ [0, 1, 0, 1]
    np.testing.assert_allclose(p[:3], [0, -1, 3])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(width=0, height=10), "image size"),
        (dict(width=10, height=10, fov_y_deg=180), "fov_y_deg"),
        (dict(width=10, height=10, near=2.0, far=1.0), "near < far"),
    ],
)
def test_invalid_cameras(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Camera(np.eye(4), **kwargs)


def test_non_orthonormal_pose_is_rejected():
    with pytest.raises(ValueError, match="orthonormal"):
        Camera(np.diag([2.0, 1.0, 1.0, 1.0]), 10, 10)


def test_look_at_degenerate_inputs():
    with pytest.raises(ValueError, match="same point"):
        Camera.look_at([1, 1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="parallel"):
        Camera.look_at([0, 5, 0], [0, 0, 0], up=[0, 1, 0])


def test_dict_round_trip_and_resize():
    cam = Camera.look_at([1, 2, 3], [0, 0, 0], width=64, height=48, fov_y_deg=33.0)
    again = Camera.from_dict(cam.to_dict())
    np.testing.assert_array_equal(again.c2w, cam.c2w)
    assert again.fov_y_deg == 33.0
    half = cam.resized(32, 24)
    assert half.fy == pytest.approx(cam.fy / 2)
