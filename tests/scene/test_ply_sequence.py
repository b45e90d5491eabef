"""PLY sequences: folder -> clip -> folder exactly, flipbooks, name order, bad input, safe rewriting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scene import GaussianCloud
from scene.clip import ClipTiming, GaussianClip
from scene.io import FormatError, load, save, write_gaussians_ply, write_mesh_ply
from scene.io import ply_sequence
from scene.io.ply_sequence import read_ply_sequence, write_ply_sequence
from scene.rotation import axis_angle_to_quat, quat_multiply

FIELDS = ("means", "log_scales", "quats", "opacity_logits", "sh")


def moving(rng: np.random.Generator, frames: int = 5, n: int = 30, degree: int = 1) -> list[GaussianCloud]:
    """One cloud sliding, turning, growing and fading over ``frames`` frames, its colours fixed."""
    quats = rng.normal(size=(n, 4)).astype(np.float32)
    base = GaussianCloud(
        rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) - 3, quats / np.linalg.norm(quats, axis=1, keepdims=True),
        rng.normal(size=n), rng.normal(size=(n, (degree + 1) ** 2, 3)) * 0.5,
    )
    out = []
    for k in range(frames):
        turn = np.tile(axis_angle_to_quat([0, 1, 0], 0.3 * k), (n, 1))
        out.append(base.replace(
            means=base.means + rng.normal(size=(n, 3)) * 0.1 + [k, 0, 0], quats=quat_multiply(turn, base.quats),
            log_scales=base.log_scales + 0.05 * k, opacity_logits=base.opacity_logits - 0.1 * k,
        ))
    return out


def write_frames(folder: Path, clouds: list[GaussianCloud], name: str = "frame_{:04d}.ply") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name.format(k) for k in range(len(clouds))]
    for path, cloud in zip(paths, clouds):
        write_gaussians_ply(path, cloud)
    return paths


def assert_same_cloud(a: GaussianCloud, b: GaussianCloud) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------------- round trips
def test_sequence_to_clip_to_sequence_is_byte_exact(rng, tmp_path) -> None:
    sources = write_frames(tmp_path / "in", moving(rng))
    clip = read_ply_sequence(tmp_path / "in", fps=12)
    assert not clip.is_flipbook and clip.frame_count == 5 and clip.fps == 12 and clip.count == 30
    assert clip.means is not None and clip.quats is not None and clip.log_scales is not None
    written = write_ply_sequence(clip, tmp_path / "out")
    assert [p.name for p in written] == [p.name for p in sources] == listing(tmp_path / "out")
    for source, copy in zip(sources, written):
        assert source.read_bytes() == copy.read_bytes()
    assert listing(tmp_path) == ["in", "out"]  # no staging folder left behind


def test_a_sequence_from_another_writer_comes_back_array_exact(rng, tmp_path, helpers) -> None:
    """Big-endian frames with a comment and normals: not our bytes, but the same splats."""
    clouds = moving(rng, frames=3, degree=2)
    folder = tmp_path / "dg4d"
    folder.mkdir()
    names = helpers.standard_splat_fields(2)
    for k, cloud in enumerate(clouds):
        n = cloud.count
        columns = {"x": cloud.means[:, 0], "y": cloud.means[:, 1], "z": cloud.means[:, 2], "nx": np.ones(n),
                   "opacity": cloud.opacity_logits}
        columns |= {f"f_dc_{c}": cloud.sh[:, 0, c] for c in range(3)}
        columns |= {f"f_rest_{c * 8 + j - 1}": cloud.sh[:, j, c] for c in range(3) for j in range(1, 9)}
        columns |= {f"scale_{i}": cloud.log_scales[:, i] for i in range(3)}
        columns |= {f"rot_{i}": cloud.quats[:, i] for i in range(4)}
        rows = np.zeros(n, np.dtype([(name, "<f4") for name in names]))
        for name, values in columns.items():
            rows[name] = values
        (folder / f"frame_{k:04d}.ply").write_bytes(helpers.ply_bytes([("vertex", rows)], "binary_big_endian"))
    clip = read_ply_sequence(folder)
    assert clip.fps == 24.0 and clip.frame_count == 3
    for k, cloud in enumerate(clouds):
        assert_same_cloud(clip.frame(k), cloud)
    again = read_ply_sequence(write_ply_sequence(clip, tmp_path / "out")[0].parent)
    for k in range(3):
        assert_same_cloud(again.frame(k), clip.frame(k))


def test_frames_of_different_splats_round_trip_as_a_flipbook(rng, tmp_path) -> None:
    clouds = [moving(rng, frames=1, n=n)[0] for n in (12, 40, 7)]
    sources = write_frames(tmp_path / "in", clouds)
    clip = read_ply_sequence(tmp_path / "in", fps=8)
    assert clip.is_flipbook and clip.frame_count == 3 and clip.count == 59
    written = write_ply_sequence(clip, tmp_path / "out")
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in sources]


def test_resampled_export_interpolates_between_frames(rng, tmp_path) -> None:
    clip = GaussianClip.from_frames(moving(rng, frames=4), fps=10)
    written = write_ply_sequence(clip, tmp_path / "out", fps=20)
    assert len(written) == 8  # 0.4 s at 20 fps
    back = read_ply_sequence(tmp_path / "out", fps=20)
    assert_same_cloud(back.frame(2), clip.frame(1))  # 0.1 s
    np.testing.assert_allclose(back.frame(3).means, 0.5 * (clip.frame(1).means + clip.frame(2).means), atol=1e-5)


def test_export_follows_the_clips_timing(rng, tmp_path) -> None:
    clip = GaussianClip.from_frames(moving(rng, frames=6), fps=10).replace(timing=ClipTiming(trim_in=0.2, speed=2))
    back = read_ply_sequence(write_ply_sequence(clip, tmp_path / "out")[0].parent, fps=10)
    assert back.frame_count == 2  # frames 2-5 played twice as fast: every other one, at the clip's 10 fps
    for k in range(2):
        assert_same_cloud(back.frame(k), clip.frame(2 + 2 * k))


def test_formats_load_a_folder_and_save_a_clip_as_one(rng, tmp_path) -> None:
    write_frames(tmp_path / "in", moving(rng, frames=2))
    clip = load(tmp_path / "in")
    assert isinstance(clip, GaussianClip) and clip.frame_count == 2 and clip.fps == 24.0
    save(tmp_path / "out", clip)
    assert listing(tmp_path / "out") == ["frame_0000.ply", "frame_0001.ply"]
    with pytest.raises(FormatError, match="a clip is saved as a folder of PLY frames"):
        save(tmp_path / "clip.ply", clip)


# ----------------------------------------------------------------------------- names
def test_frames_are_taken_in_natural_name_order(rng, tmp_path) -> None:
    clouds = moving(rng, frames=4)
    folder = tmp_path / "seq"
    folder.mkdir()
    for name, cloud in zip(("frame_1.ply", "frame_2.ply", "frame_10.ply", "Frame_11.PLY"), clouds):
        write_gaussians_ply(folder / name, cloud)
    (folder / "notes.txt").write_text("not a frame")
    (folder / ".frame_0.ply").write_text("hidden: a file manager's")
    assert [p.name for p in ply_sequence.sequence_files(folder)] == ["frame_1.ply", "frame_2.ply", "frame_10.ply", "Frame_11.PLY"]
    clip = read_ply_sequence(folder)
    for k, cloud in enumerate(clouds):
        assert_same_cloud(clip.frame(k), cloud)


# ----------------------------------------------------------------------------- bad input
def test_bad_sequences_fail_with_one_line_naming_the_file(rng, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no frames here")
    with pytest.raises(FormatError, match="holds no PLY files") as caught:
        read_ply_sequence(empty)
    assert str(empty) in str(caught.value)
    with pytest.raises(FormatError, match="no such folder"):
        read_ply_sequence(tmp_path / "missing")

    meshy = tmp_path / "meshy"
    write_frames(meshy, moving(rng, frames=2))
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    from scene import MeshAsset

    write_mesh_ply(meshy / "frame_0002.ply", MeshAsset(vertices, np.array([[0, 1, 2]])))
    with pytest.raises(FormatError, match="frame_0002.ply: holds a mesh, not splats"):
        read_ply_sequence(meshy)

    corrupt = tmp_path / "corrupt"
    paths = write_frames(corrupt, moving(rng, frames=3))
    paths[1].write_bytes(paths[1].read_bytes()[:-100])
    with pytest.raises(FormatError) as caught:
        load(corrupt)
    message = str(caught.value)
    assert "frame_0001.ply" in message and "\n" not in message
    with pytest.raises(ValueError, match="frame rate"):
        read_ply_sequence(tmp_path / "meshy", fps=0)


# ----------------------------------------------------------------------------- writing safely
def test_a_failed_write_leaves_the_old_sequence_intact(rng, tmp_path, monkeypatch) -> None:
    out = tmp_path / "out"
    old = write_ply_sequence(GaussianClip.from_frames(moving(rng, frames=3), fps=24), out)
    before = {p.name: p.read_bytes() for p in old}
    calls = []

    def failing(path, cloud) -> None:
        calls.append(path)
        if len(calls) == 4:
            raise OSError("disk full")
        write_gaussians_ply(path, cloud)

    monkeypatch.setattr(ply_sequence, "write_gaussians_ply", failing)
    with pytest.raises(OSError, match="disk full"):
        write_ply_sequence(GaussianClip.from_frames(moving(rng, frames=6), fps=24), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert listing(tmp_path) == ["out"]  # the unfinished frames went with their staging folder
    assert all(p.parent != out for p in calls)


def test_rewriting_a_sequence_replaces_every_old_frame(rng, tmp_path) -> None:
    out = tmp_path / "out"
    write_ply_sequence(GaussianClip.from_frames(moving(rng, frames=5), fps=24), out)
    shorter = GaussianClip.from_frames(moving(rng, frames=2), fps=24)
    write_ply_sequence(shorter, out)
    assert listing(out) == ["frame_0000.ply", "frame_0001.ply"]  # frames 2-4 of the old one are gone
    assert_same_cloud(read_ply_sequence(out).frame(1), shorter.frame(1))
    assert listing(tmp_path) == ["out"]


def test_a_folder_holding_other_things_is_not_replaced(rng, tmp_path) -> None:
    clip = GaussianClip.from_frames(moving(rng, frames=2), fps=24)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(FormatError, match="holds other things than PLY files"):
        write_ply_sequence(clip, tmp_path / "photos")
    assert listing(tmp_path / "photos") == ["holiday.jpg"]
    (tmp_path / "file.ply").write_bytes(b"x")
    with pytest.raises(FormatError, match="is a file"):
        write_ply_sequence(clip, tmp_path / "file.ply")
    with pytest.raises(FormatError, match="does not exist"):
        write_ply_sequence(clip, tmp_path / "no" / "such")
    assert listing(tmp_path) == ["file.ply", "photos"]
