"""Leftovers of killed and interrupted runs: a stream folder in shared memory, a ``.part`` file
beside an output. A run that is killed cannot clean up after itself, so the next run removes what a
process that is gone left; a live process's leftovers are never touched. Ctrl-C (SIGINT) ends a
command with status 130, one line, no partial output and nothing left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import pytest

from engines.runtime.stream import make_stream_dir, remove_stream_dir, stream_base
from scene import GaussianCloud
from scene.io import save
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset
from tests.faults import report
from tests.faults.conftest import end_group, run_cli, start_cli

T = TypeVar("T")


def wait_for(found: Callable[[], T], timeout: float, what: str) -> T:
    """Poll ``found`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)
    return value


def stream_folders(pid: int) -> list[Path]:
    """The stream folders process ``pid`` made."""
    return sorted(stream_base().glob(f"atelier4d-stream-{pid}[-_]*"))


def parts(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.part"))


def cloud(n: int, seed: int = 0) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    return GaussianCloud.create(
        rng.normal(size=(n, 3)), rng.uniform(0.01, 0.1, (n, 3)), rng.uniform(size=(n, 3)), rng.uniform(0.2, 0.9, n),
        quats=rng.normal(size=(n, 4)), sh_degree=3,
    )


@pytest.fixture(scope="module")
def big_ply(tmp_path_factory) -> Path:
    """A 50 MB PLY: converting it takes long enough to be hit mid-write."""
    path = tmp_path_factory.mktemp("big") / "big.ply"
    save(path, cloud(200_000))
    return path


@pytest.fixture(scope="module")
def small_ply(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small") / "small.ply"
    save(path, cloud(50, seed=1))
    return path


def generate(tmp_path: Path, *more: str) -> subprocess.Popen:
    """A reconstruction that runs until it is stopped, on a tiny dataset."""
    write_dataset(tmp_path / "data", orbit_cameras(4, 16))
    return start_cli([
        "generate", "reconstruct", "--data", tmp_path / "data", "--steps", "100000", "--init-points", "100",
        "--sh-degree", "0", "--device", "cpu", "--run-dir", tmp_path / "run", *more,
    ])


def test_a_killed_cli_leaves_no_stream_folder_once_the_next_command_runs(tmp_path, small_ply):
    report.tried("generate reconstruct", "SIGKILL")
    cli = generate(tmp_path)
    try:
        [folder] = wait_for(lambda: stream_folders(cli.pid), 60, "the run's stream folder")
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait()
    finally:
        end_group(cli)  # its worker too
    assert folder.is_dir()  # what the kill left
    live = make_stream_dir()  # this test's own: its owner is alive
    try:
        status, _, err = run_cli(["info", small_ply])
        assert status == 0, err
        assert not folder.exists()
        assert live.is_dir()
    finally:
        remove_stream_dir(live)


def test_only_folders_whose_owner_is_gone_are_removed():
    from engines.runtime.stream import remove_orphan_stream_dirs
    from scene.io.leftovers import owner_tag

    sleeper, ended = subprocess.Popen(["sleep", "30"]), subprocess.Popen(["true"])
    ended.wait()
    pid, _, start = owner_tag().partition("_")
    names = {
        "mine": f"atelier4d-stream-{owner_tag()}-aaaaaaaa",
        "alive, start not recorded": f"atelier4d-stream-{sleeper.pid}-bbbbbbbb",  # as folders were named before
        "id reused": f"atelier4d-stream-{pid}_{int(start or 0) + 1}-cccccccc",  # a live process started at another time
        "gone": f"atelier4d-stream-{ended.pid}_1-dddddddd",
    }
    try:
        for name in names.values():
            (stream_base() / name).mkdir()
            (stream_base() / name / "k0s0-0000.bin").write_bytes(b"slot")
        removed = remove_orphan_stream_dirs()
        left = {what for what, name in names.items() if (stream_base() / name).exists()}
        expected = {"mine", "alive, start not recorded"} | (set() if start else {"id reused"})  # no start time: kept
        assert left == expected
        assert set(removed) >= {stream_base() / names[what] for what in names.keys() - expected}
    finally:
        sleeper.kill()
        sleeper.wait()
        for name in names.values():
            remove_stream_dir(stream_base() / name)


def test_a_write_removes_only_the_part_files_whose_writer_is_gone(tmp_path):
    from scene.io.atomic import atomic_output
    from scene.io.leftovers import owner_tag

    ended = subprocess.Popen(["true"])
    ended.wait()
    live = tmp_path / f".a.ply.{owner_tag()}.aaaaaaaa.part"  # this process is writing it
    stale = tmp_path / f".a.ply.{ended.pid}_1.bbbbbbbb.part"
    unnamed = tmp_path / ".a.ply.cccccccc.part"  # no owner in its name: not ours to judge
    for path in (live, stale, unnamed):
        path.write_bytes(b"half")
    with atomic_output(tmp_path / "b.ply") as tmp:
        tmp.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, unnamed.name, "b.ply"])


def kill_mid_write(
    args: list, folder: Path, signum: int, within: float = 0.01, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Start ``atelier4d ARGS`` and send its process group ``signum`` (as a terminal does) at a random
    moment up to ``within`` seconds after its ``.part`` file appeared in ``folder``; retried until a
    run is hit before it finished. That run's (exit status, stdout, stderr)."""
    report.tried(f"{args[0]} {Path(args[-1]).suffix.lstrip('.')}", signal.Signals(signum).name)
    for _ in range(20):
        cli = start_cli(args, env=env)
        try:
            wait_for(lambda: parts(folder) or cli.poll() is not None, 60, "the .part file")
            time.sleep(random.uniform(0.0, within))
            os.killpg(cli.pid, signum)
            out, err = cli.communicate(timeout=60)
        finally:
            end_group(cli)
        if cli.returncode != 0:
            return cli.returncode, out, err
    raise AssertionError("every run finished before the signal reached it")


def test_a_killed_convert_leaves_no_part_file_once_the_next_convert_writes_there(tmp_path, big_ply, small_ply):
    out = tmp_path / "out.ply"
    save(out, cloud(10, seed=2))
    old = out.read_bytes()
    kill_mid_write(["convert", big_ply, out], tmp_path, signal.SIGKILL)
    assert parts(tmp_path) and out.read_bytes() == old  # the kill left its .part, the old output is whole

    status, _, err = run_cli(["convert", small_ply, tmp_path / "other.splat"])
    assert status == 0, err
    assert parts(tmp_path) == []
    assert out.read_bytes() == old


def test_ctrl_c_during_convert_is_status_130_one_line_and_no_leftovers(tmp_path, big_ply):
    out = tmp_path / "out.ply"
    save(out, cloud(10, seed=2))
    old = out.read_bytes()
    status, stdout, stderr = kill_mid_write(["convert", big_ply, out], tmp_path, signal.SIGINT)
    assert (status, stderr) == (130, "atelier4d: interrupted\n")
    assert parts(tmp_path) == []
    if out.read_bytes() == old:
        assert stdout == ""
    else:  # Ctrl-C came just after the new file was in place: it is whole
        assert out.read_bytes() == big_ply.read_bytes()


def test_ctrl_c_during_generate_is_status_130_one_line_and_no_leftovers(tmp_path):
    report.tried("generate reconstruct", "SIGINT")
    out = tmp_path / "out" / "cloud.ply"
    out.parent.mkdir()
    cli = generate(tmp_path, "--out", str(out))
    try:
        [folder] = wait_for(lambda: stream_folders(cli.pid), 60, "the run's stream folder")
        wait_for(lambda: list(folder.glob("*.bin")), 120, "the first snapshot")
        os.killpg(cli.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
        _, err = cli.communicate(timeout=60)
    finally:
        end_group(cli)
    assert cli.returncode == 130, err
    assert "Traceback" not in err
    said = [line for line in err.splitlines() if "cancelled" in line or "interrupted" in line]
    assert len(said) == 1 and said[0] == err.splitlines()[-1] and "--resume" in said[0]
    assert list(out.parent.iterdir()) == [] and not folder.exists()


CTRL_C_UNDER_THE_LOCK = """
import signal, sys
import tests.engines.runtime_engines
from engines.runtime import JobManager
from engines.runtime.foreground import run_foreground

info, hit = JobManager.info, []
def info_hit_by_ctrl_c(self, job_id):
    if not hit and info(self, job_id).step >= 3:
        hit.append(True)
        with self._lock:  # Ctrl-C while the command holds the manager's lock (as in poll() and info())
            signal.raise_signal(signal.SIGINT)
            sum(range(1000))  # the handler runs at this call, the lock held
    return info(self, job_id)
JobManager.info = info_hit_by_ctrl_c
sys.exit(run_foreground("fit_points", {"steps": 100000, "step_sleep_s": 0.005}, sys.argv[1]))
"""


def test_ctrl_c_while_the_cli_holds_the_job_managers_lock_still_stops_the_run(tmp_path):
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            [sys.executable, "-c", CTRL_C_UNDER_THE_LOCK, str(tmp_path)], cwd=root, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(root)}, timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("Ctrl-C deadlocked the command: it never ended")
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines()[-1].startswith("cancelled, stopped at step")


@pytest.mark.parametrize("run", range(4))
def test_ctrl_c_during_render_is_status_130_one_line_and_no_leftovers(tmp_path, small_ply, run):
    """Hit while it compiles its shaders too (an empty shader cache): Mesa's compiler crashed when a
    signal landed in it (13 of 30 runs)."""
    out = tmp_path / "orbit.mp4"
    out.write_bytes(b"the artist's earlier video")
    args = ["render", small_ply, "--size", "64x48", "--orbit", "2000", "--out", out]
    cold = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    status, _, err = kill_mid_write(args, tmp_path, signal.SIGINT, within=0.3, env=cold)
    assert (status, err) == (130, "atelier4d: interrupted\n"), err
    assert out.read_bytes() == b"the artist's earlier video"
    assert parts(tmp_path) == []


STUDIO_FOR_A_MOMENT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from studio.app import set_default_gl_format
from studio.cli import main
from studio.main_window import MainWindow

def close():
    for window in [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]:
        window.ask_unsaved_changes = lambda: "discard"
        window.close()
    app.quit()

set_default_gl_format()
app = QApplication(sys.argv[:1])  # the studio takes this one; its window is closed once it ran a moment
QTimer.singleShot(1500, close)
sys.exit(main(sys.argv[1:]))
"""


def test_the_studio_starts_by_removing_what_killed_runs_left(tmp_path, small_ply):
    ended = subprocess.Popen(["true"])
    ended.wait()
    orphan = stream_base() / f"atelier4d-stream-{ended.pid}_1-eeeeeeee"  # its owner is gone
    orphan.mkdir()
    try:
        env = {**os.environ, **{name: str(tmp_path / name.lower()) for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")}}
        result = subprocess.run(
            [sys.executable, "-c", STUDIO_FOR_A_MOMENT, "open", str(small_ply)], capture_output=True, text=True,
            env=env, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert not orphan.exists()
    finally:
        remove_stream_dir(orphan)
