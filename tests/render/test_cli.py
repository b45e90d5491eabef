"""``atelier4d render``: stills and turntables of plain files and projects, and clean failures."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest

from scene import Document, Layer, MeshAsset
from scene.io import save
from scene.io.project import save_project
from studio.cli import main
from tests.render.conftest import random_cloud


@pytest.fixture(scope="module")
def ply(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scene") / "cloud.ply"
    save(path, random_cloud(200, seed=3))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    document = Document()
    document.add_layer(Layer("splats", random_cloud(100, seed=4)))
    vertices = np.array([[-2, -1.5, -2], [2, -1.5, -2], [2, -1.5, 2], [-2, -1.5, 2]], np.float32)
    document.add_layer(Layer("floor", MeshAsset(vertices, np.array([[0, 2, 1], [0, 3, 2]], np.int32))))
    path = tmp_path_factory.mktemp("project") / "scene.a4d"
    save_project(document, path)
    return path


def _render(*args: str) -> int:
    return main(["render", *map(str, args)])


def test_png_of_a_ply_framed_automatically(offscreen, ply: Path, tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    assert _render(ply, "--size", "80x60", "--out", out) == 0
    image = iio.imread(out)
    assert image.shape == (60, 80, 3)
    assert image[20:40, 25:55].mean() > 20  # the cloud is in the middle
    assert image[:3].max() < 10  # black background at the border


def test_png_of_a_project_with_camera_and_background(offscreen, project: Path, tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    code = _render(project, "--size", "64x48", "--camera-pos", "-2,1,3", "--look-at", "0,0,0", "--background",
                   "0,0,1", "--time", "0.5", "--out", out)
    assert code == 0
    image = iio.imread(out)
    assert tuple(image[0, 0]) == (0, 0, 255)
    assert np.abs(image.astype(int) - [0, 0, 255]).sum(axis=2).max() > 100  # something drawn


def test_negative_vector_spellings_agree(offscreen, ply: Path, tmp_path: Path) -> None:
    spaced, joined = tmp_path / "a.png", tmp_path / "b.png"
    assert _render(ply, "--size", "40x30", "--camera-pos", "-2,1,3", "--out", spaced) == 0
    assert _render(ply, "--size", "40x30", "--camera-pos=-2,1,3", "--out", joined) == 0
    np.testing.assert_array_equal(iio.imread(spaced), iio.imread(joined))


def test_orbit_to_mp4(offscreen, ply: Path, tmp_path: Path) -> None:
    out = tmp_path / "turntable.mp4"
    assert _render(ply, "--size", "64x48", "--orbit", "6", "--out", out) == 0
    reader = imageio.get_reader(out)
    try:
        assert reader.count_frames() == 6
        assert reader.get_meta_data()["size"] == (64, 48)
    finally:
        reader.close()
    assert [p.name for p in tmp_path.iterdir()] == ["turntable.mp4"]  # no temporary left


@pytest.mark.parametrize("target", ["frames", "frames/shot_%03d.png"])
def test_orbit_to_png_frames(offscreen, ply: Path, tmp_path: Path, target: str) -> None:
    assert _render(ply, "--size", "32x24", "--orbit", "4", "--out", tmp_path / target) == 0
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == (["frame_0000.png", "frame_0001.png", "frame_0002.png", "frame_0003.png"] if "%" not in target
                     else ["shot_000.png", "shot_001.png", "shot_002.png", "shot_003.png"])
    first, second = (iio.imread(tmp_path / "frames" / n) for n in names[:2])
    assert first.shape == (24, 32, 3) and not np.array_equal(first, second)  # the view turns


def test_time_option_sets_the_time_the_renderer_sees(ply: Path, tmp_path: Path, monkeypatch) -> None:
    import render

    seen: list[float] = []

    def fake_render_image(document: Document, camera, settings) -> np.ndarray:
        seen.append(document.time)
        return np.zeros((camera.height, camera.width, 3), np.uint8)

    monkeypatch.setattr(render, "render_image", fake_render_image)
    document = Document()
    document.add_layer(Layer("splats", random_cloud(50, seed=5)))
    document.set_time(0.5)
    saved = tmp_path / "timed.a4d"
    save_project(document, saved)
    out = tmp_path / "shot.png"
    assert _render(ply, "--size", "16x12", "--time", "1.75", "--out", out) == 0
    assert _render(saved, "--size", "16x12", "--out", out) == 0  # a project renders at its saved time
    assert _render(saved, "--size", "16x12", "--time", "2", "--out", out) == 0  # unless told otherwise
    assert _render(ply, "--size", "16x12", "--out", out) == 0
    assert seen == [1.75, 0.5, 2.0, 0.0]


@pytest.mark.parametrize(
    "args",
    [
        ["missing.ply", "--out", "{out}"],
        ["{ply}", "--time", "-0.5", "--out", "{out}"],
        ["{ply}", "--time", "nan", "--out", "{out}"],
        ["{ply}", "--time", "inf", "--orbit", "3", "--out", "{folder}/video.mp4"],
        ["{bad}", "--out", "{out}"],
        ["{ply}", "--background", "0,0,2", "--out", "{out}"],
        ["{ply}", "--camera-pos", "0,0,0", "--look-at", "0,0,0", "--out", "{out}"],
        ["{ply}", "--out", "{folder}/no/such/folder/shot.png"],
        ["{ply}", "--orbit", "3", "--out", "{folder}/video.gif"],
    ],
)
def test_bad_input_fails_with_one_line_and_no_output(ply: Path, tmp_path: Path, capsys, args: list[str]) -> None:
    bad = tmp_path / "bad.ply"
    bad.write_text("not a ply")
    out = tmp_path / "shot.png"
    filled = [a.format(out=out, bad=bad, ply=ply, folder=tmp_path) for a in args]
    assert _render(*filled) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("atelier4d: error:"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ply"]
