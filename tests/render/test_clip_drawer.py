"""Clips drawn on the GPU at the document's time against the CPU reference ``clip.at(t)`` drawn as a
static splat layer; the motion goes up once per clip, and time changes and edits upload nothing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from render.clip_drawer import ClipDrawer, MotionTextures
from render.renderer import Renderer, RenderSettings
from render.sorting import GroupPoses, SortPoints, back_to_front
from render.splats import SplatBuffers
from scene import Camera, Document, Layer, Transform
from scene.clip import ClipTiming, GaussianClip, Group, Key
from scene.gaussians import GaussianCloud
from scene.rotation import axis_angle_to_quat, quat_multiply
from tests.render.conftest import random_cloud

CAMERA = Camera.look_at([0.4, 0.8, 3.5], [0.0, 0.0, 0.0], width=96, height=72, fov_y_deg=55)
SETTINGS = RenderSettings(background=(0.1, 0.15, 0.2))
AXIS = np.array([0.3, 1.0, 0.2]) / np.linalg.norm([0.3, 1.0, 0.2])


def moving_clip(count: int = 150, frames: int = 6, fps: float = 10.0, seed: int = 7) -> GaussianClip:
    """Splats that drift, turn, grow and fade: every motion channel stored."""
    base = random_cloud(count, seed=seed, sh_degree=2, spread=0.6)
    rng = np.random.default_rng(seed)
    drift = rng.normal(0.0, 0.06, (frames, count, 3)).cumsum(axis=0)
    grow = rng.normal(0.0, 0.08, (frames, count, 3)).cumsum(axis=0)
    clouds = []
    for k in range(frames):
        turn = np.tile(axis_angle_to_quat(AXIS, 0.4 * k), (count, 1))
        clouds.append(base.replace(
            means=base.means + drift[k] + [0.08 * k * k, 0.0, 0.0],
            quats=quat_multiply(turn, base.quats),
            log_scales=base.log_scales + grow[k],
            opacity_logits=base.opacity_logits - 0.3 * k,
        ))
    clip = GaussianClip.from_frames(clouds, fps)
    assert all(getattr(clip, name) is not None for name in ("means", "quats", "log_scales", "opacity_logits"))
    return clip


def render_at(offscreen, clip: GaussianClip, t: float, transform: Transform | None = None) -> np.ndarray:
    document = Document()
    document.add_layer(Layer("clip", clip, transform=transform or Transform()))
    document.set_time(t)
    return offscreen.render(document, CAMERA, SETTINGS).astype(int)


def render_static(offscreen, cloud: GaussianCloud, transform: Transform | None = None) -> np.ndarray:
    document = Document()
    document.add_layer(Layer("frame", cloud, transform=transform or Transform()))
    return offscreen.render(document, CAMERA, SETTINGS).astype(int)


def assert_close(image: np.ndarray, expected: np.ndarray) -> None:
    """Float32 maths on the GPU against float64 on the CPU: a rounding step here and there."""
    difference = np.abs(image - expected)
    assert difference.max() <= 2 and difference.mean() < 0.02, (difference.mean(), difference.max())


def test_sampled_frames_draw_exactly_as_their_clouds(offscreen) -> None:
    clip = moving_clip()
    pictures = []
    for k in range(clip.frame_count):
        picture = render_at(offscreen, clip, k / clip.fps)
        np.testing.assert_array_equal(picture, render_static(offscreen, clip.frame(k)))
        pictures.append(picture)
    assert np.abs(pictures[0] - pictures[-1]).mean() > 2  # the clip does move


@pytest.mark.parametrize("interpolation", ["linear", "smooth"])
def test_between_frames_match_the_cpu_interpolation(offscreen, interpolation: str) -> None:
    clip = moving_clip().replace(interpolation=interpolation)
    for t in (0.04, 0.25, 0.37, 0.46):
        picture = render_at(offscreen, clip, t)
        assert_close(picture, render_static(offscreen, clip.at(t)))
        nearest = clip.frame(int(round(t * clip.fps)))
        assert np.abs(picture - render_static(offscreen, nearest)).mean() > 0.3  # not just the nearest frame


@pytest.mark.parametrize("timing", [
    ClipTiming(offset=0.2, trim_in=0.1, trim_out=0.45, speed=1.5),
    ClipTiming(trim_in=0.05, speed=0.7, reverse=True),
    ClipTiming(trim_out=0.3, loop=True),
])
def test_trimmed_retimed_reversed_and_looped_clips(offscreen, timing: ClipTiming) -> None:
    clip = moving_clip().replace(timing=timing, interpolation="smooth")
    for t in (0.0, 0.21, 0.33, 0.52, 1.13):
        assert_close(render_at(offscreen, clip, t), render_static(offscreen, clip.at(t)))


def test_a_keyframed_group_turns_about_its_pivot(offscreen) -> None:
    clip = moving_clip()
    turn = Transform([0.0, 0.2, 0.0], axis_angle_to_quat([0.0, 0.0, 1.0], np.pi / 2), [1.3, 1.3, 1.3])
    arm = Group("arm", np.arange(0, clip.count, 2), pivot=[0.3, 0.0, 0.0], keys=(Key(0.0), Key(0.4, turn, "linear")))
    still = Group("still", np.arange(0, clip.count, 6))  # no keys: its splats (taken from "arm") do not turn
    grouped = clip.replace(groups=(arm, still))
    placed = Transform([0.1, -0.1, 0.0], axis_angle_to_quat([1.0, 0.0, 0.0], 0.3), [0.9, 0.9, 0.9])
    for t in (0.1, 0.2, 0.27, 0.5):
        picture = render_at(offscreen, grouped, t, placed)
        assert_close(picture, render_static(offscreen, grouped.at(t), placed))
        assert np.abs(picture - render_at(offscreen, clip, t, placed)).mean() > 0.3  # the group moved


def test_flipbook_frames_draw_exactly(offscreen) -> None:
    frames = [random_cloud(n, seed=s, sh_degree=1, spread=0.6) for s, n in enumerate((40, 90, 0, 25))]
    flipbook = GaussianClip.from_frames(frames, fps=4)
    assert flipbook.is_flipbook
    expected = [render_static(offscreen, f) if f.count else offscreen.render(Document(), CAMERA, SETTINGS) for f in frames]
    document = Document()
    document.add_layer(Layer("flipbook", flipbook))
    for t, k in ((0.0, 0), (0.3, 1), (0.6, 2), (0.8, 3), (0.1, 0), (2.0, 3), (0.55, 2), (0.25, 1)):
        document.set_time(t)  # one drawer through every frame, the empty one too
        np.testing.assert_array_equal(offscreen.render(document, CAMERA, SETTINGS), expected[k])
    hop = Group("hop", np.arange(30, 80), keys=(Key(0.0), Key(1.0, Transform([0.0, 0.5, 0.0]), "linear")))
    keyed = flipbook.replace(groups=(hop,))
    assert_close(render_at(offscreen, keyed, 0.3), render_static(offscreen, keyed.at(0.3)))


def test_the_sort_orders_blended_frames_and_moved_groups_far_to_near() -> None:
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(2000, 3)) for _ in range(3))
    weights = (-0.1, 0.7, 0.4)  # Catmull-Rom weights go negative
    blended = SortPoints.blend([(w, SortPoints.of(p)) for w, p in zip(weights, (a, b, c))])
    centres = sum(w * p for w, p in zip(weights, (a, b, c)))
    np.testing.assert_allclose(blended.columns, centres.T, atol=1e-5)
    assert (blended.corners[0] <= centres.min(axis=0) + 1e-6).all() and (blended.corners[-1] >= centres.max(axis=0) - 1e-6).all()
    turn = Transform([1.0, 0.0, -2.0], axis_angle_to_quat([0.0, 1.0, 0.0], 2.0), [1.5, 1.5, 1.5]).matrix()
    poses = GroupPoses(rng.integers(-1, 2, len(centres)), np.stack([np.eye(4), turn]))
    row = CAMERA.w2c()[2]
    moved = centres.copy()
    moved[poses.owner == 1] = centres[poses.owner == 1] @ turn[:3, :3].T + turn[:3, 3]
    for order, points, matrices in (
        (back_to_front(blended, row), centres, [np.eye(4)]),
        (back_to_front(blended, row, poses), moved, poses.matrices),
    ):
        depth = points @ row[:3]  # GL camera z: the farthest most negative
        box_depths = [(blended.corners @ m[:3, :3].T + m[:3, 3]) @ row[:3] for m in matrices]
        key_width = np.ptp(np.concatenate(box_depths)) / 65534  # the depth one 16-bit key spans
        assert np.diff(depth[order]).min() >= -1.01 * key_width and sorted(order) == list(range(len(points)))


def test_time_and_group_edits_upload_no_motion(offscreen, monkeypatch) -> None:
    uploads = {"splats": 0, "motion": 0}
    for cls, name in ((SplatBuffers, "splats"), (MotionTextures, "motion")):
        original = cls.upload_steps

        def counted(self, *args, _original=original, _name=name, **kwargs):
            uploads[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "upload_steps", counted)
    clip = moving_clip()
    lift = Group("lift", np.arange(0, clip.count, 3), keys=(Key(0.0, Transform([0.0, 0.4, 0.0])),))
    edited = clip.replace(groups=(lift,), timing=ClipTiming(offset=0.05))
    expected = render_static(offscreen, edited.at(0.13))  # before: another document drops the clip's drawer
    uploads["splats"] = 0  # that static layer's
    document = Document()
    layer = document.add_layer(Layer("clip", clip))
    pictures = []
    for t in (0.0, 0.13, 0.3, 0.13):
        document.set_time(t)
        pictures.append(offscreen.render(document, CAMERA, SETTINGS).astype(int))
    drawer = offscreen.renderer.layers.drawer(layer.id)
    assert isinstance(drawer, ClipDrawer)
    assert uploads == {"splats": 1, "motion": 1} and drawer.motion.uploads == 1
    assert np.abs(pictures[0] - pictures[1]).mean() > 0.3 and np.abs(pictures[1] - pictures[2]).mean() > 0.3
    np.testing.assert_array_equal(pictures[1], pictures[3])  # back at the same time: the same picture

    document.set_layer(layer.id, data=edited)
    moved = offscreen.render(document, CAMERA, SETTINGS).astype(int)
    assert uploads == {"splats": 1, "motion": 1}  # the group rows are rewritten in place, nothing else
    assert all(a is b for a, b in zip(drawer.motion.source, (clip.means, clip.quats, clip.log_scales, clip.opacity_logits)))
    assert np.abs(moved - pictures[3]).mean() > 0.3
    document.set_layer(layer.id, data=edited.replace(means=edited.means + np.float32(0.1)))  # new motion
    offscreen.render(document, CAMERA, SETTINGS)
    assert uploads == {"splats": 1, "motion": 2} and offscreen.renderer.layers.drawer(layer.id) is drawer
    assert_close(moved, expected)


def test_a_big_clip_goes_up_in_steps_and_plays_progressively(ctx) -> None:
    clip = moving_clip(count=3000, frames=12, seed=3)  # more motion than one upload step
    document = Document()
    document.add_layer(Layer("clip", clip))
    fbo = ctx.simple_framebuffer((CAMERA.width, CAMERA.height))
    whole, progressive = Renderer(ctx), Renderer(ctx)
    budget = RenderSettings(background=SETTINGS.background, progressive=True, refine_budget_ms=1e-3)
    try:
        for t in (0.25, 0.6):
            document.set_time(t)
            whole.render(document, CAMERA, fbo, SETTINGS)
            expected = np.frombuffer(fbo.read(components=3), np.uint8).astype(int)
            calls, deadline = 0, time.monotonic() + 30.0
            while not progressive.render(document, CAMERA, fbo, budget).complete:
                calls += 1
                assert time.monotonic() < deadline, "the picture never became whole"
                time.sleep(0.001)
            assert calls >= (5 if t == 0.25 else 1)  # the upload in steps; later the sort of the new time
            assert np.abs(np.frombuffer(fbo.read(components=3), np.uint8).astype(int) - expected).max() <= 1
    finally:
        whole.release()
        progressive.release()
        fbo.release()
