"""Clips on the command line: PLY sequences <-> clip projects, the animated GLB, ``info``, and ``render``
at a time (``--time f3``) or along the timeline (``--video``)."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest

from scene.io.project import load_project
from studio.cli import main
from tests.render.conftest import offscreen  # noqa: F401  (a fixture)
from tests.scene.test_ply_sequence import moving, write_frames

FPS = 12


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    """Five frames of 300 splats sliding along +x and turning."""
    folder = tmp_path_factory.mktemp("dg4d") / "walk"
    write_frames(folder, moving(np.random.default_rng(5), frames=5, n=300))
    return folder


@pytest.fixture(scope="module")
def clip_project(sequence, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clip") / "walk.a4d"
    assert main(["convert", str(sequence), str(out), "--fps", str(FPS)]) == 0
    return out


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


# ----------------------------------------------------------------------------- convert and info
def test_sequence_to_clip_project_to_sequence_is_byte_exact(capsys, sequence, tmp_path) -> None:
    clip_file = tmp_path / "walk.a4d"
    status, out, _ = run_cli(capsys, "convert", sequence, clip_file)
    assert status == 0 and "300 splats, 5 frames at 24 fps" in out
    layer = load_project(clip_file).layers[0]
    assert layer.name == "walk" and layer.kind == "clip" and layer.data.fps == 24.0  # the default rate
    status, out, _ = run_cli(capsys, "convert", clip_file, f"{tmp_path / 'again'}/")
    assert status == 0 and "wrote 5 frames" in out
    names = sorted(p.name for p in sequence.iterdir())
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == names
    for name in names:
        assert (tmp_path / "again" / name).read_bytes() == (sequence / name).read_bytes()


def test_info_reports_frames_fps_duration_and_splats(capsys, clip_project, sequence) -> None:
    status, out, _ = run_cli(capsys, "info", clip_project, "--json")
    layer = json.loads(out)["layers"][0]
    assert status == 0 and layer["kind"] == "clip"
    assert (layer["frames"], layer["fps"], layer["duration"], layer["count"]) == (5, FPS, round(5 / FPS, 6), 300)
    status, out, _ = run_cli(capsys, "info", clip_project)
    assert status == 0 and all(f"{line}\n" in out for line in ("frames: 5", "fps: 12.0", "duration: 0.416667", "count: 300"))
    status, out, _ = run_cli(capsys, "info", sequence)  # a folder reads as a clip at 24 fps
    assert status == 0 and "kind: clip" in out and "frames: 5" in out and "fps: 24.0" in out


def test_clip_to_animated_glb_that_the_validator_passes(capsys, clip_project, tmp_path) -> None:
    from tests.gltf_validator import validate

    out = tmp_path / "walk.glb"
    status, printed, err = run_cli(capsys, "convert", clip_project, out)
    assert status == 0, err
    assert printed.startswith(f"wrote {out} (")
    report = validate(out)
    assert report["issues"]["numErrors"] == 0 and report["info"]["animationCount"] >= 1


def test_a_resampled_sequence_has_the_rate_asked_for(capsys, clip_project, tmp_path) -> None:
    assert run_cli(capsys, "convert", clip_project, tmp_path / "fast", "--fps", 2 * FPS)[0] == 0
    assert len(list((tmp_path / "fast").iterdir())) == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{empty}", "{tmp}/out.a4d"], "holds no PLY files"),
        (["{sequence}", "{tmp}/out.ply"], "a folder of PLY frames converts to a project holding the clip"),
        (["{clip}", "{tmp}/out.ply"], "a clip converts to a folder of PLY frames"),
        (["{clip}", "{tmp}/out.a4d"], "convert writes one layer"),
        (["{ply}", "{tmp}/out.splat", "--fps", "12"], "--fps goes with clips"),
        (["{sequence}", "{tmp}/out.a4d", "--layer", "x"], "--layer picks a layer of a project"),
    ],
)
def test_bad_clip_conversions_fail_with_one_line_and_no_output(capsys, sequence, clip_project, tmp_path, args, message) -> None:
    work = tmp_path / "work"  # the test's tmp folder also holds the studio's user folders
    (work / "empty").mkdir(parents=True)
    names = {"empty": work / "empty", "tmp": work, "sequence": sequence, "clip": clip_project,
             "ply": sequence / "frame_0000.ply"}
    status, _, err = run_cli(capsys, "convert", *[a.format(**names) for a in args])
    lines = err.strip().splitlines()
    assert status == 1 and len(lines) == 1 and message in lines[0], lines
    assert [p.name for p in work.iterdir()] == ["empty"]


def test_bad_fps_is_a_usage_error(capsys, sequence, tmp_path) -> None:
    with pytest.raises(SystemExit):
        main(["convert", str(sequence), str(tmp_path / "x.a4d"), "--fps", "0"])
    assert "the frame rate must be a positive number" in capsys.readouterr().err


# ----------------------------------------------------------------------------- render: times (no GPU)
def test_a_frame_time_is_counted_at_the_clips_rate(clip_project, tmp_path, monkeypatch) -> None:
    import render

    seen: list[float] = []
    monkeypatch.setattr(render, "render_image", lambda document, camera, settings: (
        seen.append(document.time) or np.zeros((camera.height, camera.width, 3), np.uint8)))
    out = tmp_path / "shot.png"
    for time in ("f3", "F0", "0.5"):
        assert main(["render", str(clip_project), "--time", time, "--size", "16x12", "--out", str(out)]) == 0
    assert seen == [3 / FPS, 0.0, 0.5]


@pytest.mark.parametrize("bad", ["f-1", "f1.5", "frame3"])
def test_a_bad_time_is_a_usage_error(clip_project, tmp_path, capsys, bad) -> None:
    with pytest.raises(SystemExit):
        main(["render", str(clip_project), "--time", bad, "--out", str(tmp_path / "x.png")])
    assert "--time takes seconds (1.5) or a frame (f12)" in capsys.readouterr().err


def test_a_frame_time_needs_a_clip(capsys, sequence, tmp_path) -> None:
    status, _, err = run_cli(capsys, "render", sequence / "frame_0000.ply", "--time", "f3", "--out", tmp_path / "x.png")
    assert status == 1 and "counts frames of a clip" in err and not (tmp_path / "x.png").exists()


class _TimeRecorder:
    """Stands in for the GL renderer of videos: records the document time of each frame."""

    times: list = []

    def render(self, document, camera, settings) -> np.ndarray:
        self.times.append(document.time)
        return np.zeros((camera.height, camera.width, 3), np.uint8)

    def release(self) -> None:
        pass


@pytest.fixture
def recorder(monkeypatch):
    import render.video

    monkeypatch.setattr(_TimeRecorder, "times", [])
    monkeypatch.setattr(render.video, "OffscreenRenderer", _TimeRecorder)
    return _TimeRecorder


def test_videos_of_a_clip_play_its_timeline(recorder, clip_project, tmp_path) -> None:
    frames = tmp_path / "frames"
    assert main(["render", str(clip_project), "--video", str(frames), "--size", "16x12"]) == 0
    np.testing.assert_allclose(recorder.times, np.arange(5) / FPS)  # each frame of the clip once
    recorder.times.clear()
    assert main(["render", str(clip_project), "--video", str(frames), "--size", "16x12", "--fps", "24", "--time", "f2"]) == 0
    np.testing.assert_allclose(recorder.times, 2 / FPS + np.arange(6) / 24)  # from frame 2 to the end at 24 fps
    recorder.times.clear()
    assert main(["render", str(clip_project), "--orbit", "8", "--video", str(frames), "--size", "16x12"]) == 0
    np.testing.assert_allclose(recorder.times, np.arange(8) / FPS)  # the orbit plays the clip (held after its end)


# ----------------------------------------------------------------------------- render: pictures (GL)
VIEW = ("--size", "80x60", "--camera-pos", "2,1.5,9", "--look-at", "2,0,0")


def test_render_at_frame_k_matches_a_still_of_frame_k(offscreen, capsys, sequence, clip_project, tmp_path) -> None:
    for name, args in (("clip_f3", (clip_project, "--time", "f3")), ("still_3", (sequence / "frame_0003.ply",)),
                       ("clip_f0", (clip_project, "--time", "f0"))):
        status, _, err = run_cli(capsys, "render", *args, *VIEW, "--out", tmp_path / f"{name}.png")
        assert status == 0, err
    clip_f3, still_3, clip_f0 = (iio.imread(tmp_path / f"{n}.png").astype(int) for n in ("clip_f3", "still_3", "clip_f0"))
    assert still_3.max() > 60  # the frame is in view
    assert np.abs(clip_f3 - still_3).max() <= 1  # within 1/255
    assert np.abs(clip_f0 - still_3).mean() > 5 * max(np.abs(clip_f3 - still_3).mean(), 0.01)  # another frame looks another way


def test_render_video_of_a_clip_writes_its_frames_to_mp4(offscreen, capsys, clip_project, tmp_path) -> None:
    (tmp_path / "video").mkdir()
    out = tmp_path / "video" / "walk.mp4"
    status, _, err = run_cli(capsys, "render", clip_project, "--video", out, "--size", "48x32")
    assert status == 0, err
    reader = imageio.get_reader(out)
    try:
        assert reader.count_frames() == 5 and reader.get_meta_data()["fps"] == FPS
        first, last = reader.get_data(0), reader.get_data(4)
    finally:
        reader.close()
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 1  # the splats moved
    assert [p.name for p in out.parent.iterdir()] == ["walk.mp4"]
