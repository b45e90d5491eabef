"""Animating layers: groups, keys, timing and bake are each one undo step that shares the motion;
the selection edits of scene.edits work on clips at the document's time."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer, MeshAsset, Transform
from scene import clip_edits, edits
from scene.clip import ClipTiming, GaussianClip


def grid(n: int = 10) -> GaussianCloud:
    """``n`` splats on the x axis at x = 0..n-1."""
    means = np.column_stack([np.arange(n), np.zeros(n), np.zeros(n)])
    return GaussianCloud.create(means, 0.05, np.linspace(0, 1, 3 * n).reshape(n, 3))


def sliding(frames: int = 5, n: int = 10) -> GaussianClip:
    """The grid sliding along +y by one unit per frame, at 10 fps."""
    base = grid(n)
    return GaussianClip.from_frames([base.replace(means=base.means + [0, k, 0]) for k in range(frames)], fps=10)


def document_with(data, selected: slice | None = slice(0, 3)) -> tuple[Document, Layer]:
    document = Document()
    layer = document.add_layer(Layer("walk", data))
    if selected is not None:
        mask = np.zeros(data.count, bool)
        mask[selected] = True
        document.select_splats(layer.id, mask)
    document.undo_stack.clear()
    return document, layer


def one_step(document: Document, layer: Layer, edit: Callable[[], object]) -> tuple[object, object]:
    """Run ``edit``; check it is one undo step that undo and redo swap exactly. Returns (before, after)."""
    before = layer.data
    document.undo_stack.clear()
    edit()
    after = layer.data
    assert after is not before
    assert document.undo()
    assert layer.data is before and not document.undo_stack.can_undo  # exactly one step
    assert document.redo()
    assert layer.data is after
    return before, after


def grouped(data=None, at: float = 0.0) -> tuple[Document, Layer]:
    document, layer = document_with(sliding() if data is None else data)
    document.set_time(at)
    clip_edits.group_selection(document, layer.id, "arm")
    document.undo_stack.clear()
    return document, layer


def test_grouping_a_static_layer_makes_a_still_clip_in_one_step() -> None:
    document, layer = document_with(grid())
    cloud = layer.data
    before, after = one_step(document, layer, lambda: clip_edits.group_selection(document, layer.id, " arm "))
    assert before is cloud and isinstance(after, GaussianClip) and after.frame_count == 1
    assert after.canonical is cloud  # the splats are shared, not copied
    (group,) = after.groups
    assert group.name == "arm" and group.indices.tolist() == [0, 1, 2] and not group.keys
    np.testing.assert_allclose(group.pivot, [1, 0, 0])  # the centroid of x = 0, 1, 2
    assert document.splat_selection(layer.id) is not None  # the selection stays for the next edit


def test_the_pivot_is_the_centroid_at_the_playhead_and_the_motion_is_shared() -> None:
    clip = sliding()
    document, layer = document_with(clip)
    document.set_time(0.2)  # frame 2: y = 2
    _, after = one_step(document, layer, lambda: clip_edits.group_selection(document, layer.id, "arm"))
    np.testing.assert_allclose(after.groups[0].pivot, [1, 2, 0])
    assert after.means is clip.means and after.canonical is clip.canonical


def test_grouping_refuses_no_selection_a_taken_or_empty_name_and_other_kinds() -> None:
    document, layer = document_with(grid(), selected=None)
    with pytest.raises(ValueError, match="no splats are selected in walk"):
        clip_edits.group_selection(document, layer.id, "arm")
    document, layer = grouped()
    with pytest.raises(ValueError, match="already has a group named 'arm'"):
        clip_edits.group_selection(document, layer.id, "arm")
    with pytest.raises(ValueError, match="needs a name"):
        clip_edits.group_selection(document, layer.id, "  ")
    mesh = document.add_layer(Layer("box", MeshAsset(np.eye(3), [[0, 1, 2]])))
    with pytest.raises(TypeError, match="box is a mesh layer; only splats and clips can be animated"):
        clip_edits.group_selection(document, mesh.id, "arm")
    assert not document.undo_stack.can_undo or document.undo_stack.undo_text == "Add box"


def test_keys_move_the_group_halfway_with_a_smooth_ease() -> None:
    document, layer = grouped(GaussianClip.still(grid()))
    start = layer.data.at(0.0).means.copy()
    document.set_time(0.0)
    one_step(document, layer, lambda: clip_edits.set_key(document, layer.id, "arm", Transform()))  # at the playhead
    before, after = one_step(
        document, layer, lambda: clip_edits.set_key(document, layer.id, "arm", Transform([0, 0, 4]), time=1.0)
    )
    assert after.canonical is before.canonical and [k.time for k in after.groups[0].keys] == [0.0, 1.0]
    assert after.groups[0].keys[0].interpolation == "smooth"
    np.testing.assert_allclose(after.at(0.5).means[:3, 2], 2.0, atol=1e-6)  # smoothstep(0.5) = 0.5
    np.testing.assert_allclose(after.at(0.25).means[:3, 2], 4 * 0.15625, atol=1e-6)  # eased, not 1.0
    np.testing.assert_array_equal(after.at(1.0).means[3:], start[3:])  # the others stay
    one_step(document, layer, lambda: clip_edits.set_key_interpolation(document, layer.id, "arm", 0.0, "linear"))
    np.testing.assert_allclose(layer.data.at(0.25).means[:3, 2], 1.0, atol=1e-6)


def test_keys_are_moved_and_deleted_by_time() -> None:
    document, layer = grouped()
    clip_edits.set_key(document, layer.id, "arm", Transform([1, 0, 0]), time=0.1)
    clip_edits.set_key(document, layer.id, "arm", Transform([2, 0, 0]), time=0.3)
    before, after = one_step(document, layer, lambda: clip_edits.move_key(document, layer.id, "arm", 0.1, 0.2))
    assert [k.time for k in after.groups[0].keys] == [0.2, 0.3] and after.means is before.means
    one_step(document, layer, lambda: clip_edits.delete_key(document, layer.id, "arm", 0.3))
    assert [k.time for k in layer.data.groups[0].keys] == [0.2]
    with pytest.raises(ValueError, match="group 'arm' has no key at 0.7 s"):
        clip_edits.move_key(document, layer.id, "arm", 0.7, 0.9)
    with pytest.raises(ValueError, match="has no key at 0.7 s"):
        clip_edits.delete_key(document, layer.id, "arm", 0.7)
    with pytest.raises(ValueError, match="walk has no group named 'leg'"):
        clip_edits.set_key(document, layer.id, "leg", Transform())


def test_groups_are_removed_and_their_pivot_moved() -> None:
    document, layer = grouped()
    one_step(document, layer, lambda: clip_edits.set_group_pivot(document, layer.id, "arm", [5, 5, 5]))
    np.testing.assert_array_equal(layer.data.groups[0].pivot, [5, 5, 5])
    before, after = one_step(document, layer, lambda: clip_edits.remove_group(document, layer.id, "arm"))
    assert after.groups == () and after.means is before.means
    with pytest.raises(ValueError, match="no group named 'arm'"):
        clip_edits.remove_group(document, layer.id, "arm")


def test_timing_changes_are_steps_and_bad_ones_are_refused() -> None:
    document, layer = grouped()
    for changes in ({"speed": 2.0}, {"trim_in": 0.1, "trim_out": 0.3}, {"loop": True}, {"reverse": True},
                    {"offset": 1.5}):
        before, after = one_step(document, layer, lambda: clip_edits.set_timing(document, layer.id, **changes))
        assert all(getattr(after.timing, k) == v for k, v in changes.items()) and after.means is before.means
    assert layer.data.timing == ClipTiming(offset=1.5, trim_in=0.1, trim_out=0.3, speed=2.0, reverse=True, loop=True)
    document.undo_stack.clear()
    clip_edits.set_timing(document, layer.id, speed=2.0)  # unchanged: no step
    assert not document.undo_stack.can_undo
    with pytest.raises(ValueError, match="speed must be above 0"):
        clip_edits.set_timing(document, layer.id, speed=0.0)
    with pytest.raises(TypeError, match="timing has no tempo"):
        clip_edits.set_timing(document, layer.id, tempo=2.0)


def test_bake_writes_keys_and_timing_into_the_motion() -> None:
    document, layer = grouped(sliding(frames=6))
    with pytest.raises(ValueError, match="walk has no keys or timing changes to bake"):
        clip_edits.bake_edits(document, layer.id)
    clip_edits.set_key(document, layer.id, "arm", Transform(), time=0.0)
    clip_edits.set_key(document, layer.id, "arm", Transform([0, 0, 3]), time=0.4)
    clip_edits.set_timing(document, layer.id, speed=2.0)
    edited = layer.data
    _, baked = one_step(document, layer, lambda: clip_edits.bake_edits(document, layer.id))
    assert not baked.groups[0].keys and baked.timing == ClipTiming()
    assert baked.frame_count == 5  # through the last key at 0.4 s, past the 0.3 s the retimed clip plays
    for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.9):
        np.testing.assert_allclose(baked.at(t).means, edited.at(t).means, atol=1e-5)


def test_a_still_layer_animated_by_keys_alone_bakes_up_to_its_last_key() -> None:
    document, layer = grouped(GaussianClip.still(grid()))
    clip_edits.set_key(document, layer.id, "arm", Transform(), time=0.0)
    clip_edits.set_key(document, layer.id, "arm", Transform([0, 0, 3]), time=1.0)
    edited = layer.data
    baked = clip_edits.bake_edits(document, layer.id)
    assert baked.frame_count == 25 and baked.fps == 24  # 0 .. 1 s at the clip's 24 fps
    for t in (0.25, 0.5, 1.0, 2.0):
        np.testing.assert_allclose(baked.at(t).means, edited.at(t).means, atol=1e-5)


def test_edits_on_layers_that_are_not_clips_are_refused() -> None:
    document, layer = document_with(grid())
    for call in (
        lambda: clip_edits.set_key(document, layer.id, "arm", Transform()),
        lambda: clip_edits.set_timing(document, layer.id, loop=True),
        lambda: clip_edits.bake_edits(document, layer.id),
        lambda: clip_edits.delete_key(document, layer.id, "arm", 0.0),
    ):
        with pytest.raises(TypeError, match="walk is a splats layer, not a clip"):
            call()


# ----------------------------------------------------------------------------- scene.edits on clips
def test_selection_tools_see_a_clip_where_it_is_at_the_playhead() -> None:
    document, layer = document_with(sliding(), selected=None)
    document.set_time(0.3)  # y = 3
    assert edits.select_box(document, layer.id, [-1, 2.5, -1], [20, 3.5, 1]) == 10
    document.set_time(0.0)
    assert edits.select_box(document, layer.id, [-1, 2.5, -1], [20, 3.5, 1]) == 0
    np.testing.assert_allclose(edits.world_centres(layer, 0.3)[:, 1], 3.0)


def test_deleting_and_separating_splats_of_a_clip_keeps_the_groups_straight() -> None:
    document, layer = grouped()  # group "arm": splats 0, 1, 2
    mask = np.zeros(10, bool)
    mask[[1, 5]] = True
    document.select_splats(layer.id, mask)
    before, after = one_step(document, layer, lambda: edits.delete_selected(document, layer.id))
    assert after.count == 8 and after.means.shape == (5, 8, 3)
    assert after.groups[0].indices.tolist() == [0, 1]  # splats 0 and 2, renumbered
    np.testing.assert_array_equal(after.frame(4).means, np.delete(before.frame(4).means, [1, 5], axis=0))
    document.select_splats(layer.id, np.arange(8) >= 6)
    part = edits.separate_selected(document, layer.id)
    assert isinstance(part.data, GaussianClip) and part.data.count == 2 and part.data.frame_count == 5


def test_cropping_a_flipbook_keeps_the_frames_not_shown() -> None:
    frames = [grid(4), grid(6).replace(means=grid(6).means + [0, 10, 0])]
    document, layer = document_with(GaussianClip.from_frames(frames), selected=None)
    assert layer.data.is_flipbook
    centres = edits.world_centres(layer, 0.0)
    assert np.isfinite(centres[:4]).all() and np.isnan(centres[4:]).all()
    edits.select_all(document, layer.id)
    assert len(edits.selected_centres(document, layer.id)) == 4  # only the splats shown now
    document.select_splats(layer.id, None)
    assert edits.crop_to_box(document, layer.id, [-1, -1, -1], [1.5, 1, 1]) == 2  # x = 2, 3 of frame 0
    assert layer.data.count == 8 and layer.data.frame_starts.tolist() == [0, 2, 8]


def test_moving_selected_splats_of_a_clip_moves_them_in_every_frame() -> None:
    clip = sliding()
    document, layer = document_with(clip)
    shift = Transform([0, 0, 2]).matrix()
    _, after = one_step(document, layer, lambda: edits.transform_selected(document, layer.id, shift))
    for k in (0, 4):
        np.testing.assert_allclose(after.frame(k).means[:3], clip.frame(k).means[:3] + [0, 0, 2], atol=1e-6)
        np.testing.assert_array_equal(after.frame(k).means[3:], clip.frame(k).means[3:])
