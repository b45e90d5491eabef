"""Jobs on a Ray cluster (a real local one, ``tests/ray_cluster.py``): streaming, pause, resume,
cancel, a killed actor, warm actors, inputs and results travelling, an unreachable address."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import tests.engines.runtime_engines  # noqa: F401  (registers "fit_points")
from engines.reconstruct import ReconstructConfig
from engines.runtime import Checkpointed, Failed, JobManager, JobState, Preparing, Result, RuntimeOptions, checkpoint_step
from engines.runtime.checkpoint import INDEX, checkpoint_files, put_checkpoint_files, save_checkpoint
from engines.runtime.cluster import ClusterError, probe, resolve_address
from engines.runtime.job_files import pack, unpack
from scene import GaussianCloud
from scene.io import load
from tests.engines.test_reconstruct import TINY, dataset  # noqa: F401  (the fixture: a tiny NeRF-synthetic scene)
from tests.ray_cluster import free_port

TIMEOUT = 120.0


@pytest.fixture
def manager():
    made = JobManager(RuntimeOptions(checkpoint_every=10, keep_warm_s=0))
    yield made
    made.shutdown()


def events_until(manager: JobManager, job: str, done, timeout: float = TIMEOUT) -> list:
    """Poll ``job`` until ``done(events so far, state)``; its events."""
    events, deadline = [], time.monotonic() + timeout
    while True:
        update = manager.poll().get(job)
        state = manager.info(job).state
        if update is not None:
            events += update.events
        if done(events, state):
            return events
        assert time.monotonic() < deadline, f"timed out in {state}"
        time.sleep(0.02)


def ended(events, state) -> bool:
    return state.is_terminal


# ----------------------------------------------------------------- without a cluster
def test_inputs_travel_and_outputs_come_back_to_their_places(dataset, tmp_path):
    config = ReconstructConfig(data=str(dataset), out=str(tmp_path / "art" / "out.ply"))
    run_dir = tmp_path / "run"
    save_checkpoint(run_dir, 7, {"means": np.ones((3, 3), np.float32)}, "reconstruct", {})
    bundle = pack(ReconstructConfig, {**vars(config), "densify": vars(config.densify),
                                      "learning_rates": vars(config.learning_rates)}, str(run_dir), resume=True)
    assert set(bundle.inputs) == {"data"} and "train/r_0.png" in bundle.inputs["data"]
    assert bundle.folders == {"data"} and INDEX in bundle.checkpoint

    node = tmp_path / "node"
    moved, node_run, paths = unpack(bundle, {"data": config.data, "out": config.out, "densify": {}}, node)
    assert Path(moved["data"], "train", "r_0.png").read_bytes() == (dataset / "train" / "r_0.png").read_bytes()
    assert Path(moved["out"]).name == "out.ply" and Path(moved["out"]).parent.is_dir()
    assert checkpoint_step(node_run) == 7
    assert paths.local(moved["out"]) == config.out
    assert paths.local(Path(moved["out"]).with_suffix(".path.json")) == str(tmp_path / "art" / "out.path.json")
    assert paths.local(Path(node_run) / "means.npy") == str(run_dir / "means.npy")
    assert paths.local(tmp_path / "elsewhere.ply") is None
    said = paths.in_words(f"cannot read {moved['data']}/train/r_0.png; {node_run}/checkpoint.json")
    assert said == f"cannot read {dataset}/train/r_0.png; {run_dir}/checkpoint.json"


def test_an_input_name_cannot_leave_its_folder(tmp_path):
    from engines.runtime.job_files import JobBundle

    bundle = JobBundle(inputs={"data": {"../../escape.txt": b"x"}}, folders=frozenset({"data"}))
    with pytest.raises(ValueError, match="leaves its folder"):
        unpack(bundle, {"data": ""}, tmp_path / "node")
    assert not (tmp_path / "escape.txt").exists()


def test_checkpoint_files_travel_whole(tmp_path):
    save_checkpoint(tmp_path / "a", 5, {"x": np.arange(4)}, "fit_points", {})
    files = checkpoint_files(tmp_path / "a")
    assert list(files)[-1] == INDEX  # the index is written last where they land
    put_checkpoint_files(tmp_path / "b", files)
    assert checkpoint_step(tmp_path / "b") == 5
    save_checkpoint(tmp_path / "a", 9, {"x": np.arange(4)}, "fit_points", {})
    put_checkpoint_files(tmp_path / "b", checkpoint_files(tmp_path / "a"))
    assert checkpoint_step(tmp_path / "b") == 9 and len(list((tmp_path / "b").glob("state-*"))) == 1
    with pytest.raises(ValueError, match="not a checkpoint file"):
        put_checkpoint_files(tmp_path / "b", {"../x": b""})
    assert checkpoint_files(tmp_path / "none") == {}


def test_an_unreachable_cluster_is_said_quickly_with_its_address():
    address = f"ray://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ClusterError, match=address.replace(".", r"\.")):
        probe(address)
    assert time.monotonic() - started < 10
    with pytest.raises(ClusterError, match="not valid"):
        probe("ray://host:port")
    with pytest.raises(ClusterError, match="no Ray cluster address"):
        resolve_address(" ")


def test_auto_reads_ray_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "ray://10.0.0.5:10001")
    assert resolve_address("auto") == "ray://10.0.0.5:10001"
    monkeypatch.delenv("RAY_ADDRESS")
    assert resolve_address("auto") == "auto"


# ----------------------------------------------------------------- on the local cluster
def test_a_job_streams_pauses_resumes_and_its_result_comes_back(ray_cluster, manager, dataset, tmp_path):
    out = tmp_path / "out.ply"
    config = ReconstructConfig(data=str(dataset), out=str(out), steps=150, **TINY)
    job = manager.submit("reconstruct", config, run_dir=tmp_path / "run", device="cpu", cluster=ray_cluster)
    events_until(manager, job, lambda events, state: state is JobState.RUNNING)
    manager.pause(job)
    events_until(manager, job, lambda events, state: state is JobState.PAUSED)
    paused_at = manager.info(job).step
    assert checkpoint_step(tmp_path / "run") == paused_at  # the pause's checkpoint is on this machine already
    time.sleep(0.5)
    assert manager.info(job).step == paused_at
    manager.resume(job)
    events = events_until(manager, job, ended)
    info = manager.info(job)
    assert info.state is JobState.FINISHED, info.error
    assert info.where.startswith(ray_cluster) and "node" in info.where and "CPU" in info.where
    assert isinstance(info.snapshot, GaussianCloud)
    result = next(e for e in events if isinstance(e, Result))
    assert result.outputs["main"] == str(out)
    assert len(load(out)) == len(info.snapshot)
    assert any(isinstance(e, Checkpointed) for e in events)


def test_a_cancelled_job_stops_within_two_seconds(ray_cluster, manager, tmp_path):
    job = manager.submit("fit_points", {"steps": 100000, "step_sleep_s": 0.01}, run_dir=tmp_path, device="cpu",
                         cluster=ray_cluster)
    events_until(manager, job, lambda events, state: state is JobState.RUNNING and manager.info(job).step > 5)
    asked = time.monotonic()
    manager.cancel(job)
    assert manager.wait(job, 10) is JobState.CANCELLED
    assert time.monotonic() - asked < 2.0
    assert checkpoint_step(tmp_path) is not None  # the cancel's checkpoint came back


def test_a_killed_actor_fails_its_job_and_resume_finishes_it(ray_cluster, manager, tmp_path):
    import ray

    config = {"steps": 400, "step_sleep_s": 0.01}
    job = manager.submit("fit_points", config, run_dir=tmp_path, device="cpu", cluster=ray_cluster)
    events_until(manager, job, lambda events, state: sum(isinstance(e, Checkpointed) for e in events) >= 2)
    ray.kill(manager._jobs[job].process._actor, no_restart=True)  # as a lost node would
    events = events_until(manager, job, ended)
    info = manager.info(job)
    assert info.state is JobState.FAILED
    failure = next(e for e in events if isinstance(e, Failed))
    assert ray_cluster in failure.message and "Resume" in failure.message
    assert info.snapshot is not None  # the last snapshot stays
    kept = checkpoint_step(tmp_path)
    assert kept is not None and kept < 400
    manager.resume(job)  # on a new actor, from the checkpoint that came back here
    events = events_until(manager, job, ended)
    assert manager.info(job).state is JobState.FINISHED
    assert any(getattr(e, "text", "") == f"restored step {kept}" for e in events)


def test_a_warm_actor_takes_the_next_job(ray_cluster, tmp_path):
    manager = JobManager(RuntimeOptions(keep_warm_s=30))
    try:
        first = manager.submit("fit_points", {"steps": 20}, device="cpu", cluster=ray_cluster)
        assert manager.wait(first, TIMEOUT) is JobState.FINISHED
        actor = manager._idle[0].process._actor
        second = manager.submit("fit_points", {"steps": 20}, device="cpu", cluster=ray_cluster)
        events = events_until(manager, second, ended)
        assert manager.info(second).state is JobState.FINISHED
        assert manager._idle[0].process._actor is actor
        assert not any(isinstance(e, Preparing) and "connecting" in e.text for e in events)
    finally:
        manager.shutdown()


def test_an_engine_error_on_the_node_fails_the_job_with_its_message(ray_cluster, manager, tmp_path):
    (tmp_path / "data").mkdir()  # a folder with no dataset in it
    job = manager.submit("reconstruct", ReconstructConfig(data=str(tmp_path / "data")), device="cpu", cluster=ray_cluster)
    events = events_until(manager, job, ended)
    assert manager.info(job).state is JobState.FAILED
    failure = next(e for e in events if isinstance(e, Failed))
    assert failure.message.startswith(f"{tmp_path / 'data'}: no transforms_train.json")  # the path as the artist knows it


def test_the_code_jobs_carry_follows_what_the_cluster_has(monkeypatch):
    from engines.runtime import cluster

    facts = cluster.cluster_side_facts()  # this machine's, as a cluster with our very code would answer
    assert facts["version"] == cluster.installed_version() and facts["missing"] == []
    same = cluster.code_plan("ray://h:10001", facts)
    assert not same.ships_code and same.runtime_env == {}
    older = cluster.code_plan("ray://h:10001", {**facts, "fingerprint": "0" * 16})
    assert older.ships_code and [Path(p).name for p in older.runtime_env["py_modules"]] == ["engines", "scene"]
    assert cluster.code_plan("ray://h:10001", {**facts, "version": None, "fingerprint": None}).ships_code
    with pytest.raises(ClusterError, match=r"ray://h:10001 lacks torch, diffusers: install on every node `pip install atelier4d=="):
        cluster.code_plan("ray://h:10001", {**facts, "missing": ["torch", "diffusers"]})


def test_a_job_runs_with_the_code_it_carries_when_the_clusters_differs(ray_cluster, tmp_path):
    """In a process of its own (one connection per process): our code is said to differ from the
    cluster's, so the job's actor runs the engines and scene shipped with it."""
    script = f"""
import sys
from engines.runtime import cluster, JobManager, RuntimeOptions
import tests.engines.runtime_engines
plan = cluster.code_plan
cluster.code_plan = lambda address, facts: plan(address, {{**facts, "fingerprint": "an older one"}})
manager = JobManager(RuntimeOptions(keep_warm_s=0))
job = manager.submit("fit_points", {{"steps": 20, "out": {str(tmp_path / 'means.npy')!r}}}, device="cpu", cluster={ray_cluster!r})
state = manager.wait(job, 120)
print(state.value, cluster.connect({ray_cluster!r}).ships_code, manager.info(job).error)
manager.shutdown()
"""
    import subprocess
    import sys

    from tests.ray_cluster import ROOT

    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.split()[:2] == ["finished", "True"], done.stdout + done.stderr
    assert np.load(tmp_path / "means.npy").shape == (200, 3)


@pytest.mark.gpu
def test_a_cuda_job_gets_a_gpu_of_the_cluster(tmp_path, dataset):
    """On a machine with CUDA: a cluster with one GPU gives a CUDA job its GPU (in a process of its
    own: this one may be connected to the CPU test cluster already)."""
    script = f"""
from tests.ray_cluster import local_cluster
from engines.reconstruct import ReconstructConfig
from engines.runtime import JobManager, RuntimeOptions
from tests.engines.test_reconstruct import TINY, dataset  # noqa: F401  (the fixture: a tiny NeRF-synthetic scene)
with local_cluster(cpus=2, gpus=1) as address:
    manager = JobManager(RuntimeOptions(keep_warm_s=0))
    config = ReconstructConfig(data={str(dataset)!r}, out={str(tmp_path / 'out.ply')!r}, steps=100, **TINY)
    job = manager.submit("reconstruct", config, device="cuda", cluster=address)
    state = manager.wait(job, 300)
    info = manager.info(job)
    print(state.value, "|", info.where, "|", info.error)
    manager.shutdown()
"""
    import subprocess
    import sys

    from tests.ray_cluster import ROOT

    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    state, where, error = (part.strip() for part in done.stdout.strip().splitlines()[-1].split("|"))
    assert state == "finished", done.stdout + done.stderr
    assert where.endswith("GPU 0") and (tmp_path / "out.ply").exists()


def test_the_clusters_summary_is_one_line():
    from engines.runtime.cluster import ClusterStatus, NodeStatus

    cpu_only = ClusterStatus("ray://h:10001", (NodeStatus("10.0.0.2", 2, 0),), 2, 0, 1, 0, False, "0.1.0")
    assert cpu_only.summary() == "1 node, no GPU, 1 of 2 CPUs free; atelier4d 0.1.0 installed there"
    gpus = ClusterStatus("ray://h:10001", (NodeStatus("10.0.0.2", 8, 2), NodeStatus("10.0.0.3", 8, 2)), 16, 4, 16, 3, True, None)
    assert gpus.summary() == "2 nodes, 3 of 4 GPUs free, 16 of 16 CPUs free; this machine's code travels with each job"
