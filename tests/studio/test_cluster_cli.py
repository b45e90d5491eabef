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


def test_a_batch_for_an_unreachable_cluster_says_so_once(tmp_path):
    jobs = jsonl(tmp_path / "jobs.jsonl", {**TINY, "data": str(tmp_path)}, {**TINY, "data": str(tmp_path)})
    address = f"ray://127.0.0.1:{free_port()}"
    done = subprocess.run([sys.executable, "-m", "studio.cli", "batch", str(jobs), "--out", str(tmp_path / "out"),
                           "--cluster", address], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1
    assert done.stderr.count(f"cannot reach the Ray cluster at {address}") == 1, done.stderr


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


def test_a_batch_left_running_on_the_cluster_is_taken_up_by_the_next_run(ray_cluster, tmp_path, capsys):
    """The terminal of a cluster batch is closed (the command killed): its jobs go on on the cluster,
    and the same command run again takes them up where they are and collects their results."""
    write_dataset(tmp_path / "data", orbit_cameras(4, 16))
    job = {**TINY, "data": str(tmp_path / "data"), "steps": 400}
    jobs = jsonl(tmp_path / "jobs.jsonl", job, {**job, "steps": 420})
    out = tmp_path / "out"
    command = ["batch", str(jobs), "--out", str(out), "--cluster", ray_cluster, "--device", "cpu", "--checkpoint-every-s", "0.5"]
    first = subprocess.Popen([sys.executable, "-m", "studio.cli", *command], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not all((out / name / "run" / "checkpoint.json").exists() for name in ("001-reconstruct", "002-reconstruct")):
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read() if first.poll() is not None else "timed out"
        time.sleep(0.1)
    first.kill()  # as a closed terminal would: no cancel reaches the jobs
    first.wait()

    assert main(command) == 0
    err = capsys.readouterr().err
    assert err.count("still running on the cluster: taken up") == 2, err
    assert "resuming from the checkpoint" not in err
    with open(out / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["state"] for row in rows] == ["finished", "finished"]
    for row in rows:
        assert isinstance(load(out / row["job"] / "result.ply"), GaussianCloud)
