"""``atelier4d batch``: jobs from JSONL or prompts, a folder each, retries, a summary, reruns that skip and resume."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from engines.runtime import remote
from engines.runtime.manager import JobManager
from scene import GaussianCloud
from scene.io import load
from studio.cli import build_parser, main
from studio.commands.batch import _ProgressLine, _read_jobs, _Run
from studio.commands.batch_jobs import BatchJob, JobRecord, read_jobs
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset

TINY = {"engine": "reconstruct", "steps": 6, "init-points": 100, "sh_degree": 0, "background": [0, 0, 0]}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_dataset(folder, orbit_cameras(4, 16))
    return folder


@pytest.fixture
def submits(monkeypatch) -> list[dict]:
    """The keyword arguments of each ``JobManager.submit`` (``cluster`` taken out: the jobs run here)."""
    calls: list[dict] = []
    submit = JobManager.submit

    def recorded(self, *args, **kwargs):
        calls.append(dict(kwargs))
        kwargs.pop("cluster", None)
        kwargs.pop("detached", None)
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(JobManager, "submit", recorded)
    monkeypatch.setattr(remote, "running_jobs", lambda address, owner: {})  # no cluster to ask what still runs there
    return calls


def jsonl(path: Path, *lines: object) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_batch_runs_every_good_line_and_names_the_bad_one_then_a_rerun_skips_the_finished(tmp_path, data, capsys):
    jobs = jsonl(
        tmp_path / "jobs.jsonl", "# four reconstructions", {**TINY, "data": str(data)},
        {**TINY, "data": str(data), "views-per-step": 2, "densify": {"refine-every": 3}, "out": "mine.splat"},
        "", {**TINY, "data": str(data), "steps": 0}, {**TINY, "data": str(data), "steps": "5", "densify.refine-every": "2"},
    )
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "jobs.jsonl line 5: --steps: must be at least 1, got 0" in captured.err
    assert "batch [" in captured.err and "4/4 done" in captured.err and "1 failed" in captured.err
    rows = summary(out)
    assert [(r["job"], r["state"]) for r in rows] == [
        ("001-reconstruct", "finished"), ("002-reconstruct", "finished"), ("003-reconstruct", "failed"),
        ("004-reconstruct", "finished"),
    ]
    assert rows[2]["error"] == "jobs.jsonl line 5: --steps: must be at least 1, got 0" and rows[2]["attempts"] == "0"
    for name, result in (("001-reconstruct", "result.ply"), ("002-reconstruct", "mine.splat"), ("004-reconstruct", "result.ply")):
        assert isinstance(load(out / name / result), GaussianCloud)
        assert json.loads((out / name / "state.json").read_text())["state"] == "finished"
    config = json.loads((out / "002-reconstruct" / "config.json").read_text())
    assert config["engine"] == "reconstruct" and config["views_per_step"] == 2 and config["densify"]["refine_every"] == 3
    assert config["out"] == str(out / "002-reconstruct" / "mine.splat")
    assert "001-reconstruct" in captured.out and "line 5" in captured.out  # the table

    before = {name: (out / name / "state.json").stat().st_mtime_ns for name in ("001-reconstruct", "002-reconstruct")}
    assert main(["batch", str(jobs), "--out", str(out)]) == 1
    rerun = capsys.readouterr().err
    assert "resuming" not in rerun and "running" not in rerun.replace("0 running", "")
    assert {name: (out / name / "state.json").stat().st_mtime_ns for name in before} == before  # not run again
    assert [r["state"] for r in summary(out)] == ["finished", "finished", "failed", "finished"]


def test_bad_lines_are_errors_naming_their_line(tmp_path, data):
    jobs = read_jobs(jsonl(
        tmp_path / "jobs.jsonl", "{not json", '["a", "list"]', {"steps": 3}, {"engine": "reconstrct"},
        {"engine": "reconstruct", "data": str(data), "stepz": 3}, {"engine": "reconstruct", "data": str(data), "steps": 2.5},
        {"engine": "reconstruct", "data": str(data), "background": [0, 0]}, "  # a comment", "",
        {"engine": "reconstruct", "data": str(data), "sh-degree": "1", "background": "0,0,0", "densify": {"max_splats": 9}},
    ))
    errors = [job.error for job in jobs]
    assert errors[0].startswith("jobs.jsonl line 1: not valid JSON")
    assert errors[1].startswith("jobs.jsonl line 2: expected a JSON object")
    assert errors[2] == 'jobs.jsonl line 3: names no engine: add "engine": "<name>"'
    assert errors[3].startswith("jobs.jsonl line 4: no engine named 'reconstrct' (did you mean 'reconstruct'?)")
    assert errors[4].startswith("jobs.jsonl line 5: ReconstructConfig: unknown key(s) 'stepz' (did you mean 'steps'?)")
    assert errors[5] == "jobs.jsonl line 6: --steps: expected an integer, got '2.5'"
    assert errors[6] == "jobs.jsonl line 7: --background: expected 3 comma-separated numbers, got '0,0'"
    assert len(jobs) == 8 and errors[7] is None and jobs[7].name == "008-reconstruct"
    assert (jobs[7].config.sh_degree, jobs[7].config.background, jobs[7].config.densify.max_splats) == (1, (0.0, 0.0, 0.0), 9)


def test_prompts_make_a_job_each_with_the_shared_options(tmp_path):
    (tmp_path / "prompts.txt").write_text("a red chair\n\n# not this one\nA small boat, on a lake at dawn!\n")
    argv = ["batch", "--engine", "text-to-3d", "--prompts", str(tmp_path / "prompts.txt"), "--steps", "7",
            "--densify.refine-every", "9", "--ply", "cloud.ply", "--out", str(tmp_path / "out"), "--retries", "2"]
    args = build_parser().parse_args(argv)
    assert (args.out_dir, args.retries) == (tmp_path / "out", 2)
    jobs = _read_jobs(args)
    assert [(job.name, job.source, job.config.prompt) for job in jobs] == [
        ("001-a-red-chair", "prompts.txt line 1", "a red chair"),
        ("002-a-small-boat-on-a-lake-at-dawn", "prompts.txt line 4", "A small boat, on a lake at dawn!"),
    ]
    assert all((job.config.steps, job.config.densify.refine_every, job.config.ply) == (7, 9, "cloud.ply") for job in jobs)
    with pytest.raises(SystemExit) as exc:  # the engine's own options need --engine
        build_parser().parse_args(["batch", "--prompts", "p.txt", "--steps", "7", "--out", "o"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        _read_jobs(build_parser().parse_args([*argv, "--prompt", "x"]))
    assert exc.value.code == 2


def test_a_failing_job_is_tried_retries_plus_one_times(tmp_path, capsys, submits):
    (tmp_path / "empty").mkdir()  # a dataset folder without a dataset: every try fails in the worker
    jobs = jsonl(tmp_path / "jobs.jsonl", {**TINY, "data": str(tmp_path / "empty")})
    assert main(["batch", str(jobs), "--out", str(tmp_path / "out"), "--retries", "2", "--cluster", "ray://nowhere:1"]) == 1
    err = capsys.readouterr().err
    assert "failed (try 1 of 3), trying again" in err and "failed (try 2 of 3)" in err
    (row,) = summary(tmp_path / "out")
    assert (row["state"], row["attempts"]) == ("failed", "3") and "transforms" in row["error"]
    assert [call["cluster"] for call in submits] == ["ray://nowhere:1"] * 3


def test_ctrl_c_cancels_and_a_rerun_resumes_from_the_checkpoint(tmp_path, data, capsys, submits):
    slow = {**TINY, "data": str(data), "steps": 300, "init-points": 50, "densify.refine-start": 1000, "snapshot-every": 1000}
    jobs = jsonl(tmp_path / "jobs.jsonl", slow)
    out = tmp_path / "out"
    command = ["batch", str(jobs), "--out", str(out), "--checkpoint-every-s", "0.2"]
    returned = threading.Event()

    def press_ctrl_c() -> None:
        deadline = time.monotonic() + 60
        while not (out / "001-reconstruct" / "run" / "checkpoint.json").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not returned.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        status = main(command)
    finally:
        returned.set()
        presser.join()
    assert status == 130, capsys.readouterr().err
    assert summary(out)[0]["state"] == "cancelled"
    assert json.loads((out / "001-reconstruct" / "state.json").read_text())["state"] == "cancelled"

    assert main(command) == 0
    err = capsys.readouterr().err
    assert "001-reconstruct: resuming from the checkpoint at step" in err
    assert [call["resume"] for call in submits] == [False, True] and submits[0]["cluster"] is None
    assert summary(out)[0]["state"] == "finished"
    assert isinstance(load(out / "001-reconstruct" / "result.ply"), GaussianCloud)


def test_the_progress_line_is_redrawn_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    job = BatchJob(1, "jobs.jsonl line 1", "001-reconstruct", "reconstruct")
    runs = [_Run(job, None, JobRecord("running"), active=True), _Run(job, None, JobRecord("queued"), active=True)]
    stream = Terminal()
    progress = _ProgressLine(stream)
    progress.draw(runs)
    runs[0].record.state, runs[0].active = "finished", False
    progress.draw(runs)
    progress.draw(runs)  # no change: nothing drawn
    progress.line("001-reconstruct: done")
    progress.close()
    assert stream.getvalue() == (
        "\r\x1b[2Kbatch [....................] 0/2 done · 1 running · 1 queued"
        "\r\x1b[2Kbatch [##########..........] 1/2 done · 0 running · 1 queued"
        "\r\x1b[2K001-reconstruct: done\n"
    )
