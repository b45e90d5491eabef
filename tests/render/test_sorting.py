"""Back-to-front ordering on 16-bit keys, and skipping the sort while the view direction holds."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from render.sorting import RESORT_ANGLE_DEG, DepthSorter, SortPoints, back_to_front
from scene import Camera


def _depth_row(camera: Camera) -> np.ndarray:
    return camera.w2c()[2]


def test_order_is_far_to_near_within_key_precision() -> None:
    rng = np.random.default_rng(0)
    means = rng.normal(size=(50_000, 3)).astype(np.float32)
    row = _depth_row(Camera.look_at([1.0, 2.0, 5.0], [0.0, 0.0, 0.0]))
    points = SortPoints.of(means)
    order = back_to_front(points, row)
    z = means.astype(np.float64) @ row[:3] + row[3]
    assert sorted(order.tolist()) == list(range(len(means)))  # a permutation
    box_z = points.corners @ row[:3]
    step = (box_z.max() - box_z.min()) / 65534.0  # one key
    assert np.all(np.diff(z[order]) >= -step)  # farthest (most negative z) first
    assert order[0] == np.argmin(z) or z[order[0]] - z.min() <= step


def test_small_and_empty_inputs() -> None:
    assert back_to_front(SortPoints.of(np.zeros((0, 3))), np.array([0.0, 0.0, 1.0, 0.0])).size == 0
    same = back_to_front(SortPoints.of(np.zeros((5, 3))), np.array([0.0, 0.0, 1.0, 0.0]))
    assert same.tolist() == [0, 1, 2, 3, 4]  # ties keep their order (stable)


@pytest.fixture()
def sorter():
    with ThreadPoolExecutor(max_workers=1) as executor:
        sorter = DepthSorter(executor)
        sorter.set_points(np.random.default_rng(1).normal(size=(1000, 3)))
        yield sorter


def _camera_at(yaw_deg: float, distance: float = 5.0) -> Camera:
    yaw = math.radians(yaw_deg)
    return Camera.look_at(distance * np.array([math.sin(yaw), 0.1, math.cos(yaw)]), [0.0, 0.0, 0.0])


def test_sort_skipped_while_direction_barely_changes(sorter: DepthSorter) -> None:
    assert sorter.request(_depth_row(_camera_at(0.0)))
    assert sorter.poll(wait=True) is not None
    assert sorter.poll(wait=True) is None  # each order is handed out once
    assert not sorter.request(_depth_row(_camera_at(0.0)))
    assert not sorter.request(_depth_row(_camera_at(0.4 * RESORT_ANGLE_DEG)))
    assert not sorter.request(_depth_row(_camera_at(0.0, distance=9.0)))  # moving along the axis
    assert sorter.request(_depth_row(_camera_at(3.0 * RESORT_ANGLE_DEG)))
    order = sorter.poll(wait=True)
    means = np.random.default_rng(1).normal(size=(1000, 3))
    np.testing.assert_array_equal(order, back_to_front(SortPoints.of(means), _depth_row(_camera_at(1.5))))


def test_new_points_force_a_sort_and_drop_stale_results(sorter: DepthSorter) -> None:
    row = _depth_row(_camera_at(0.0))
    assert sorter.request(row)
    sorter.set_points(np.zeros((10, 3)))  # data replaced while the old sort runs
    assert sorter.poll(wait=True) is None  # that order was for the old points
    assert sorter.request(row)
    assert len(sorter.poll(wait=True)) == 10


def test_renderer_skips_resort_for_tiny_camera_moves(offscreen, ctx) -> None:
    from render.offscreen import as_document
    from render.renderer import Renderer
    from tests.render.conftest import random_cloud

    renderer = Renderer(ctx)
    fbo = ctx.simple_framebuffer((32, 24))
    document = as_document(random_cloud(500))
    try:
        sorts = [
            renderer.render(document, _camera_at(yaw).resized(32, 24), fbo).sorts_started for yaw in (0.0, 0.1, 0.2, 5.0)
        ]
    finally:
        renderer.release()
        fbo.release()
    assert sorts == [1, 0, 0, 1]
