"""The headless command line: conversions, info, and its error conventions."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer, MeshAsset
from scene.io.project import save_project
from scene.transform import Transform
from scene.io import load, save
from studio.cli import main
from studio.commands.common import join_negative_vectors, vector


@pytest.fixture
def splat_ply(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    cloud = GaussianCloud.create(
        rng.normal(size=(100, 3)), rng.uniform(0.01, 0.1, (100, 3)), rng.uniform(size=(100, 3)),
        rng.uniform(0.2, 0.9, 100), quats=rng.normal(size=(100, 4)), sh_degree=2,
    )
    path = tmp_path / "cloud.ply"
    save(path, cloud)
    return path


def run_cli(capsys, *argv):
    status = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


def test_ply_to_splat_and_back(capsys, splat_ply, tmp_path):
    status, out, _ = run_cli(capsys, "convert", splat_ply, tmp_path / "c.splat")
    assert status == 0 and "wrote" in out
    status, *_ = run_cli(capsys, "convert", tmp_path / "c.splat", tmp_path / "back.ply")
    assert status == 0
    original, back = load(splat_ply), load(tmp_path / "back.ply")
    np.testing.assert_array_equal(back.means, original.means)
    assert back.sh_degree == 0


def test_ply_to_ply_keeps_values(capsys, splat_ply, tmp_path):
    assert run_cli(capsys, "convert", splat_ply, tmp_path / "b.ply")[0] == 0
    assert (tmp_path / "b.ply").read_bytes() == splat_ply.read_bytes()


def test_mesh_to_glb(capsys, tmp_path):
    mesh = MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], vertex_colors=np.full((3, 4), 0.5))
    save(tmp_path / "m.ply", mesh)
    assert run_cli(capsys, "convert", tmp_path / "m.ply", tmp_path / "m.glb")[0] == 0
    np.testing.assert_allclose(load(tmp_path / "m.glb").vertices, mesh.vertices)


def test_info_text_and_json(capsys, splat_ply):
    status, out, _ = run_cli(capsys, "info", splat_ply)
    assert status == 0 and out.startswith("kind: splats\n") and "sh_degree: 2" in out
    status, out, _ = run_cli(capsys, "info", splat_ply, "--json")
    summary = json.loads(out)
    assert summary["count"] == 100 and summary["kind"] == "splats" and len(summary["bounds_min"]) == 3


def test_commands_that_run_no_engine_import_no_torch():
    """``info``, ``convert`` and ``render`` stay light (``info`` on 1M splats under 150 MB, benches/formats.py):
    building the parser lists every engine and its options, but no engine module may import torch to do it."""
    code = "import sys; from studio.cli import build_parser; build_parser(); print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_info_on_a_project(capsys, tmp_path):
    from assets.make_demo import build_demo
    from scene.io.project import save_project

    save_project(build_demo(), tmp_path / "d.a4d")
    summary = json.loads(run_cli(capsys, "info", tmp_path / "d.a4d", "--json")[1])
    assert summary["kind"] == "project"
    assert [layer["kind"] for layer in summary["layers"]] == ["mesh", "mesh", "splats"]


@pytest.fixture
def project(tmp_path, splat_ply) -> Path:
    """Splats moved by +10 along x, a mesh, and two point clouds both named "dust"."""
    document = Document()
    document.add_layer(Layer("rock", load(splat_ply), transform=Transform(translation=np.array([10.0, 0.0, 0.0]))))
    document.add_layer(Layer("floor", MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])))
    for _ in range(2):
        document.add_layer(Layer("dust", load(splat_ply)))
    path = tmp_path / "scene.a4d"
    save_project(document, path)
    return path


def test_info_on_a_project_shows_each_layer_where_its_transform_places_it(capsys, project, splat_ply):
    status, out, _ = run_cli(capsys, "info", project)
    assert status == 0 and out.startswith("kind: project\n")
    assert "  - rock\n    kind: splats\n" in out  # each layer's kind first too
    summary = json.loads(run_cli(capsys, "info", project, "--json")[1])
    assert list(summary)[0] == "kind"
    rock, own = summary["layers"][0], load(splat_ply).bounds()
    assert list(rock)[:2] == ["name", "kind"]
    np.testing.assert_allclose(rock["bounds_min"], own[0] + [10.0, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(rock["bounds_max"], own[1] + [10.0, 0.0, 0.0], rtol=1e-6)


def test_convert_pulls_a_layer_out_of_a_project(capsys, project, splat_ply, tmp_path):
    status, out, _ = run_cli(capsys, "convert", project, tmp_path / "rock.splat", "--layer", "rock")
    assert status == 0 and "wrote" in out
    np.testing.assert_allclose(load(tmp_path / "rock.splat").means, load(splat_ply).means + [10.0, 0.0, 0.0], rtol=1e-5)
    assert run_cli(capsys, "convert", project, tmp_path / "floor.glb", "--layer", "floor")[0] == 0
    assert len(load(tmp_path / "floor.glb").faces) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "scene.a4d is a project: name the layer to convert with --layer NAME (its layers: 'rock', 'floor', 'dust', 'dust')"),
        (("--layer", "stone"), "scene.a4d has no layer named 'stone' (its layers: 'rock', 'floor', 'dust', 'dust')"),
        (("--layer", "dust"), "scene.a4d has 2 layers named 'dust'; rename them apart in the studio first"),
        (("--layer", "floor"), "out.splat: a mesh layer can be saved as .glb, .obj or .ply, not as .splat"),
    ],
)
def test_convert_from_a_project_says_which_layers_it_has(capsys, project, tmp_path, args, message):
    status, _, err = run_cli(capsys, "convert", project, tmp_path / "out.splat", *args)
    assert status == 1 and err.startswith("atelier4d: error: ") and err.endswith(f"{message}\n")
    assert not (tmp_path / "out.splat").exists()


def test_cli_messages_speak_the_users_words(capsys, splat_ply, tmp_path):
    damaged = tmp_path / "damaged.ply"
    raw = bytearray(splat_ply.read_bytes())
    start = raw.index(b"end_header\n") + len(b"end_header\n")
    raw[start : start + 4] = np.array([np.nan], np.float32).tobytes()  # the first splat's x
    damaged.write_bytes(bytes(raw))
    cases = [
        (("info", damaged), "damaged.ply: splat positions: 1 value(s) are NaN or infinite"),
        (("convert", splat_ply, tmp_path / "out.glb"), "a splat layer can be saved as .ply or .splat, not as .glb"),
        (("convert", splat_ply, tmp_path / "out.a4d"), "to make a project, open the file in the studio and save it"),
        (("convert", splat_ply, tmp_path / "out.ply", "--layer", "rock"), "--layer picks a layer of a project (.a4d)"),
    ]
    for argv, words in cases:
        status, _, err = run_cli(capsys, *argv)
        assert status == 1 and words in err
        assert not any(name in err for name in ("GaussianCloud", "MeshAsset", "PointCloud", "scene.io"))


def test_output_into_a_reader_that_stopped_ends_quietly(project):
    """``atelier4d info X | head``: the reader is gone before the command writes."""
    read, write = os.pipe()
    os.close(read)
    script = Path(sys.executable).parent / "atelier4d"
    try:
        for argv in (["info", str(project)], ["info", str(project), "--json"]):
            result = subprocess.run([str(script), *argv], stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
            assert (result.returncode, result.stderr) == (0, "")
    finally:
        os.close(write)


def test_bad_file_is_one_clear_line(capsys, tmp_path):
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"this is not a ply file")
    status, _, err = run_cli(capsys, "convert", bad, tmp_path / "out.splat")
    assert status == 1
    assert err.count("\n") == 1 and "bad.ply" in err and "Traceback" not in err
    assert not (tmp_path / "out.splat").exists()


def test_failed_conversion_leaves_no_partial_file_and_keeps_old_one(capsys, splat_ply, tmp_path):
    out = tmp_path / "out.glb"
    out.write_bytes(b"previous")
    status, _, err = run_cli(capsys, "convert", splat_ply, out)  # splats cannot become a GLB mesh
    assert status == 1 and "out.glb" in err
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir() if "out" in p.name] == ["out.glb"]  # no temp debris


def test_missing_input_and_usage_errors(capsys, tmp_path):
    status, _, err = run_cli(capsys, "info", tmp_path / "absent.ply")
    assert status == 1 and "no such file" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", "only-one-argument"])
    assert exit_info.value.code == 2


def test_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    import studio.commands.info as info

    def explode(path):
        raise RuntimeError("boom")

    monkeypatch.setattr(info, "load", explode)
    (tmp_path / "x.ply").write_bytes(b"ply")
    status, _, err = run_cli(capsys, "info", tmp_path / "x.ply")
    assert status == 1 and "RuntimeError: boom" in err and "Traceback" not in err
    status, _, err = run_cli(capsys, "--debug", "info", tmp_path / "x.ply")
    assert status == 1 and "Traceback" in err


def test_negative_vectors_in_both_spellings():
    parser = argparse.ArgumentParser()
    parser.add_argument("--camera-pos", type=vector(3, "camera-pos"))
    parser.add_argument("--flag", action="store_true")
    for argv in (["--camera-pos", "-2,1,3"], ["--camera-pos=-2,1,3"]):
        assert parser.parse_args(join_negative_vectors(argv)).camera_pos == (-2.0, 1.0, 3.0)
    assert join_negative_vectors(["--flag", "-x"]) == ["--flag", "-x"]  # options are left alone
    with pytest.raises(SystemExit):
        parser.parse_args(join_negative_vectors(["--camera-pos", "1,2"]))


def test_console_script_runs(splat_ply):
    script = Path(sys.executable).parent / "atelier4d"
    result = subprocess.run([str(script), "info", str(splat_ply), "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "splats"
