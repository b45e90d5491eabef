"""GaussianClip: frames kept exactly, interpolation, timing, keyframed groups, bake and storage."""

from __future__ import annotations

import numpy as np
import pytest

from scene import Document, Layer
from scene.clip import ClipTiming, GaussianClip, Group, Key, catmull_rom_weights, clip_from_arrays, clip_to_arrays
from scene.gaussians import GaussianCloud
from scene.io.project import load_project, save_project
from scene.kinds import kind_of
from scene.rotation import axis_angle_to_quat, quat_multiply
from scene.transform import Transform


def cloud(n: int = 20, seed: int = 0, sh_degree: int = 1) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    quats = rng.normal(size=(n, 4))
    return GaussianCloud.create(
        rng.normal(size=(n, 3)), rng.uniform(0.01, 0.1, (n, 3)), rng.uniform(size=(n, 3)),
        rng.uniform(0.2, 0.9, n), quats / np.linalg.norm(quats, axis=1, keepdims=True), sh_degree,
    )


def moving_frames(count: int = 6, n: int = 20) -> list[GaussianCloud]:
    """A cloud sliding along +x at 1 unit per frame and turning about y, its colours fixed."""
    base = cloud(n)
    frames = []
    for k in range(count):
        turn = np.tile(axis_angle_to_quat([0, 1, 0], 0.2 * k), (n, 1))
        frames.append(base.replace(means=base.means + [k, 0, 0], quats=quat_multiply(turn, base.quats)))
    return frames


def test_frames_come_back_exactly_and_unchanged_channels_are_not_stored() -> None:
    frames = moving_frames()
    clip = GaussianClip.from_frames(frames, fps=10)
    assert not clip.is_flipbook and clip.frame_count == 6 and clip.duration == pytest.approx(0.6)
    assert clip.log_scales is None and clip.opacity_logits is None  # never change: the canonical's
    assert clip.means is not None and clip.quats is not None
    for k, frame in enumerate(frames):
        for got in (clip.frame(k), clip.at(k / 10)):
            for name in ("means", "quats", "log_scales", "opacity_logits", "sh"):
                np.testing.assert_array_equal(getattr(got, name), getattr(frame, name))


def test_frames_of_different_splats_play_as_a_flipbook() -> None:
    frames = [cloud(5, 0), cloud(8, 1), cloud(3, 2)]
    clip = GaussianClip.from_frames(frames, fps=2)
    assert clip.is_flipbook and clip.count == 16 and clip.frame_count == 3
    np.testing.assert_array_equal(clip.at(0.75).means, frames[1].means)  # between frames 1 and 2: frame 1 held
    np.testing.assert_array_equal(clip.at(5.0).means, frames[2].means)  # after the end: the last frame
    same_count_other_colours = [cloud(5, 0), cloud(5, 1)]
    assert GaussianClip.from_frames(same_count_other_colours).is_flipbook


def test_linear_and_smooth_positions_between_frames() -> None:
    clip = GaussianClip.from_frames(moving_frames(), fps=10)
    base = clip.frame(0).means.astype(np.float64)
    np.testing.assert_allclose(clip.at(0.25).means, base + [2.5, 0, 0], atol=1e-5)  # halfway between 2 and 3
    curved = GaussianClip.from_frames([c.replace(means=c.means + [0, k * k, 0]) for k, c in enumerate(moving_frames())], 10)
    linear, smooth = curved.at(0.25), curved.replace(interpolation="smooth").at(0.25)
    np.testing.assert_allclose(linear.means[:, 1] - base[:, 1], 6.5, atol=1e-4)  # (4 + 9) / 2
    np.testing.assert_allclose(smooth.means[:, 1] - base[:, 1], 6.25, atol=1e-4)  # on the parabola
    assert catmull_rom_weights(0.0) == pytest.approx([0, 1, 0, 0]) and sum(catmull_rom_weights(0.37)) == pytest.approx(1)


def test_timing_offsets_trims_speeds_reverses_and_loops() -> None:
    duration = 1.0
    assert ClipTiming(offset=2).source_time(1.0, duration) == 0.0  # before the clip: its first moment
    assert ClipTiming(offset=2).source_time(2.5, duration) == pytest.approx(0.5)
    assert ClipTiming(speed=2).source_time(0.25, duration) == pytest.approx(0.5)
    assert ClipTiming(speed=2).played_length(duration) == pytest.approx(0.5)
    assert ClipTiming(trim_in=0.2, trim_out=0.6).source_time(0.1, duration) == pytest.approx(0.3)
    assert ClipTiming(trim_in=0.2, trim_out=0.6).source_time(9.0, duration, 0.1) == pytest.approx(0.5)  # held
    assert ClipTiming(trim_in=0.2, trim_out=0.6, loop=True).source_time(0.5, duration) == pytest.approx(0.3)
    assert ClipTiming(reverse=True).source_time(0.25, duration, 0.1) == pytest.approx(0.65)
    assert ClipTiming(reverse=True).source_time(0.0, duration, 0.1) == pytest.approx(0.9)  # the last frame first
    clip = GaussianClip.from_frames(moving_frames(), fps=10)
    looped = clip.replace(timing=ClipTiming(loop=True))
    np.testing.assert_array_equal(looped.at(0.6 + 0.2).means, clip.at(0.2).means)
    backwards = clip.replace(timing=ClipTiming(reverse=True))
    played = [backwards.frame_at(t)[0] for t in backwards.frame_times()]
    assert played == [5, 4, 3, 2, 1, 0]  # every frame once, the last first
    assert len(clip.replace(timing=ClipTiming(speed=2)).frame_times()) == 3  # 0.6 s at speed 2: 3 frames at 10 fps
    with pytest.raises(ValueError, match="speed"):
        ClipTiming(speed=0)
    with pytest.raises(ValueError, match="trim_out"):
        ClipTiming(trim_in=0.5, trim_out=0.5)


def test_group_keys_move_their_splats_about_the_pivot() -> None:
    still = GaussianClip.still(cloud(10))
    turn = Transform(rotation=axis_angle_to_quat([0, 0, 1], np.pi / 2))
    group = Group("arm", np.array([3, 1]), pivot=[1.0, 0, 0], keys=(Key(1.0, turn, "linear"), Key(0.0)))
    assert [k.time for k in group.keys] == [0.0, 1.0] and list(group.indices) == [1, 3]
    np.testing.assert_allclose(group.matrix_at(1.0) @ [1.0, 0, 0, 1], [1, 0, 0, 1], atol=1e-12)  # the pivot stays
    np.testing.assert_allclose(group.matrix_at(1.0) @ [2.0, 0, 0, 1], [1, 1, 0, 1], atol=1e-12)
    np.testing.assert_allclose(group.matrix_at(0.5) @ [2.0, 0, 0, 1], [1 + np.sqrt(0.5), np.sqrt(0.5), 0, 1], atol=1e-9)
    np.testing.assert_allclose(group.matrix_at(-3.0), np.eye(4), atol=1e-12)  # held before the first key
    clip = still.replace(groups=(group,))
    moved = clip.at(1.0)
    expect = still.canonical.means[[1, 3]].astype(np.float64) - [1, 0, 0]
    expect = np.stack([-expect[:, 1], expect[:, 0], expect[:, 2]], 1) + [1, 0, 0]
    np.testing.assert_allclose(moved.means[[1, 3]], expect, atol=1e-5)
    others = np.setdiff1d(np.arange(10), [1, 3])
    np.testing.assert_array_equal(moved.means[others], still.canonical.means[others])
    eased = Group("g", [0], keys=(Key(0.0, Transform()), Key(1.0, Transform([4, 0, 0]))))
    assert eased.transform_at(0.25).translation[0] == pytest.approx(4 * (3 * 0.0625 - 2 * 0.015625))  # smoothstep


def test_keys_are_added_moved_and_removed_by_value() -> None:
    group = Group("g", [0]).with_key(Key(0.5, Transform([1, 0, 0])))
    group = group.with_key(Key(0.5, Transform([2, 0, 0])))  # replaces the key at that time
    assert len(group.keys) == 1 and group.keys[0].transform.translation[0] == 2
    group = group.with_key(Key(1.0)).moved_key(0.5, 2.0)
    assert [k.time for k in group.keys] == [1.0, 2.0]
    assert group.without_key(1.0).keys[0].time == 2.0
    with pytest.raises(KeyError, match="no key"):
        group.moved_key(0.7, 1.0)
    with pytest.raises(ValueError, match="same time"):
        Group("g", [0], keys=(Key(1.0), Key(1.0)))


def test_bake_writes_timing_and_keys_into_motion_that_plays_the_same() -> None:
    clip = GaussianClip.from_frames(moving_frames(), fps=10)
    group = Group("g", [0, 5], pivot=[0, 0, 0], keys=(Key(0.0), Key(0.3, Transform([0, 2, 0]))))
    edited = clip.replace(timing=ClipTiming(offset=1.0, speed=2.0, reverse=True), groups=(group,))
    baked = edited.bake()
    assert not any(g.keys for g in baked.groups) and baked.groups[0].name == "g"
    assert baked.frame_count == 3 and baked.timing == ClipTiming(offset=1.0)
    for t in baked.frame_times():
        np.testing.assert_allclose(baked.at(t).means, edited.at(t).means, atol=1e-5)


def test_arrays_and_the_project_file_keep_everything(tmp_path) -> None:
    group = Group("g", [2, 4], pivot=[0.5, 0, 0], keys=(Key(0.1, Transform([0, 1, 0]), "linear"), Key(0.4)))
    clip = GaussianClip.from_frames(moving_frames(), fps=12).replace(
        interpolation="smooth", timing=ClipTiming(offset=0.5, loop=True), groups=(group,)
    )
    again = clip_from_arrays(clip_to_arrays(clip))
    assert again.fps == 12 and again.interpolation == "smooth" and again.timing == clip.timing
    for t in (0.0, 0.37, 0.81):
        np.testing.assert_array_equal(again.at(t).means, clip.at(t).means)
    document = Document()
    document.add_layer(Layer("walk", clip))
    save_project(document, tmp_path / "walk.a4d")
    loaded = load_project(tmp_path / "walk.a4d").layers[0].data
    assert isinstance(loaded, GaussianClip) and kind_of(loaded).name == "clip"
    np.testing.assert_array_equal(loaded.at(0.37).quats, clip.at(0.37).quats)
    flipbook = GaussianClip.from_frames([cloud(5, 0), cloud(8, 1)])
    np.testing.assert_array_equal(clip_from_arrays(clip_to_arrays(flipbook)).frame(1).means, flipbook.frame(1).means)
    broken = clip_to_arrays(clip) | {"settings": np.frombuffer(b"{not json", np.uint8)}
    with pytest.raises(ValueError, match="unreadable settings"):
        clip_from_arrays(broken)


def test_transformed_moves_every_frame_and_bounds_cover_the_motion() -> None:
    clip = GaussianClip.from_frames(moving_frames(), fps=10)
    lo, hi = clip.bounds()
    assert hi[0] - lo[0] > 5  # slides 5 units
    shift = np.eye(4)
    shift[:3, 3] = [0, 10, 0]
    moved = clip.transformed(shift)
    np.testing.assert_allclose(moved.frame(3).means, clip.frame(3).means + [0, 10, 0], atol=1e-5)
    assert kind_of(clip).summary(clip) == {
        "count": 20, "frames": 6, "fps": 10.0, "duration": 0.6, "sh_degree": 1, "flipbook": False, "groups": 0,
    }


def test_bad_clips_are_refused_with_their_reason() -> None:
    base = cloud(4)
    with pytest.raises(ValueError, match="fps"):
        GaussianClip(base, fps=0)
    with pytest.raises(ValueError, match=r"means: expected shape \[N, 4, 3\]"):
        GaussianClip(base, means=np.zeros((3, 5, 3)))
    with pytest.raises(ValueError, match="frame_starts"):
        GaussianClip(base, frame_starts=[0, 5])
    with pytest.raises(ValueError, match="names splat 9"):
        GaussianClip(base, groups=(Group("g", [9]),))
    with pytest.raises(ValueError, match="interpolation"):
        GaussianClip(base, interpolation="cubic")
