"""``atelier4d render SCENE --path PATH.json --video OUT``: frame k is the still from the path's camera at k / fps."""

from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest

from scene.camera_path import CameraKey, CameraPath
from scene.io import save
from scene.rotation import axis_angle_to_quat, quat_multiply
from studio.cli import main
from tests.render.conftest import offscreen, random_cloud  # noqa: F401  (offscreen is a fixture)

SIZE = (48, 32)


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scene") / "cloud.ply"
    save(path, random_cloud(150, seed=11))
    return path


def _path(constant_speed: bool = False) -> CameraPath:
    """A curving, turning, zooming flight past the cloud, 1 s long."""
    keys = []
    for i, (angle, fov) in enumerate([(0.0, 50.0), (0.6, 40.0), (1.3, 65.0)]):
        eye = np.array([3.5 * math.sin(angle), 0.4 * i, 3.5 * math.cos(angle)])
        key = CameraKey.look_at(eye, [0.0, 0.0, 0.0], time=0.5 * i, fov_y_deg=fov)
        roll = axis_angle_to_quat(np.array([0.0, 0.0, 1.0]), 0.2 * i)  # a little roll: no look-at can make it
        keys.append(CameraKey(key.position, tuple(quat_multiply(np.array(key.orientation), roll)), fov, key.time))
    return CameraPath(tuple(keys), constant_speed)


@pytest.fixture
def path_file(tmp_path: Path) -> Path:
    file = tmp_path / "inputs" / "flight.json"
    file.parent.mkdir()
    _path(constant_speed=True).save(file)
    return file


def _stills(scene_file: Path, path: CameraPath, fps: float) -> list[np.ndarray]:
    """Still renders, one per frame time, through the same renderer as ``atelier4d render --out shot.png``."""
    from render import RenderSettings, render_image
    from render.offscreen import as_document
    from scene.io import load

    document = as_document(load(scene_file))
    return [render_image(document, path.camera_at(t, *SIZE), RenderSettings()) for t in path.frames(fps)]


def _render(*args: object) -> int:
    return main(["render", *map(str, args)])


@pytest.mark.parametrize(("fps", "duration"), [(8, None), (4, 2.0)])
def test_png_frames_are_the_stills_of_the_path(offscreen, scene_file, path_file, tmp_path, fps, duration) -> None:  # noqa: F811
    out = tmp_path / "frames"
    extra = [] if duration is None else ["--duration", duration]
    assert _render(scene_file, "--path", path_file, "--video", out, "--fps", fps, "--width", SIZE[0], "--height",
                   SIZE[1], *extra) == 0
    path = CameraPath.load(path_file)
    path = path if duration is None else path.retimed(duration)
    stills = _stills(scene_file, path, fps)
    frames = sorted(out.iterdir())
    assert len(frames) == len(stills) == 9  # 0 .. 1 s at 8 fps, or 0 .. 2 s at 4 fps, both ends included
    for k, (frame, still) in enumerate(zip(frames, stills)):
        np.testing.assert_array_equal(iio.imread(frame), still, err_msg=f"frame {k}")
    assert not np.array_equal(stills[0], stills[4]) and not np.array_equal(stills[4], stills[8])  # the view moves


def test_mp4_frames_match_the_stills_of_the_path(offscreen, scene_file, path_file, tmp_path) -> None:  # noqa: F811
    out = tmp_path / "videos" / "flight.mp4"
    out.parent.mkdir()
    assert _render(scene_file, "--path", path_file, "--video", out, "--fps", 8, "--size", "48x32") == 0
    assert [p.name for p in out.parent.iterdir()] == ["flight.mp4"]  # no temporary left
    reader = imageio.get_reader(out)  # ffmpeg, as the turntable tests read theirs
    try:
        frames = [frame.astype(np.float64) for frame in reader]
    finally:
        reader.close()
    stills = [still.astype(np.float64) for still in _stills(scene_file, CameraPath.load(path_file), 8)]
    assert len(frames) == len(stills) == 9 and frames[0].shape == (32, 48, 3)
    for k, frame in enumerate(frames):
        errors = [np.abs(frame - still).mean() for still in stills]
        # H.264 at this tiny size is a few grey levels off (measured 2-5); neighbouring stills differ by 10-50
        assert errors[k] < 8.0, f"frame {k} is {errors[k]:.1f} grey levels off its still"
        assert errors[k] < 0.5 * min(e for i, e in enumerate(errors) if i != k)  # far nearer its own still than any other


class _FakeRenderer:
    """Stands in for the GL renderer: records the cameras, fails on request."""

    cameras: list = []
    fail_at: int | None = None

    def render(self, document, camera, settings) -> np.ndarray:
        if len(self.cameras) == self.fail_at:
            raise RuntimeError("the GPU fell over")
        self.cameras.append(camera)
        return np.full((camera.height, camera.width, 3), 10 * len(self.cameras), np.uint8)

    def release(self) -> None:
        pass


@pytest.fixture
def fake_renderer(monkeypatch):
    import render.video

    monkeypatch.setattr(_FakeRenderer, "cameras", [])
    monkeypatch.setattr(render.video, "OffscreenRenderer", _FakeRenderer)
    return _FakeRenderer


def test_frame_k_is_filmed_from_the_camera_at_k_over_fps(fake_renderer, scene_file, path_file, tmp_path) -> None:
    out = tmp_path / "flight.mp4"
    assert _render(scene_file, "--path", path_file, "--video", out, "--fps", 12, "--duration", 1.5,
                   "--size", "40x30", "--width", 64) == 0
    path = CameraPath.load(path_file).retimed(1.5)
    assert len(fake_renderer.cameras) == 19  # 0 .. 1.5 s at 12 fps
    for k, camera in enumerate(fake_renderer.cameras):
        expected = path.camera_at(k / 12, 64, 30)
        np.testing.assert_array_equal(camera.c2w, expected.c2w)
        assert (camera.width, camera.height, camera.fov_y_deg) == (64, 30, expected.fov_y_deg)
        assert camera.near < 0.01 and camera.far > 30.0  # the whole cloud fits between the clip planes


def test_a_failed_render_leaves_no_video(fake_renderer, scene_file, path_file, tmp_path, capsys) -> None:
    out = tmp_path / "videos" / "flight.mp4"
    out.parent.mkdir()
    out.write_bytes(b"the previous video")
    fake_renderer.fail_at = 3
    try:
        assert _render(scene_file, "--path", path_file, "--video", out, "--size", "32x24") == 1
    finally:
        fake_renderer.fail_at = None
    assert "the GPU fell over" in capsys.readouterr().err
    assert [p.name for p in out.parent.iterdir()] == ["flight.mp4"] and out.read_bytes() == b"the previous video"


def _path_text(change) -> str:
    data = json.loads(_path().to_json())
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("path_text", "args", "message"),
    [
        (None, [], "missing.json: cannot read the camera path"),
        ("{oops", [], "flight.json: not a camera path: the JSON is broken at line 1"),
        (_path_text(lambda d: d.update(keys=[])), [], "flight.json: camera path: 'keys' must be a list of at least one key"),
        (_path_text(lambda d: d["keys"][1].pop("position")), [], "flight.json: camera path: key 2 has no 'position'"),
        (_path_text(lambda d: d["keys"][0].update(fov_y_deg=1e999)), [], "key 1: 'fov_y_deg' must be finite"),
        (_path_text(lambda d: d.update(keys=d["keys"][:1])), ["--duration", "3"], "one key at time 0 has no duration"),
        ("valid", ["--duration", "-1"], "duration must be a positive number of seconds"),
        ("valid", ["--fps", "0"], "a video plays at 1 to 240 frames a second"),
        ("valid", ["--width", "0"], "image size must be between 1x1 and 16384x16384 pixels, got 0x32"),
        ("valid", ["--orbit", "4"], "--path and --orbit each make a video"),
        ("valid", ["--camera-pos", "1,2,3"], "--camera-pos and --look-at do not go with --path"),
        ("valid", ["--out", "{folder}/also.mp4"], "give the output once"),
    ],
)
def test_bad_path_or_options_fail_with_one_line_and_no_output(
    scene_file, tmp_path, capsys, path_text: str | None, args: list[str], message: str
) -> None:
    file = tmp_path / ("missing.json" if path_text is None else "flight.json")
    if path_text is not None:
        file.write_text(_path().to_json() if path_text == "valid" else path_text)
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    filled = [a.format(folder=out_folder) for a in args]
    assert _render(scene_file, "--path", file, "--video", out_folder / "flight.mp4", "--size", "48x32", *filled) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("atelier4d: error:") and message in err[0], err
    assert list(out_folder.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--video", "{folder}/v.mp4"], "--video needs --path or --orbit"),
        (["--duration", "2", "--orbit", "3", "--out", "{folder}/v.mp4"], "--duration goes with --path"),
        ([], "say where to write"),
    ],
)
def test_video_options_without_a_path(scene_file, tmp_path, capsys, args: list[str], message: str) -> None:
    assert _render(scene_file, *[a.format(folder=tmp_path) for a in args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "v.mp4").exists()


def test_document_is_rendered_at_the_chosen_time(fake_renderer, tmp_path, path_file, monkeypatch) -> None:
    """A path video holds the document at --time (as turntables do); the path's clock moves only the camera."""
    import render.video

    seen: list[float] = []
    monkeypatch.setattr(render.video, "_render_frames", lambda document, cameras, settings, progress, times=None: (
        seen.append(document.time) or iter([np.zeros((24, 32, 3), np.uint8)] * len(cameras))))
    scene = tmp_path / "cloud.ply"
    save(scene, random_cloud(20, seed=2))
    assert _render(scene, "--path", path_file, "--video", tmp_path / "frames", "--time", 0.75, "--size", "32x24") == 0
    assert seen == [0.75] and len(list((tmp_path / "frames").iterdir())) == 31  # 1 s at the default 30 fps
