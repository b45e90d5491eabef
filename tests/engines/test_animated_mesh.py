"""Animated GLB of a clip: the canonical splats' textured mesh carried by their motion, or ellipsoids."""

from __future__ import annotations

import numpy as np
import pygltflib
import pytest

from engines.meshing.animated import (
    AnimatedGlbSettings,
    animated_mesh,
    export_times,
    flipbook_meshes,
    skinning_weights,
    write_animated_glb,
)
from scene import GaussianCloud
from scene.clip import ClipTiming, GaussianClip, Group, Key
from scene.io import FormatError, read_mesh
from scene.io.animated_glb import write_flipbook_glb
from scene.rotation import axis_angle_to_quat, quat_to_matrix
from scene.transform import Transform
from tests.gltf_validator import validate
from tests.known_objects import striped_ball

SMALL = {"resolution": 32, "texture_size": 64, "bake_views": 4, "max_faces": 1500}
"""A coarse mesh and a small texture: fast, and enough to see the motion."""


def motion(k: int) -> np.ndarray:
    """Frame ``k``'s rigid motion of the test object: a turn of 0.3 rad per frame about y and 0.1 along x."""
    m = np.eye(4)
    m[:3, :3] = quat_to_matrix(axis_angle_to_quat([0.0, 1.0, 0.0], 0.3 * k))
    m[:3, 3] = [0.1 * k, 0.0, 0.0]
    return m


@pytest.fixture(scope="module")
def rolling_ball() -> GaussianClip:
    ball = striped_ball(1200, seed=3)
    return GaussianClip.from_frames([ball.transformed(motion(k)) for k in range(5)], fps=12.0)


def sparse_splats(count: int = 30, seed: int = 0) -> GaussianCloud:
    """Small splats strewn far apart: no surface joins them."""
    rng = np.random.default_rng(seed)
    return GaussianCloud.create(
        rng.uniform(-1, 1, (count, 3)), rng.uniform(0.01, 0.03, (count, 3)), rng.random((count, 3)),
        quats=rng.normal(size=(count, 4)),
    )


def scattered_blobs(seed: int = 0) -> GaussianCloud:
    """27 opaque round splats on a 3 x 3 x 3 lattice 0.7 apart: each dense enough for a surface of its own."""
    rng = np.random.default_rng(seed)
    lattice = np.stack(np.meshgrid(*[np.arange(3) * 0.7] * 3, indexing="ij"), -1).reshape(-1, 3)
    return GaussianCloud.create(lattice + rng.normal(0, 0.03, lattice.shape), 0.12, rng.random((27, 3)), opacities=0.95)


def check_valid(path) -> dict:
    report = validate(path)
    issues = report["issues"]
    assert issues["numErrors"] == 0, [m for m in issues["messages"] if m["severity"] == 0]
    assert issues["numWarnings"] == 0, [m for m in issues["messages"] if m["severity"] == 1]
    assert report["info"]["animationCount"] >= 1
    return report


def frames_of(path, attribute: str = "POSITION") -> np.ndarray:  # [F, V, 3] base + target k, read with pygltflib
    gltf = pygltflib.GLTF2().load(str(path))
    primitive = gltf.meshes[0].primitives[0]

    def read(index):
        accessor = gltf.accessors[index]
        view = gltf.bufferViews[accessor.bufferView]
        start = view.byteOffset + (accessor.byteOffset or 0)
        return np.frombuffer(gltf.binary_blob(), "<f4", accessor.count * 3, start).reshape(-1, 3)

    base = read(getattr(primitive.attributes, attribute))
    return np.stack([base + read(target[attribute]) for target in primitive.targets])


def surface_centroid(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The centre of a surface: its triangles' centres weighted by their areas (vertex density aside)."""
    corners = vertices[faces].astype(np.float64)
    areas = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    return (corners.mean(axis=1) * areas[:, None]).sum(axis=0) / areas.sum()


def test_a_moving_object_exports_a_valid_textured_animated_glb_that_follows_it(tmp_path, rolling_ball):
    path = tmp_path / "ball.glb"
    summary = write_animated_glb(rolling_ball, path, **SMALL)
    assert summary.startswith("a textured surface of ") and summary.endswith(" faces over 5 frames")
    report = check_valid(path)
    assert report["info"]["materialCount"] == 1 and report["info"]["hasTextures"]
    rest = read_mesh(path)  # the rest pose, with its texture
    assert rest.is_textured and rest.face_count <= SMALL["max_faces"]
    positions, normals = frames_of(path), frames_of(path, "NORMAL")
    assert len(positions) == rolling_ball.frame_count
    for k in range(rolling_ball.frame_count):
        # the splats move rigidly, so the mesh moves exactly as they do: turn and shift
        turn, shift = motion(k)[:3, :3], motion(k)[:3, 3]
        np.testing.assert_allclose(positions[k], rest.vertices @ turn.T + shift, atol=1e-4)
        np.testing.assert_allclose(normals[k], normals[0] @ turn.T, atol=1e-4)  # frame 0 is the rest pose
        splats = rolling_ball.frame(k).means.mean(axis=0)
        assert np.linalg.norm(surface_centroid(positions[k], rest.faces) - splats) < 0.03


def test_a_still_clip_exports_one_frame(tmp_path):
    summary = write_animated_glb(GaussianClip.still(striped_ball(800)), tmp_path / "still.glb", **SMALL)
    assert summary.endswith(" faces over 1 frame")
    check_valid(tmp_path / "still.glb")
    assert len(frames_of(tmp_path / "still.glb")) == 1


def test_group_keys_and_timing_are_in_the_frames():
    left, right = (striped_ball(600, radius=0.3, seed=seed) for seed in (1, 2))
    left_shift, right_shift = np.eye(4), np.eye(4)
    left_shift[0, 3], right_shift[0, 3] = -0.6, 0.6
    pair = GaussianCloud.concatenate([left.transformed(left_shift), right.transformed(right_shift)])
    still = GaussianClip.from_frames([pair] * 4, fps=12.0)
    lift = Transform(translation=np.array([0.0, 0.5, 0.0]))
    group = Group("right", np.arange(600, 1200), np.zeros(3), (Key(0.0, interpolation="linear"), Key(3 / 12, lift)))
    clip = still.replace(groups=(group,))
    animated = animated_mesh(clip, AnimatedGlbSettings(**SMALL))
    rest = animated.mesh.vertices
    on_right = rest[:, 0] > 0
    assert 0.3 < on_right.mean() < 0.7
    lifted = animated.positions[-1] - rest
    np.testing.assert_allclose(lifted[on_right] - [0.0, 0.5, 0.0], 0.0, atol=1e-4)
    np.testing.assert_allclose(lifted[~on_right], 0.0, atol=1e-4)
    np.testing.assert_allclose(animated.positions[1][on_right] - rest[on_right] - [0.0, 0.5 / 3, 0.0], 0.0, atol=1e-4)
    backwards = animated_mesh(clip.replace(timing=ClipTiming(offset=2.0, reverse=True)), AnimatedGlbSettings(**SMALL))
    np.testing.assert_allclose(backwards.times, animated.times)  # from 0: the offset is left out
    # played backwards from the document's 2 s, where the group's keys (document times) are long done
    np.testing.assert_allclose(backwards.positions[0][on_right] - rest[on_right] - [0.0, 0.5, 0.0], 0.0, atol=1e-4)


def test_a_vertex_follows_its_nearest_splats_by_opacity_over_squared_distance():
    splats = GaussianCloud.create(
        [[-1.0, 0, 0], [1.0, 0, 0], [0, 2.0, 0], [0, 0, 50.0]], 0.1, [1.0, 1.0, 1.0], opacities=[0.8, 0.2, 0.8, 0.9]
    )
    indices, weights = skinning_weights(np.zeros((1, 3)), splats, neighbours=3)
    assert sorted(indices[0]) == [0, 1, 2]  # the far splat is not among the three nearest
    by_splat = dict(zip(indices[0], weights[0]))
    np.testing.assert_allclose([by_splat[0], by_splat[1], by_splat[2]], np.array([0.8, 0.2, 0.8 / 4]) / 1.2, rtol=1e-4)


def test_frames_follow_the_clip_frames_or_the_asked_rate_up_to_the_cap(rolling_ball):
    np.testing.assert_allclose(export_times(rolling_ball, 0.0, 100), np.arange(5) / 12)
    np.testing.assert_allclose(export_times(rolling_ball, 24.0, 100), np.arange(10) / 24)
    np.testing.assert_allclose(export_times(rolling_ball, 24.0, 4), np.linspace(0, 9 / 24, 4))
    fast = rolling_ball.replace(timing=ClipTiming(offset=1.0, speed=2.0))  # plays in 5 / 24 s
    np.testing.assert_allclose(export_times(fast, 0.0, 100), 1.0 + np.arange(3) / 12)
    np.testing.assert_allclose(export_times(fast, 24.0, 100), 1.0 + np.arange(5) / 24)
    spin = Group("all", np.arange(50), keys=(Key(0.0), Key(1.0)))
    keyed = GaussianClip.still(striped_ball(50), fps=4.0).replace(groups=(spin,))
    np.testing.assert_allclose(export_times(keyed, 0.0, 100), np.arange(5) / 4)  # a still layer lasts as its keys


@pytest.mark.parametrize(
    "cloud, why",
    [(sparse_splats(), "too sparse or faint"), (scattered_blobs(), "27 separate blobs")],
    ids=["sparse", "blobs"],
)
def test_splats_without_a_surface_export_as_ellipsoids_that_follow_them(tmp_path, cloud, why):
    frames = [cloud.transformed(motion(k)) for k in range(4)]
    clip = GaussianClip.from_frames(frames, fps=8.0)
    summary = write_animated_glb(clip, tmp_path / "sparse.glb", **SMALL)
    assert summary.startswith(f"{cloud.count} splats as ellipsoids over 4 frames") and why in summary
    check_valid(tmp_path / "sparse.glb")
    positions, normals = frames_of(tmp_path / "sparse.glb"), frames_of(tmp_path / "sparse.glb", "NORMAL")
    assert positions.shape == (4, 12 * cloud.count, 3)
    for k, frame in enumerate(frames):
        corners = positions[k].reshape(cloud.count, 12, 3)
        centres = corners.mean(axis=1)  # an icosahedron is centred on its splat
        np.testing.assert_allclose(centres, frame.means, atol=1e-5)
        # every corner lies on the splat's one-sigma ellipsoid: unit length once turned back and unstretched
        turns = quat_to_matrix(frame.quats)
        local = np.einsum("sji,scj->sci", turns, corners - centres[:, None]) / frame.scales[:, None]
        np.testing.assert_allclose(np.linalg.norm(local, axis=2), 1.0, atol=1e-3)
        # and its normal is the ellipsoid's there: the gradient of |S^-1 R^T (x - c)|^2
        gradient = np.einsum("sij,scj->sci", turns, local / frame.scales[:, None])
        gradient /= np.linalg.norm(gradient, axis=2, keepdims=True)
        unit_normals = normals[k] / np.linalg.norm(normals[k], axis=1, keepdims=True)
        np.testing.assert_allclose(unit_normals.reshape(cloud.count, 12, 3), gradient, atol=2e-3)
    colours = read_mesh(tmp_path / "sparse.glb").vertex_colors[::12, :3]
    np.testing.assert_allclose(colours, np.clip(cloud.base_colors, 0, 1), atol=1 / 255)


def test_a_spray_around_a_dense_spot_is_ellipsoids_and_the_face_budget_caps_them(tmp_path):
    spot = striped_ball(800, radius=0.25, seed=4)
    spray = sparse_splats(800, seed=5)
    clip = GaussianClip.from_frames([GaussianCloud.concatenate([spot, spray])] * 2, fps=4.0)
    written = animated_mesh(clip, AnimatedGlbSettings(**SMALL | {"max_faces": 40 * 20}))
    assert "holds only 5" in written.note  # the spot: about half the splats
    assert written.mesh.face_count == 40 * 20


def test_a_flipbook_exports_each_frame_shown_in_turn(tmp_path):
    ball, shifted = striped_ball(600, seed=1), np.eye(4)
    shifted[0, 3] = 1.0
    frames = [ball, GaussianCloud.empty(), striped_ball(700, seed=2).transformed(shifted), sparse_splats(20)]
    clip = GaussianClip.from_frames(frames, fps=6.0)
    assert clip.is_flipbook
    book = flipbook_meshes(clip, AnimatedGlbSettings(**SMALL))
    np.testing.assert_allclose(book.times, np.arange(4) / 6)
    assert [bool(note) for note in book.notes] == [False, True, False, True]
    assert book.meshes[1].face_count == 0 and book.meshes[3].face_count == 20 * 20
    for k in (0, 2):
        centre = surface_centroid(book.meshes[k].vertices, book.meshes[k].faces)
        assert np.linalg.norm(centre - frames[k].means.mean(axis=0)) < 0.03
    write_flipbook_glb(tmp_path / "book.glb", book.meshes, book.times)
    check_valid(tmp_path / "book.glb")
    gltf = pygltflib.GLTF2().load(str(tmp_path / "book.glb"))
    shown = sorted(node.name for node in gltf.nodes if node.mesh is not None)
    assert shown == ["frame_0000", "frame_0002", "frame_0003"]  # the empty frame has no node


def test_a_flipbook_of_sparse_frames_writes_a_valid_glb_and_says_so(tmp_path):
    clip = GaussianClip.from_frames([sparse_splats(10, seed=1), sparse_splats(12, seed=2)], fps=2.0)
    summary = write_animated_glb(clip, tmp_path / "book.glb", **SMALL)
    assert summary == "a flipbook of 2 frames, 2 of them as ellipsoids (no surface in their splats)"
    check_valid(tmp_path / "book.glb")


@pytest.mark.parametrize("name", ["nowhere/ball.glb", "ball.gltf"])
def test_a_bad_path_fails_at_once_with_one_line_and_writes_nothing(tmp_path, rolling_ball, name):
    with pytest.raises(FormatError) as info:
        write_animated_glb(rolling_ball, tmp_path / name, **SMALL)
    assert "\n" not in str(info.value)
    assert list(tmp_path.rglob("*")) == []
