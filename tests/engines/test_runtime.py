"""The worker runtime: streaming, pause, cancel, checkpoints, crashes, the queue, the CLI runner.

Workers are real spawned processes running the small engine of ``runtime_engines``; timeouts are
generous (the machine may be loaded) but bounded, and no test sleeps longer than it must.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import tests.engines.runtime_engines  # noqa: F401  (registers "fit_points")
from engines.registry import config_from_dict, find_engine
from engines.runtime import (
    Checkpointed,
    Failed,
    JobManager,
    JobState,
    JobUpdate,
    Log,
    Preparing,
    Progress,
    Result,
    RunContext,
    RuntimeOptions,
    Snapshot,
    WorkerSettings,
    checkpoint_step,
    load_checkpoint,
    path_problems,
)
from engines.runtime.manager import may_share
from engines.runtime.stream import SnapshotReader, SnapshotWriter, make_stream_dir, remove_stream_dir
from engines.runtime.worker import WorkerSpec, _Publisher
from scene import GaussianCloud, MeshAsset
from tests.toy_kind import Markers

TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def make_manager():
    managers = []

    def make(**options) -> JobManager:
        managers.append(JobManager(RuntimeOptions(**options)))
        return managers[-1]

    yield make
    for manager in managers:
        manager.shutdown()


def run_to_end(manager: JobManager, job: str) -> list:
    """All events of ``job`` until it ends (the news piles up until polled)."""
    assert manager.wait(job, TIMEOUT).is_terminal
    return manager.poll()[job].events


# ----------------------------------------------------------------- in-process parts
def test_configs_are_strict():
    entry = find_engine("fit_points")
    assert config_from_dict(entry.config_cls, {"steps": 3}).steps == 3
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'stesp' \(did you mean 'steps'\?\)"):
        config_from_dict(entry.config_cls, {"stesp": 3})
    with pytest.raises(KeyError, match="did you mean 'fit_points'"):
        find_engine("fit_point")


def test_submit_rejects_a_bad_config_at_once(make_manager):
    with pytest.raises(ValueError, match="unknown key"):
        make_manager().submit("fit_points", {"lr": 0.1, "sleep": 1})


def test_snapshot_slots_latest_wins_and_torn_reads_are_dropped():
    folder = make_stream_dir()
    writer, reader = SnapshotWriter(folder), SnapshotReader(folder)
    try:
        clouds = [GaussianCloud.create(np.full((10 * (i + 1), 3), i, np.float32), 0.1, (1, 0, 0)) for i in range(4)]
        notices = [writer.write("main", cloud) for cloud in clouds]
        assert reader.read(notices[0]) is None  # its slot was written again since
        latest = reader.read(notices[-1])
        np.testing.assert_array_equal(latest.means, clouds[-1].means)
        mesh = MeshAsset(np.eye(3), [[0, 1, 2]], vertex_colors=np.ones((3, 4)))
        np.testing.assert_array_equal(reader.read(writer.write("main", mesh)).faces, mesh.faces)
    finally:
        reader.close()
        writer.close()
        remove_stream_dir(folder)


# ----------------------------------------------------------------- worker processes
def test_events_stream_and_the_result_arrives(make_manager, tmp_path):
    manager = make_manager(snapshot_rate_hz=20)
    job = manager.submit("fit_points", {"steps": 60}, run_dir=tmp_path)
    events = run_to_end(manager, job)
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps == list(range(1, 61))
    assert isinstance(events[-1], Result) and Path(events[-1].paths[0]).is_file()
    info = manager.info(job)
    assert info.state is JobState.FINISHED and info.fraction == 1.0 and len(info.metrics["loss"]) == 60
    assert all(e.elapsed_s > 0 for e in events if isinstance(e, Progress))
    # The engine's last snapshot is its final state, and the consumer holds it.
    np.testing.assert_allclose(info.snapshot.means, np.load(info.result.paths[0]))


def test_snapshots_are_throttled_and_the_consumer_sees_the_latest(make_manager):
    manager = make_manager(snapshot_rate_hz=10, snapshot_budget=1.0)
    job = manager.submit("fit_points", {"steps": 100, "step_sleep_s": 0.01})
    seen, started = [], time.monotonic()
    while not manager.info(job).state.is_terminal:
        update = manager.poll().get(job)
        if update is not None and update.snapshot is not None:
            seen.append(update.snapshot)
        time.sleep(1 / 60)
    duration = time.monotonic() - started
    update = manager.poll().get(job)
    if update is not None and update.snapshot is not None:
        seen.append(update.snapshot)
    assert 3 <= len(seen) <= duration * 10 + 2
    assert all(isinstance(s, GaussianCloud) and s.count == 200 for s in seen)
    assert manager.info(job).snapshot is seen[-1]


@pytest.mark.parametrize("budget", [None, 0.05])
def test_without_a_budget_costly_snapshots_keep_the_rate(tmp_path, budget):
    """Snapshots that cost the engine 50 ms each: at 10 a second without a budget; with a 5 %
    budget, one a second (the snapshot after one taking 50 ms is due 1 s later)."""
    notices, events = multiprocessing.Pipe(duplex=False)  # keep the reading end: closed, the publisher stops
    spec = WorkerSpec("e", "m", {}, None, "cpu", False, 0, 10.0, budget, str(tmp_path), 8)
    writer = SnapshotWriter(tmp_path)
    publisher = _Publisher(events, writer, spec)
    cloud = GaussianCloud.create(np.zeros((10, 3), np.float32), 0.1, (1, 0, 0))
    try:
        intervals = []
        for _ in range(3):
            assert publisher.wants_snapshot()
            time.sleep(0.05)  # building the snapshot
            publisher.offer_snapshot(Snapshot(cloud))
            offered = time.monotonic()
            wait_until(publisher.wants_snapshot, timeout=5)
            intervals.append(time.monotonic() - offered)
    finally:
        publisher.close()
        writer.close()
        notices.close()
    if budget is None:
        assert 0.03 < min(intervals) and max(intervals) < 0.3  # 0.1 s less the build, give or take
    else:
        assert min(intervals) > 0.8


def test_a_slow_consumer_does_not_slow_the_engine():
    """A consumer stalled for seconds: the engine runs on, Progress is coalesced, Result arrives."""
    config = {"steps": 3000, "step_sleep_s": 0.0}  # ~450 kB of Progress: more than a pipe holds

    def run(stall_s: float) -> list:
        stalled = threading.Event()

        def on_update() -> None:
            if not stalled.is_set():
                stalled.set()
                time.sleep(stall_s)  # the receiver thread stops draining the pipe

        manager = JobManager(RuntimeOptions(max_backlog=8), on_update=on_update)
        try:
            return run_to_end(manager, manager.submit("fit_points", config))
        finally:
            manager.shutdown()

    def engine_seconds(events: list) -> float:
        return [e for e in events if isinstance(e, Progress)][-1].elapsed_s

    free, stalled = run(0.0), run(3.0)
    assert engine_seconds(stalled) < min(engine_seconds(free) * 1.5 + 0.5, 2.5)
    steps = [e.step for e in stalled if isinstance(e, Progress)]
    assert len(steps) < 3000 and steps[-1] == 3000 and steps == sorted(steps)
    assert isinstance(stalled[-1], Result)


def test_cancel_takes_effect_within_a_second_and_leaves_a_checkpoint(make_manager, tmp_path):
    manager = make_manager(checkpoint_every=0)
    job = manager.submit("fit_points", {"steps": 5000}, run_dir=tmp_path)
    wait_until(lambda: manager.info(job).step >= 20)
    started = time.monotonic()
    manager.cancel(job)
    assert manager.wait(job, TIMEOUT) is JobState.CANCELLED
    assert time.monotonic() - started < 1.0
    info = manager.info(job)
    assert info.checkpoint_step is not None and info.checkpoint_step >= 20 and info.step <= info.checkpoint_step + 1
    assert load_checkpoint(tmp_path).step == info.checkpoint_step


def test_cancel_during_a_slow_step_terminates_the_worker(make_manager):
    manager = make_manager()
    job = manager.submit("fit_points", {"steps": 50, "slow_step_at": 5, "slow_step_s": 30})
    wait_until(lambda: manager.info(job).step >= 4)
    pid = manager.info(job).pid
    started = time.monotonic()
    manager.cancel(job)
    assert manager.wait(job, TIMEOUT) is JobState.CANCELLED
    assert time.monotonic() - started < 1.0
    assert not _alive(pid)


def test_pause_stops_progress_and_resume_continues(make_manager, tmp_path):
    manager = make_manager(checkpoint_every=0)
    job = manager.submit("fit_points", {"steps": 300}, run_dir=tmp_path)
    wait_until(lambda: manager.info(job).step >= 10)
    manager.pause(job)
    wait_until(lambda: manager.info(job).state is JobState.PAUSED)
    paused = manager.info(job)
    assert paused.checkpoint_step == paused.step
    time.sleep(0.3)
    assert manager.info(job).step == paused.step
    manager.resume(job)
    events = run_to_end(manager, job)
    assert manager.info(job).state is JobState.FINISHED
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps == list(range(1, 301))  # nothing skipped, nothing repeated


def test_a_checkpoint_every_n_steps(make_manager, tmp_path):
    manager = make_manager(checkpoint_every=25)
    job = manager.submit("fit_points", {"steps": 100, "step_sleep_s": 0.001}, run_dir=tmp_path)
    events = run_to_end(manager, job)
    assert [e.step for e in events if isinstance(e, Checkpointed)] == [25, 50, 75, 100]


def test_a_killed_worker_fails_keeps_its_snapshot_and_resumes_from_its_checkpoint(make_manager, tmp_path):
    manager = make_manager(checkpoint_every=20)
    job = manager.submit("fit_points", {"steps": 400}, run_dir=tmp_path)
    wait_until(lambda: (manager.info(job).checkpoint_step or 0) >= 40 and manager.info(job).snapshot is not None)
    os.kill(manager.info(job).pid, signal.SIGKILL)
    assert manager.wait(job, TIMEOUT) is JobState.FAILED
    info = manager.info(job)
    assert "the worker process was killed (signal 9, SIGKILL)" in info.error.message
    assert isinstance(info.snapshot, GaussianCloud)
    resumed_from = info.checkpoint_step
    manager.poll()
    manager.resume(job)
    events = run_to_end(manager, job)
    assert manager.info(job).state is JobState.FINISHED
    assert [e.step for e in events if isinstance(e, Progress)][0] == resumed_from + 1
    assert manager.info(job).result.summary["first_step"] == resumed_from + 1
    assert any(isinstance(e, Log) and f"step {resumed_from}" in e.text for e in events)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"fail_at": 3}, "ValueError: failed on purpose at step 3"),
        ({"fail_at": 3, "fail_with": "MemoryError"}, "the engine ran out of memory (MemoryError: failed on purpose"),
        ({"crash_at": 3}, "the worker process crashed (signal 11, SIGSEGV)"),
    ],
)
def test_errors_and_crashes_become_failed(make_manager, config, message):
    manager = make_manager()
    job = manager.submit("fit_points", config)
    events = run_to_end(manager, job)
    failures = [e for e in events if isinstance(e, Failed)]
    assert manager.info(job).state is JobState.FAILED and len(failures) == 1
    assert message in failures[0].message
    if "crash_at" not in config:
        assert "runtime_engines.py" in failures[0].traceback


def test_one_job_at_a_time_per_device(make_manager):
    manager = make_manager()
    first = manager.submit("fit_points", {"steps": 40})
    second = manager.submit("fit_points", {"steps": 40})
    other = manager.submit("fit_points", {"steps": 10}, device="cuda:0")  # the engine ignores it
    states = []
    while not manager.info(second).state.is_terminal:
        states.append((manager.info(first).state, manager.info(second).state))
        time.sleep(0.01)
    assert all(a.is_terminal for a, b in states if b.holds_device)  # second ran only after first
    assert any(b is JobState.QUEUED and a.holds_device for a, b in states)
    assert manager.wait(other, TIMEOUT) is JobState.FINISHED
    assert manager.info(first).state is manager.info(second).state is JobState.FINISHED
    manager.remove(first)
    assert first not in manager.job_ids()


def test_auto_may_share_a_device_with_any_job():
    assert may_share("auto", "cpu") and may_share("cuda:0", "auto") and may_share("cpu", "cpu")
    assert not may_share("cpu", "cuda:0")


@pytest.mark.parametrize("cuda, device, expected", [(True, "auto", "cuda"), (False, "auto", "cpu"), (False, "cuda:1", "cuda:1")])
def test_auto_device_is_cuda_when_torch_sees_one(monkeypatch, cuda, device, expected):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert RunContext(None, device).device == expected


def test_shutdown_leaves_no_process_and_no_shared_memory(tmp_path):
    manager = JobManager()
    running = manager.submit("fit_points", {"steps": 10000}, run_dir=tmp_path)
    queued = manager.submit("fit_points", {"steps": 10})
    wait_until(lambda: manager.info(running).snapshot is not None)
    pid = manager.info(running).pid
    manager.shutdown()
    assert not _alive(pid)
    assert multiprocessing.active_children() == []
    assert manager.info(running).state is JobState.CANCELLED and manager.info(queued).state is JobState.CANCELLED
    assert not list(Path(tempfile.gettempdir()).glob(f"atelier4d-stream-{os.getpid()}-*"))
    if Path("/dev/shm").is_dir():
        assert not list(Path("/dev/shm").glob(f"atelier4d-stream-{os.getpid()}-*"))


_NO_NEWS = JobUpdate(JobState.QUEUED, [], {})


def states_until_done(manager: JobManager, job: str) -> list[JobState]:
    """The distinct states ``job`` went through, in order, polled until it ended."""
    states = [manager.info(job).state]
    while not states[-1].is_terminal:
        state = manager.info(job).state
        if state is not states[-1]:
            states.append(state)
        time.sleep(0.002)
    return states


def test_snapshots_carry_keys_and_the_newest_of_each_key_is_kept(make_manager):
    manager = make_manager(snapshot_rate_hz=100)
    job = manager.submit("two_outputs", {"load_s": 0.0, "steps": 20})
    events = run_to_end(manager, job)
    info = manager.info(job)
    assert info.state is JobState.FINISHED and set(info.snapshots) == {"main", "mesh"}
    assert isinstance(info.snapshot, GaussianCloud) and info.snapshot is info.snapshots["main"]
    np.testing.assert_allclose(info.snapshot.means, np.full((50, 3), 0.1), atol=1e-6)  # step 10, the last cloud
    np.testing.assert_allclose(info.snapshots["mesh"].vertices, np.eye(3))  # step 20, the last mesh
    assert isinstance(events[-1], Result)


def test_any_registered_payload_kind_streams_through_a_worker(make_manager):
    """The test-only kind "markers" (tests/toy_kind.py) crosses the process boundary as it is."""
    manager = make_manager()
    job = manager.submit("markers", {"count": 7})
    assert manager.wait(job, TIMEOUT) is JobState.FINISHED
    markers = manager.info(job).snapshot
    assert isinstance(markers, Markers) and markers.count == 7
    np.testing.assert_array_equal(markers.positions, np.arange(21, dtype=np.float32).reshape(7, 3))


def test_a_snapshot_of_an_unknown_type_fails_the_run_with_the_reason():
    notices, events = multiprocessing.Pipe(duplex=False)
    spec = WorkerSpec("e", "m", {}, None, "cpu", False, 0, 10.0, None, None, 8)
    publisher = _Publisher(events, None, spec)
    try:
        with pytest.raises(TypeError, match="cannot stream it: dict is not a layer payload type; known kinds: splats"):
            publisher.offer_snapshot(Snapshot({"means": np.zeros((1, 3))}))
    finally:
        publisher.close()
        notices.close()


def test_preparing_comes_before_the_first_step_with_its_progress(make_manager):
    manager = make_manager()
    job = manager.submit("two_outputs", {"load_s": 0.5, "steps": 5})
    states = states_until_done(manager, job)
    assert states[-3:] == [JobState.PREPARING, JobState.RUNNING, JobState.FINISHED], states
    events = manager.poll()[job].events
    preparing = [e for e in events if isinstance(e, Preparing)]
    first_step = next(i for i, e in enumerate(events) if isinstance(e, Progress))
    assert preparing[0] == Preparing(0.0, "checking inputs and outputs")  # the runtime's own checks
    assert [e.fraction for e in preparing[1:]] == [i / 10 for i in range(10)]
    assert all(events.index(e) < first_step for e in preparing)
    assert manager.info(job).preparing == preparing[-1]


@pytest.mark.parametrize("load", [{"load_s": 20.0}, {"load_s": 0.0, "stuck_load_s": 30.0}])
def test_cancel_while_preparing_stops_the_worker_promptly(make_manager, load):
    """At the next Preparing event, or (a load that reports nothing) by terminating the worker."""
    manager = make_manager()
    job = manager.submit("two_outputs", load)
    wait_until(lambda: manager.info(job).preparing is not None and manager.info(job).preparing.text == "loading the fake model")
    if "stuck_load_s" in load:
        time.sleep(0.2)  # into the silent load
    assert manager.info(job).state is JobState.PREPARING
    pid, started = manager.info(job).pid, time.monotonic()
    manager.cancel(job)
    assert manager.wait(job, TIMEOUT) is JobState.CANCELLED
    assert time.monotonic() - started < 1.5 and not _alive(pid)
    assert manager.info(job).step == 0


@pytest.mark.parametrize("out, message", [
    ("missing/means.npy", "out: cannot write {tmp}/missing/means.npy: the folder {tmp}/missing does not exist"),
    ("means.txt", "out: cannot write 'means.txt': the extension must be one of .npy"),
])
def test_an_output_that_cannot_be_written_fails_before_the_first_step(make_manager, tmp_path, out, message):
    manager = make_manager()
    job = manager.submit("fit_points", {"out": str(tmp_path / out)}, run_dir=tmp_path / "run")
    events = run_to_end(manager, job)
    assert manager.info(job).state is JobState.FAILED
    assert [e.message for e in events if isinstance(e, Failed)] == [message.format(tmp=tmp_path)]
    assert not any(isinstance(e, Progress) for e in events)


def test_path_problems_reads_the_field_metadata(tmp_path):
    entry = find_engine("fit_points")
    assert path_problems(entry.config_cls(out=str(tmp_path / "m.npy"))) == {}
    assert path_problems(entry.config_cls()) == {}  # empty: the run folder
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        problems = path_problems(entry.config_cls(out=str(locked / "m.npy")))
    finally:
        locked.chmod(0o700)
    assert problems == ({"out": f"cannot write {locked}/m.npy: permission denied"} if os.geteuid() != 0 else {})


def test_a_result_that_cannot_be_written_at_the_end_stays_in_the_run_folder(make_manager, tmp_path):
    (tmp_path / "out").mkdir()
    manager = make_manager()
    config = {"steps": 10, "out": str(tmp_path / "out" / "m.npy"), "remove_out_folder_at": 3}
    job = manager.submit("fit_points", config, run_dir=tmp_path / "run")
    events = run_to_end(manager, job)
    assert manager.info(job).state is JobState.FINISHED
    assert manager.info(job).result.paths == [str(tmp_path / "run" / "m.npy")]
    assert np.load(tmp_path / "run" / "m.npy").shape == (200, 3)
    (warning,) = [e for e in events if isinstance(e, Log) and e.level == "warning"]
    assert f"could not write {tmp_path}/out/m.npy" in warning.text and f"run folder instead: {tmp_path}/run/m.npy" in warning.text


def test_a_worker_killed_seconds_in_resumes_from_a_time_based_checkpoint(make_manager, tmp_path):
    """The issue's scenario is a worker killed 20 s into a run whose step-based checkpoints are far
    apart; here, to stay short: checkpoints only every 0.5 s, a kill about 2 s in."""
    manager = make_manager(checkpoint_every=0, checkpoint_every_s=0.5)
    job = manager.submit("fit_points", {"steps": 100_000, "step_sleep_s": 0.001}, run_dir=tmp_path)
    wait_until(lambda: manager.info(job).state is JobState.RUNNING)
    time.sleep(2.0)
    os.kill(manager.info(job).pid, signal.SIGKILL)
    assert manager.wait(job, TIMEOUT) is JobState.FAILED
    saved = manager.info(job).checkpoint_step
    assert saved is not None and saved > 0 and checkpoint_step(tmp_path) == saved
    checkpoints = [e for e in manager.poll()[job].events if isinstance(e, Checkpointed)]
    assert 2 <= len(checkpoints) <= 6  # about one every 0.5 s, none by steps
    manager.resume(job)
    events: list = []
    wait_until(lambda: any(isinstance(e, Progress) for e in events) or bool(events.extend(manager.poll().get(job, _NO_NEWS).events)))
    assert next(e for e in events if isinstance(e, Progress)).step == saved + 1
    manager.cancel(job)


def test_worker_settings_reach_the_engine(make_manager):
    manager = make_manager()
    settings = WorkerSettings(model_folders=("/models/a", "/models/b"), cache_folder="/cache", offline=True)
    job = manager.submit("two_outputs", {"load_s": 0.0, "steps": 1}, settings=settings)
    assert manager.wait(job, TIMEOUT) is JobState.FINISHED
    assert manager.info(job).result.summary == {
        "model_folders": ["/models/a", "/models/b"], "cache_folder": "/cache", "offline": True, "hf_offline": "1",
    }
    default = manager.submit("two_outputs", {"load_s": 0.0, "steps": 1})
    assert manager.wait(default, TIMEOUT) is JobState.FINISHED
    assert manager.info(default).result.summary["offline"] is False


def test_a_job_may_have_its_own_options(make_manager, tmp_path):
    manager = make_manager(checkpoint_every=0)
    job = manager.submit("fit_points", {"steps": 40, "step_sleep_s": 0.0}, run_dir=tmp_path,
                         options=RuntimeOptions(checkpoint_every=10))
    events = run_to_end(manager, job)
    assert [e.step for e in events if isinstance(e, Checkpointed)] == [10, 20, 30, 40]


FOREGROUND = """
import sys
import tests.engines.runtime_engines
from engines.runtime import RuntimeOptions
from engines.runtime.foreground import run_foreground
sys.exit(run_foreground("fit_points", {"steps": 300, "step_sleep_s": 0.005}, sys.argv[1], resume=sys.argv[2] == "1",
                        options=RuntimeOptions(checkpoint_every=30)))
"""


def test_foreground_ctrl_c_leaves_a_checkpoint_and_resume_finishes(tmp_path):
    run = [sys.executable, "-c", FOREGROUND, str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([*run, "0"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: checkpoint_step(tmp_path) is not None or first.poll() is not None)
    finally:
        first.send_signal(signal.SIGINT)  # the worker, not in a terminal's process group, never sees it
    _, stderr = first.communicate(timeout=TIMEOUT)
    assert first.returncode == 130, stderr
    step = checkpoint_step(tmp_path)
    assert step >= 30 and not (tmp_path / "means.npy").exists()
    assert f"checkpoint at step {step}" in stderr and "--resume" in stderr
    second = subprocess.run([*run, "1"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT)
    assert second.returncode == 0, second.stderr
    assert f"resuming from the checkpoint at step {step}" in second.stderr
    assert (tmp_path / "means.npy").is_file()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ----------------------------------------------------------------- warm workers
def model_log(events) -> dict[str, str]:
    line = next(e.text for e in events if isinstance(e, Log) and e.text.startswith("model="))
    return dict(part.split("=") for part in line.split())


def test_a_second_run_gets_the_warm_worker_and_its_loaded_model(make_manager, depth_folder):
    manager = make_manager()
    settings = WorkerSettings(model_choices=(("depth", str(depth_folder)),))
    first = model_log(run_to_end(manager, manager.submit("uses_model", settings=settings)))
    submitted = time.monotonic()
    second_job = manager.submit("uses_model", settings=settings)
    wait_until(lambda: manager.info(second_job).step >= 1)
    first_step_after_s = time.monotonic() - submitted
    events = run_to_end(manager, second_job)
    second = model_log(events)
    assert manager.info(second_job).state is JobState.FINISHED
    assert manager.info(second_job).result.summary == {"model": "DepthModel"}
    assert second["pid"] == first["pid"] and second["model"] == first["model"]  # the same process, the same model
    assert float(second["seconds"]) < 0.1 <= float(first["seconds"]) + 0.1
    assert first_step_after_s < 1.0


def test_without_keeping_warm_each_run_has_a_fresh_worker(make_manager, depth_folder):
    manager = make_manager(keep_warm_s=0)
    settings = WorkerSettings(model_choices=(("depth", str(depth_folder)),))
    first = model_log(run_to_end(manager, manager.submit("uses_model", settings=settings)))
    wait_until(lambda: not _alive(int(first["pid"])))  # it ended by itself
    second = model_log(run_to_end(manager, manager.submit("uses_model", settings=settings)))
    assert second["pid"] != first["pid"]


def test_a_warm_worker_killed_while_idle_is_replaced(make_manager, tmp_path):
    manager = make_manager()
    first = manager.submit("fit_points", {"steps": 3, "step_sleep_s": 0.2})
    wait_until(lambda: manager.info(first).pid is not None)
    pid = manager.info(first).pid
    run_to_end(manager, first)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not _alive(pid))
    time.sleep(0.2)
    second = manager.submit("fit_points", {"steps": 3})
    run_to_end(manager, second)
    assert manager.info(second).state is JobState.FINISHED


def test_a_warm_worker_still_obeys_pause_cancel_and_a_kill(make_manager, tmp_path):
    manager = make_manager()
    run_to_end(manager, manager.submit("fit_points", {"steps": 2}))
    job = manager.submit("fit_points", {"steps": 100000}, run_dir=tmp_path)
    wait_until(lambda: manager.info(job).step > 5)
    manager.pause(job)
    wait_until(lambda: manager.info(job).state is JobState.PAUSED)
    manager.resume(job)
    wait_until(lambda: manager.info(job).state is JobState.RUNNING)
    os.kill(manager.info(job).pid, signal.SIGKILL)
    assert manager.wait(job, TIMEOUT) is JobState.FAILED
    assert "killed" in manager.info(job).error.message
    manager.resume(job)
    wait_until(lambda: manager.info(job).step > manager.info(job).checkpoint_step)
    manager.cancel(job)
    assert manager.wait(job, TIMEOUT) is JobState.CANCELLED


def test_a_missing_model_fails_the_run_in_seconds_with_the_model_and_role_named(make_manager, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))  # the worker inherits it: nothing cached
    manager = make_manager()
    started = time.monotonic()
    job = manager.submit("uses_model", settings=WorkerSettings(offline=True))
    assert manager.wait(job, TIMEOUT) is JobState.FAILED
    assert time.monotonic() - started < 10
    error = manager.info(job).error
    assert "the depth model depth-anything/Depth-Anything-V2-Small-hf is not on this machine" in error.message
    assert "atelier4d models download depth" in error.message and not error.traceback
