"""Every generator under faults, through the real ``atelier4d generate`` command on tiny random-weight
models: a full disk (RLIMIT_FSIZE in the child) at the result and at the checkpoint, SIGKILL of the
command and of its worker at seeded random moments, Ctrl-C, the output's name taken by a folder, a
folder without write permission and a read-only output to replace.

The promise checked: the old output's folder byte-identical (no ``.part`` file either) or the new
output complete and loadable; nothing of a killed run left once the next command ran (no ``.part``
file, no stream folder in shared memory, no worker); the checkpoint in ``--run-dir`` the old one or a
whole new one; the right exit status and one line saying what went wrong, naming the artist's path.

``A4D_FAULT_KILLS`` (default 1) sets how many random moments each kill is tried at per engine, within
``A4D_FAULT_WINDOW_S`` seconds (default 4) of the start, seeded by ``A4D_FAULT_SEED`` (default 0):
``benches/faults.py`` raises them.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from engines.runtime.checkpoint import checkpoint_step, load_checkpoint, save_checkpoint
from engines.runtime.stream import stream_base
from scene.io import load, save
from scene.io.project import load_project
from scene.io.ply_sequence import write_ply_sequence
from scene.clip import GaussianClip
from studio.cli import main
from tests.engines.test_image_to_3d import disc_picture
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset
from tests.engines.test_video_input import disc_video
from tests.faults import report
from tests.faults.conftest import CLI, KILL_SEED, KILLS, end_group, run_cli, start_cli
from tests.faults.test_leftovers import stream_folders, wait_for
from tests.faults.test_writers import snapshot, splats, textured_grid, without_file_override
from tests.known_objects import striped_ball
from tests.scene.test_ply_sequence import moving
from tests.tiny_models import tiny_model

ENGINES = ["text-to-3d", "image-to-3d", "animate-4d", "outpaint-scene", "refine-region", "reconstruct"]
WINDOW_S = float(os.environ.get("A4D_FAULT_WINDOW_S", "4"))
FULL_AFTER = 1024
"""Bytes a file may grow to on the "full disk": less than every generator's first output (and than a
checkpoint), more than what a run writes before (animate-4d's reference picture in the run folder)."""

OUTPUTS = {  # the files each run writes into the output folder, the main one first
    "text-to-3d": ["object.ply"],
    "image-to-3d": ["object.ply"],
    "animate-4d": ["clip.a4d"],
    "outpaint-scene": ["room.ply"],
    "refine-region": ["refined.ply"],
    "reconstruct": ["scene.ply"],
}


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Path:
    """The tiny models, a picture, a video, a dataset and a scene every generator needs, built once,
    and an earlier good output of each kind (``old.ply``, ``old.a4d``)."""
    folder = tmp_path_factory.mktemp("generator-inputs")
    for role in ("text", "novel-view", "inpaint", "depth", "video"):
        tiny_model(role, folder / "models")
    disc_picture(folder / "disc.png")
    disc_video(folder / "disc.mp4", frames=6)
    write_dataset(folder / "data", orbit_cameras(4, 16))
    save(folder / "ball.ply", striped_ball(300))
    save(folder / "old.ply", splats(0))
    save(folder / "old.glb", textured_grid(0))
    write_ply_sequence(GaussianClip.from_frames(moving(np.random.default_rng(0), frames=2, n=20), fps=24), folder / "seq")
    assert main(["convert", str(folder / "seq"), str(folder / "old.a4d")]) == 0
    return folder


def command(engine: str, inputs: Path, out: Path, run: Path, steps: int = 1) -> list[str]:
    """``atelier4d generate ENGINE`` at the smallest sizes, writing ``OUTPUTS[engine]`` into ``out``."""
    models, main_out = inputs / "models", out / OUTPUTS[engine][0]
    object_run = ["--steps", str(steps), "--size", "32", "--init-points", "200", "--meshing.threshold", "1",
                  "--ply", main_out]  # no surface: no mesh (meshing is not what is under test)
    engine_args = {
        "text-to-3d": ["--prompt", "a fox", "--model", models / "text", "--refine.strength", "0", *object_run],
        "image-to-3d": ["--image", inputs / "disc.png", "--model", models / "novel-view", *object_run],
        "animate-4d": ["--video", inputs / "disc.mp4", "--novel-view-model", models / "novel-view", "--frames", "3",
                       "--steps", str(steps), "--static-steps", "1", "--size", "32", "--init-points", "300",
                       "--deformation.resolution", "8,8,8,4", "--deformation.levels", "1", "--out", main_out],
        "outpaint-scene": ["--image", inputs / "disc.png", "--inpaint-model", models / "inpaint", "--depth-model",
                           models / "depth", "--views", "2", "--steps", str(steps), "--diffusion-steps", "2", "--out", main_out],
        "refine-region": ["--input", inputs / "ball.ply", "--box=-1,0.1,-1,1,1,1", "--prompt", "a hat", "--model",
                          models / "text", "--steps", str(steps), "--size", "32", "--out", main_out],
        "reconstruct": ["--data", inputs / "data", "--steps", str(steps), "--init-points", "100", "--sh-degree", "0",
                        "--snapshot-every", "1", "--out", main_out],
    }[engine]
    return ["generate", engine, *map(str, engine_args), "--device", "cpu", "--run-dir", str(run)]


def old_outputs(engine: str, inputs: Path, out: Path) -> dict[str, bytes]:
    """The output folder ``out`` holding an earlier good output of every file the run writes; its snapshot."""
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS[engine]:
        shutil.copyfile(inputs / f"old{Path(name).suffix}", out / name)
    return snapshot(out)


def loadable(path: Path) -> bool:
    """Whether ``path`` reads back whole."""
    if path.suffix == ".a4d":
        return load_project(path).layers is not None
    return len(load(path)) > 0


def assert_kept_or_complete(engine: str, out: Path, before: dict[str, bytes], parts: bool = False) -> None:
    """Each output the old file, byte for byte, or a new complete one; nothing else in the folder
    (but ``.part`` files of a killed run, with ``parts``)."""
    now = {name: data for name, data in snapshot(out).items() if not (parts and name.endswith(".part"))}
    assert not [name for name in now if name.endswith(".part") or name.startswith(".")], now.keys()
    for name in OUTPUTS[engine]:
        if now.get(name) != before[name]:
            assert loadable(out / name), name
    assert set(now) - set(before) <= {Path(OUTPUTS[engine][0]).with_suffix(".path.json").name}, now.keys()


def error_line(err: str, path: Path | None = None) -> str:
    """The one line saying what went wrong: the last, ``atelier4d: error: ...``, naming ``path``, no
    temp name, no traceback, and no other line saying it failed."""
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("atelier4d: error: "), err[-2000:]
    assert "Traceback" not in err and ".part" not in lines[-1], err[-2000:]
    assert not [line for line in lines[:-1] if "error" in line.lower() or "failed" in line.lower()], err[-2000:]
    if path is not None:
        assert str(path) in lines[-1], lines[-1]
    return lines[-1]


def session_left(leader: int) -> list[int]:
    """Processes still alive (not zombies) in the session of ``leader`` (the command's workers)."""
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_text = (entry / "stat").read_text()
            if os.getsid(int(entry.name)) == leader and stat_text[stat_text.rindex(")") + 2] != "Z":
                left.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return left


def worker_of(cli: subprocess.Popen) -> int | None:
    """The engine's worker process: the command's child started by multiprocessing's spawn."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_text = (entry / "stat").read_text()
            parent = int(stat_text[stat_text.rindex(")") + 2 :].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if parent == cli.pid and b"spawn_main" in cmdline:
            return int(entry.name)
    return None


def moments(engine: str, fault: str) -> list[float]:
    """Seeded random moments (seconds) to inject ``fault`` at, ``KILLS`` of them."""
    rng = random.Random(f"{KILL_SEED}:{engine}:{fault}")
    return [rng.uniform(0.0, WINDOW_S) for _ in range(KILLS)]


def fault_runs(engine: str, inputs: Path, tmp_path: Path, fault: str) -> Iterator[tuple[float, Path, Path, dict[str, bytes]]]:
    """For each of ``fault``'s :func:`moments`: the moment, a fresh output folder holding the old
    outputs, a fresh run folder, and the old outputs' snapshot; the fault counted as tried."""
    for i, moment in enumerate(moments(engine, fault)):
        out, run = tmp_path / f"out{i}", tmp_path / f"run{i}"
        before = old_outputs(engine, inputs, out)
        report.tried(f"generate {engine}", fault)
        yield moment, out, run, before


def assert_next_command_cleans(engine: str, inputs: Path, out: Path, run: Path, killed: int) -> None:
    """The next run into ``out`` (a resume when the killed one left a checkpoint, else a resume that
    finds none and says so) leaves no ``.part`` file in ``out`` or ``run``, and no stream folder of
    the killed command."""
    if checkpoint_step(run) is not None:
        status, _, err = run_cli([*command(engine, inputs, out, run), "--resume"], timeout=300)
        assert status == 0, err[-2000:]
    else:
        status, _, err = run_cli([*command(engine, inputs, out, run.parent / "empty-run"), "--resume"])
        assert status == 1 and "cannot resume: no checkpoint" in error_line(err), err[-2000:]
    assert stream_folders(killed) == []
    for folder in (out, run):
        assert not [p for p in (folder.iterdir() if folder.is_dir() else []) if p.name.endswith(".part")]


# ----------------------------------------------------------------------------- a full disk
@pytest.mark.parametrize("engine", ENGINES)
def test_a_full_disk_at_the_result_keeps_the_old_output(engine, inputs, tmp_path):
    out, run = tmp_path / "out", tmp_path / "run"
    before = old_outputs(engine, inputs, out)
    report.tried(f"generate {engine}", "full disk")
    status, stdout, err = run_cli(command(engine, inputs, out, run), rlimit_fsize=FULL_AFTER, timeout=300)
    assert status == 1, err[-2000:]
    assert "disk is full" in error_line(err, out / OUTPUTS[engine][0])
    assert snapshot(out) == before
    assert checkpoint_step(run) is None and not [p for p in run.rglob("*.part")]


def test_a_full_disk_at_a_checkpoint_keeps_the_old_checkpoint(inputs, tmp_path):
    """A checkpoint due at once (``--checkpoint-every-s``) cannot be written: the run fails saying so,
    and the checkpoint already in the run folder is still whole and resumable."""
    engine, out, run = "reconstruct", tmp_path / "out", tmp_path / "run"
    before = old_outputs(engine, inputs, out)
    save_checkpoint(run, 3, {"means": np.zeros((2, 3), np.float32)}, engine, {})
    old_run = snapshot(run)
    report.tried(f"generate {engine}", "full disk at a checkpoint")
    status, _, err = run_cli([*command(engine, inputs, out, run), "--checkpoint-every-s", "0.000001"],
                             rlimit_fsize=FULL_AFTER, timeout=300)
    assert status == 1, err[-2000:]
    assert "disk is full" in error_line(err, run)
    assert snapshot(run) == old_run and load_checkpoint(run).step == 3
    assert snapshot(out) == before


# ----------------------------------------------------------------------------- kills
@pytest.mark.parametrize("engine", ENGINES)
def test_a_killed_command_keeps_the_old_output_and_the_next_command_cleans_up(engine, inputs, tmp_path):
    for moment, out, run, before in fault_runs(engine, inputs, tmp_path, "SIGKILL of the command"):
        cli = start_cli(command(engine, inputs, out, run))  # a whole run: a late moment may find it writing, or done
        try:
            time.sleep(moment)
            os.kill(cli.pid, signal.SIGKILL)
            cli.wait()
            wait_for(lambda: not session_left(cli.pid), 30, "the orphaned worker to end by itself")
        finally:
            end_group(cli)
        assert_kept_or_complete(engine, out, before, parts=True)
        assert checkpoint_step(run) is None or load_checkpoint(run) is not None
        assert_next_command_cleans(engine, inputs, out, run, cli.pid)
        assert_kept_or_complete(engine, out, before)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_killed_worker_is_one_line_and_leaves_nothing(engine, inputs, tmp_path):
    for moment, out, run, before in fault_runs(engine, inputs, tmp_path, "SIGKILL of the worker"):
        cli = start_cli(command(engine, inputs, out, run))  # a whole run: a late moment may find it writing, or done
        try:
            worker = wait_for(lambda: worker_of(cli), 60, "the worker")
            time.sleep(moment)
            try:
                os.kill(worker, signal.SIGKILL)
            except ProcessLookupError:  # the run ended first
                pass
            _, err = cli.communicate(timeout=120)
        finally:
            end_group(cli)
        if cli.returncode != 0:
            assert cli.returncode == 1, err[-2000:]
            assert "the worker process was killed (signal 9, SIGKILL)" in error_line(err)
        assert_kept_or_complete(engine, out, before)
        assert stream_folders(cli.pid) == [] and not [p for p in run.rglob("*.part")]
        assert checkpoint_step(run) is None or load_checkpoint(run) is not None


# ----------------------------------------------------------------------------- Ctrl-C
@pytest.mark.parametrize("engine", ENGINES)
def test_ctrl_c_is_status_130_one_line_and_leaves_nothing(engine, inputs, tmp_path):
    for moment, out, run, before in fault_runs(engine, inputs, tmp_path, "SIGINT"):
        cli = start_cli(command(engine, inputs, out, run, steps=1000))
        try:
            time.sleep(moment)
            os.killpg(cli.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
            _, err = cli.communicate(timeout=120)
            wait_for(lambda: not session_left(cli.pid), 15, "the worker to end")
        finally:
            end_group(cli)
        assert cli.returncode == 130, err[-2000:]
        lines = err.strip().splitlines()
        said = [line for line in lines if "cancelled" in line or "interrupted" in line or "failed" in line or "error" in line]
        assert said == lines[-1:] and "Traceback" not in err, err[-2000:]
        assert snapshot(out) == before
        assert stream_folders(cli.pid) == [] and not [p for p in run.rglob("*.part")]
        step = checkpoint_step(run)
        if step is None:  # stopped before its first step, or before the run began
            assert "cannot be resumed" in said[0] or said[0] == "atelier4d: interrupted", said
        else:
            assert load_checkpoint(run).step == step and "--resume" in said[0], said


def test_ctrl_c_leaves_a_checkpoint_that_resume_continues_over_a_read_only_output(inputs, tmp_path):
    """Hit after its first steps, a run leaves a checkpoint; the same command with ``--resume`` goes on
    from it and replaces the read-only old output as ``mv`` would, keeping it read-only."""
    engine, out, run = "reconstruct", tmp_path / "out", tmp_path / "run"
    old_outputs(engine, inputs, out)
    args = command(engine, inputs, out, run, steps=40)
    cli = start_cli(args)
    try:
        [folder] = wait_for(lambda: stream_folders(cli.pid), 60, "the run's stream folder")
        wait_for(lambda: list(folder.glob("*.bin")), 120, "the first snapshot")
        os.killpg(cli.pid, signal.SIGINT)
        _, err = cli.communicate(timeout=60)
    finally:
        end_group(cli)
    assert cli.returncode == 130, err[-2000:]
    step = checkpoint_step(run)
    assert step is not None and 1 <= step < 40 and f"checkpoint at step {step}" in err.splitlines()[-1]
    target = out / OUTPUTS[engine][0]
    target.chmod(0o444)
    report.tried(f"generate {engine}", "read-only output")
    status, _, err = run_as_artist([*args, "--resume"])
    assert status == 0, err[-2000:]
    assert f"resuming from the checkpoint at step {step}" in err and "finished after 40 steps" in err
    assert loadable(target) and stat.S_IMODE(target.stat().st_mode) == 0o444
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS[engine]


# ----------------------------------------------------------------------------- in the way, no permission
def run_as_artist(args: list[str]) -> tuple[int, str, str]:
    """``atelier4d ARGS`` bound by file permissions even when the tests run as root."""
    process = subprocess.Popen([str(CLI), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: (os.setsid(), without_file_override()))
    try:
        out, err = process.communicate(timeout=300)
    finally:
        end_group(process)
    return process.returncode, out, err


@pytest.mark.parametrize("engine", ENGINES)
def test_a_folder_in_the_way_is_refused_before_the_run(engine, inputs, tmp_path, capsys):
    out, run = tmp_path / "out", tmp_path / "run"
    target = out / OUTPUTS[engine][0]
    target.mkdir(parents=True)
    (target / "keep.txt").write_bytes(b"precious")
    before = snapshot(out)
    report.tried(f"generate {engine}", "output is a folder")
    with pytest.raises(SystemExit) as exit:
        main(command(engine, inputs, out, run))
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"cannot write {target}: it is a folder")
    assert snapshot(out) == before and not run.exists()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_folder_without_write_permission_is_refused_before_the_run(engine, inputs, tmp_path):
    out, run = tmp_path / "out", tmp_path / "run"
    before = old_outputs(engine, inputs, out)
    report.tried(f"generate {engine}", "no permission")
    out.chmod(0o555)
    try:
        status, _, err = run_as_artist(command(engine, inputs, out, run))
    finally:
        out.chmod(0o755)
    assert status == 2
    assert err.strip().splitlines()[-1].endswith(f"cannot write {out / OUTPUTS[engine][0]}: permission denied")
    assert snapshot(out) == before and not run.exists()


def test_the_next_command_removes_what_a_run_killed_as_it_wrote_left(inputs, tmp_path):
    """A worker killed while it wrote the result (or a checkpoint) leaves a temp file its owner will
    never remove; the next ``generate`` into that folder removes it first, even one that then fails."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    out, run = tmp_path / "out", tmp_path / "run"
    before = old_outputs("reconstruct", inputs, out)
    run.mkdir()
    left = [out / f".scene.ply.{ended.pid}_1.abcdefgh.part", run / f".checkpoint.json.{ended.pid}_1.abcdefgh.part"]
    for path in left:
        path.write_bytes(b"half a file")
    report.tried("generate reconstruct", "leftovers of a killed write")
    status, _, err = run_cli([*command("reconstruct", inputs, out, run), "--resume"])
    assert status == 1 and "cannot resume: no checkpoint" in error_line(err)
    assert not any(path.exists() for path in left)
    assert snapshot(out) == before
