"""Back-to-front ordering on 16-bit keys, and skipping the sort while the view direction holds."""

from __future__ import annotations

import math
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import numpy as np
import pytest

from render.sorting import RESORT_ANGLE_DEG, DepthSorter, SortPoints, back_to_front, depth_keys
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


class ManualExecutor(Executor):
    """Runs submitted jobs only when told to, so a test can look at a sort in progress."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future, object]] = []

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.jobs.append((future, lambda: fn(*args, **kwargs)))
        return future

    def run_all(self) -> None:
        jobs, self.jobs = self.jobs, []
        for future, job in jobs:
            future.set_result(job())


def test_keys_span_the_whole_16_bit_range_over_the_bounding_box() -> None:
    """The box's far corner maps to key 0, its near one to 65534, whatever axis carries depth."""
    means = np.array([[-1.0, -2.0, -3.0], [4.0, 5.0, 6.0], [1.5, 1.5, 1.5], [-1.0, 5.0, -3.0]])
    points = SortPoints.of(means)
    assert len(points) == 4
    assert points.columns.dtype == np.float32 and points.columns.flags.c_contiguous  # float64 input too
    np.testing.assert_array_equal(points.columns, means.T.astype(np.float32))
    assert sorted(map(tuple, points.corners)) == [(x, y, z) for x in (-1, 4) for y in (-2, 5) for z in (-3, 6)]
    row = np.array([1.0, 1.0, 1.0, 7.0])  # z = x + y + z + 7: from -6 + 7 (far) to 15 + 7 (near)
    keys = depth_keys(points, row)
    assert keys.dtype == np.uint16
    assert keys.tolist() == [0, 65534, int(65534 * 10.5 / 21 + 0.5), int(65534 * 7 / 21 + 0.5)]
    mixed = depth_keys(points, np.array([-1.0, 2.0, -0.5, 0.0]))  # the box's z: -11 at (4, -2, 6) to 12.5
    assert mixed.tolist() == [int(65534 * 9.5 / 23.5 + 0.5), int(65534 * 14 / 23.5 + 0.5), 32767, 65534]


def test_order_dtype_and_ties_in_index_order_for_large_inputs() -> None:
    means = np.zeros((20_000, 3))
    means[::3, 2] = 1.0  # two depths, many ties each
    order = back_to_front(SortPoints.of(means), np.array([0.0, 0.0, 1.0, -5.0]))  # larger z is nearer
    assert order.dtype == np.uint32
    far = np.flatnonzero(means[:, 2] == 0.0)
    np.testing.assert_array_equal(order, np.concatenate([far, np.arange(0, 20_000, 3)]))


def test_no_sort_before_points_arrive() -> None:
    executor = ManualExecutor()
    sorter = DepthSorter(executor)
    assert not sorter.request(np.array([0.0, 0.0, 1.0, 0.0]))
    assert executor.jobs == [] and sorter.poll() is None and not sorter.busy


def test_one_sort_at_a_time_and_poll_does_not_wait_unless_asked() -> None:
    executor = ManualExecutor()
    sorter = DepthSorter(executor)
    means = np.random.default_rng(2).normal(size=(100, 3))
    sorter.set_points(means)
    assert sorter.request(_depth_row(_camera_at(0.0)))
    assert sorter.busy and sorter.poll() is None  # still running: no order yet, no blocking
    assert not sorter.request(_depth_row(_camera_at(20.0)))  # the running sort is not doubled
    assert len(executor.jobs) == 1
    executor.run_all()
    assert not sorter.busy
    np.testing.assert_array_equal(sorter.poll(), back_to_front(SortPoints.of(means), _depth_row(_camera_at(0.0))))
    assert sorter.request(_depth_row(_camera_at(20.0)))  # asked again after it ended: now it runs


def test_scaled_view_rows_compare_by_direction(sorter: DepthSorter) -> None:
    """A model matrix with a scale scales the depth row; only its direction decides a re-sort."""
    assert sorter.request(3.0 * _depth_row(_camera_at(0.0)))
    assert sorter.poll(wait=True) is not None
    assert not sorter.request(0.2 * _depth_row(_camera_at(0.4 * RESORT_ANGLE_DEG)))
    assert sorter.request(3.0 * _depth_row(_camera_at(3.0 * RESORT_ANGLE_DEG)))


def test_points_are_laid_out_once_per_set(monkeypatch) -> None:
    calls = []
    real_of = SortPoints.of
    monkeypatch.setattr(SortPoints, "of", lambda means: calls.append(len(means)) or real_of(means))
    executor = ManualExecutor()
    sorter = DepthSorter(executor)
    sorter.set_points(np.zeros((7, 3)))
    for yaw in (0.0, 10.0, 20.0):
        assert sorter.request(_depth_row(_camera_at(yaw)))
        executor.run_all()
        assert sorter.poll() is not None
    sorter.set_points(np.zeros((3, 3)))
    assert sorter.request(_depth_row(_camera_at(20.0)))  # new points: sorted again at once
    executor.run_all()
    assert len(sorter.poll()) == 3 and calls == [7, 3]


def test_turning_around_sorts_again(sorter: DepthSorter) -> None:
    """The opposite direction is 180 degrees away even where rounding puts the dot product below -1."""
    assert sorter.request(np.array([1.0, 1.0, 1.0, 0.0]))
    assert sorter.poll(wait=True) is not None
    assert sorter.request(np.array([-1.0, -1.0, -1.0, 2.0]))
    order = sorter.poll(wait=True)
    means = np.random.default_rng(1).normal(size=(1000, 3))
    np.testing.assert_array_equal(order, back_to_front(SortPoints.of(means), np.array([-1.0, -1.0, -1.0, 2.0])))
