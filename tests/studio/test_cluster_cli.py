"""``--cluster`` on the command line, against a real local Ray cluster (``tests/ray_cluster.py``):
``generate`` and ``batch`` run there and their results come back; an unreachable address is said quickly."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from scene import GaussianCloud
from scene.io import load
from studio.cli import main
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset
from tests.ray_cluster import ROOT, free_port
from tests.studio.test_batch import TINY, jsonl


def test_an_unreachable_cluster_fails_within_ten_seconds_naming_it(tmp_path):
    write_dataset(tmp_path / "data", orbit_cameras(4, 16))
    address = f"ray://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "studio.cli", "generate", "reconstruct", "--data", str(tmp_path / "data"),
         "--out", str(tmp_path / "out.ply"), "--cluster", address, "--device", "cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    assert f"atelier4d: error: cannot reach the Ray cluster at {address}" in done.stderr.splitlines()[-1]
    assert not (tmp_path / "out.ply").exists()


def test_generate_runs_on_the_cluster_and_the_result_comes_back(ray_cluster, tmp_path, capsys):
    write_dataset(tmp_path / "data", orbit_cameras(4, 16))
    out = tmp_path / "art" / "out.ply"
    out.parent.mkdir()
    status = main(["generate", "reconstruct", "--data", str(tmp_path / "data"), "--out", str(out), "--steps", "6",
                   "--init-points", "100", "--device", "cpu", "--cluster", ray_cluster, "--run-dir", str(tmp_path / "run")])
    assert status == 0, capsys.readouterr().err
    assert isinstance(load(out), GaussianCloud)


def test_a_batch_on_the_cluster_gives_three_results_one_error_and_a_summary(ray_cluster, tmp_path, capsys):
    write_dataset(tmp_path / "data", orbit_cameras(4, 16))
    good = {**TINY, "data": str(tmp_path / "data")}
    jobs = jsonl(tmp_path / "jobs.jsonl", good, {**good, "steps": 5}, {**good, "sh-degree": 9}, {**good, "steps": 4})
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--out", str(out), "--cluster", ray_cluster, "--device", "cpu"]) == 1
    with open(out / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["state"] for row in rows] == ["finished", "finished", "failed", "finished"]
    assert "jobs.jsonl line 3" in rows[2]["error"] and "sh" in rows[2]["error"]
    for row in (rows[0], rows[1], rows[3]):
        assert isinstance(load(out / row["job"] / "result.ply"), GaussianCloud)
        assert json.loads((out / row["job"] / "state.json").read_text())["state"] == "finished"
    table = capsys.readouterr().out
    assert all(row["job"] in table for row in rows)
