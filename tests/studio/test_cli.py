"""The headless command line: conversions, info, and its error conventions."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scene import GaussianCloud, MeshAsset
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
    assert status == 0 and "kind: splats" in out and "sh_degree: 2" in out
    status, out, _ = run_cli(capsys, "info", splat_ply, "--json")
    summary = json.loads(out)
    assert summary["count"] == 100 and summary["kind"] == "splats" and len(summary["bounds_min"]) == 3


def test_info_on_a_project(capsys, tmp_path):
    from assets.make_demo import build_demo
    from scene.io.project import save_project

    save_project(build_demo(), tmp_path / "d.a4d")
    summary = json.loads(run_cli(capsys, "info", tmp_path / "d.a4d", "--json")[1])
    assert summary["kind"] == "project"
    assert [layer["kind"] for layer in summary["layers"]] == ["mesh", "mesh", "splats"]


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
