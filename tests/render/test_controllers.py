"""Camera controllers and the gizmo's picking maths (no GL)."""

from __future__ import annotations

import numpy as np
import pytest

from render.controllers import FlyController, OrbitController, frame_bounds
from render.helpers import Gizmo, drag_along_axis, pick_gizmo_axis
from scene import Camera


def test_orbit_keeps_distance_and_looks_at_target() -> None:
    target = np.array([1.0, 0.5, -2.0])
    orbit = OrbitController(target, distance=4.0, yaw_deg=10.0, pitch_deg=20.0)
    for dx, dy in ((50, 0), (0, 40), (-300, -900), (1000, 1000)):
        orbit.orbit(dx, dy)
        cam = orbit.camera(320, 240)
        assert np.linalg.norm(cam.position - target) == pytest.approx(4.0)
        uv, _ = cam.project(target[None])
        np.testing.assert_allclose(uv[0], [160.0, 120.0], atol=1e-6)
        assert abs(orbit.pitch_deg) < 90.0  # never flips over the pole


def test_pan_moves_target_in_view_plane_and_zoom_scales_distance() -> None:
    orbit = OrbitController(np.zeros(3), distance=5.0)
    before = orbit.camera(200, 200)
    orbit.pan(30.0, 0.0, 200)
    after = orbit.camera(200, 200)
    moved = after.position - before.position
    assert abs(moved @ before.forward) < 1e-9 and np.linalg.norm(moved) > 0
    # the old target now appears 30 px to the right: the scene follows the mouse
    uv, _ = after.project(np.zeros((1, 3)))
    assert uv[0, 0] == pytest.approx(130.0, abs=0.5)
    orbit.zoom(0.5)
    assert orbit.distance == pytest.approx(2.5)


def test_frame_bounds_puts_the_box_in_view() -> None:
    lo, hi = np.array([-3.0, 0.0, 1.0]), np.array([5.0, 2.0, 4.0])
    for width, height in ((640, 480), (300, 600)):
        cam = frame_bounds(lo, hi, width, height)
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        uv, depth = cam.project(corners)
        assert np.all(depth > cam.near) and np.all(depth < cam.far)
        assert np.all((uv >= 0) & (uv <= [width, height]))
        span = uv.max(axis=0) - uv.min(axis=0)
        assert span.max() > 0.4 * min(width, height)  # filling the view, not a speck
        assert cam.position[1] > 0.5 * (lo[1] + hi[1])  # slightly above
        assert cam.position[2] > hi[2]  # from the front (+Z)


def test_fly_moves_along_view_direction() -> None:
    fly = FlyController(np.zeros(3))
    np.testing.assert_allclose(fly.forward, [0.0, 0.0, -1.0], atol=1e-12)
    fly.move(forward=2.0)
    np.testing.assert_allclose(fly.position, [0.0, 0.0, -2.0], atol=1e-12)
    fly.look(100.0, 0.0)  # mouse right: look right
    assert fly.forward[0] > 0.0
    cam = fly.camera(100, 100)
    np.testing.assert_allclose(cam.forward, fly.forward, atol=1e-9)


def test_gizmo_pick_and_drag() -> None:
    camera = Camera.look_at([4.0, 3.0, 5.0], [0.0, 0.0, 0.0], width=400, height=300)
    gizmo = Gizmo((0.0, 0.0, 0.0), "translate")
    size = gizmo.world_size(camera)
    for axis, direction in zip("xyz", np.eye(3)):
        uv, _ = camera.project((0.7 * size * direction)[None])
        assert pick_gizmo_axis(gizmo, camera, *uv[0]) == axis
    assert pick_gizmo_axis(gizmo, camera, 5.0, 5.0) is None
    start, _ = camera.project(np.zeros((1, 3)))
    end, _ = camera.project(np.array([[0.5, 0.0, 0.0]]))
    assert drag_along_axis(gizmo, camera, "x", tuple(start[0]), tuple(end[0])) == pytest.approx(0.5, rel=0.05)
    ring = Gizmo((0.0, 0.0, 0.0), "rotate")
    on_ring, _ = camera.project(np.array([[0.0, 0.0, ring.world_size(camera)]]))  # x ring spans y-z
    assert pick_gizmo_axis(ring, camera, *on_ring[0]) == "x"


@pytest.mark.parametrize("yaw, pitch", [(0.0, 0.0), (30.0, 20.0), (200.0, -60.0), (359.0, 85.0)])
def test_an_orbit_rebuilt_from_its_camera_is_the_same_orbit(yaw: float, pitch: float) -> None:
    orbit = OrbitController(np.array([0.5, -1.0, 2.0]), 3.5, yaw, pitch, fov_y_deg=40.0)
    camera = orbit.camera(64, 48)
    again = OrbitController.from_camera(camera, 3.5)
    np.testing.assert_allclose(again.target, orbit.target, atol=1e-9)
    assert (again.yaw_deg, again.pitch_deg, again.fov_y_deg) == pytest.approx((yaw, pitch, 40.0))
    np.testing.assert_allclose(again.camera(64, 48).c2w, camera.c2w, atol=1e-9)
