"""The "reconstruct" engine on a tiny NeRF-synthetic dataset: it learns, writes a PLY, resumes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from engines.optim_settings import DensifySettings
from engines.reconstruct import ReconstructConfig, reconstruct, scene_bounds, view_schedule
from engines.registry import find_engine
from engines.runtime import Progress, Result, RunContext, Snapshot, load_checkpoint
from engines.runtime.stream import LiveArrays
from scene import GaussianCloud
from scene.io import load
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset

TINY = dict(resolution=16, init_points=150, sh_degree=1, sh_interval=10, snapshot_every=10,
            densify=DensifySettings(refine_start=4, refine_every=4, refine_stop=16, reset_every=12, max_splats=300))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sphere")
    cams = orbit_cameras(10, 16)
    write_dataset(folder, cams[::2] + cams[1::2][:3])
    write_dataset(folder, cams[1::2][3:], split="test")
    return folder


def run_all(config: ReconstructConfig, ctx: RunContext) -> list:
    """Every event; live snapshots (``LiveArrays``) taken as the worker does, before the next step."""
    return [
        dataclasses.replace(e, payload=e.payload.payload()) if isinstance(e, Snapshot) and isinstance(e.payload, LiveArrays) else e
        for e in reconstruct(config, ctx)
    ]


def test_registered():
    entry = find_engine("reconstruct")
    assert entry.config_cls is ReconstructConfig and entry.module == "engines.reconstruct"


def test_learns_and_writes_a_ply(dataset, tmp_path):
    config = ReconstructConfig(data=str(dataset), out=str(tmp_path / "out.ply"), steps=80, **TINY)
    events = run_all(dataclasses.replace(config, densify=dataclasses.replace(config.densify, reset_every=0)), RunContext(None))
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.step for p in progress] == list(range(1, 81)) and set(progress[0].metrics) == {"loss", "psnr", "splats"}
    # each epoch of 8 steps shows every training view once, so their means compare
    first, last = ({k: np.mean([p.metrics[k] for p in chunk]) for k in ("psnr", "loss")}
                   for chunk in (progress[:8], progress[-8:]))
    assert last["psnr"] > first["psnr"] + 0.5 and last["loss"] < first["loss"], (first, last)

    snapshots = [e.payload for e in events if isinstance(e, Snapshot)]
    assert len(snapshots) >= 3 and all(isinstance(s, GaussianCloud) for s in snapshots)
    early = snapshots[0].means.copy()
    np.testing.assert_array_equal(snapshots[0].means, early)  # copies: later steps left it alone
    assert len({len(s) for s in snapshots}) > 1  # densification changed the count

    result = events[-1]
    assert isinstance(result, Result) and result.paths == [config.out]
    cloud = load(config.out)
    assert isinstance(cloud, GaussianCloud) and len(cloud) == result.summary["splats"] and cloud.sh_degree == 1
    np.testing.assert_allclose(cloud.means, snapshots[-1].means, atol=1e-6)
    # A run that learns must clearly beat one that did not: the start cloud after a single step
    # scores about 17.9 / 16.6 dB (train / test) on this mostly white scene, 80 steps about
    # 20.7 / 19.2 (seeds 0-2 within 0.2 dB).
    untrained = run_all(dataclasses.replace(config, steps=1, out=str(tmp_path / "untrained.ply")), RunContext(None))
    for split in ("train_psnr", "test_psnr"):
        assert result.summary[split] > untrained[-1].summary[split] + 1.5, (split, result.summary, untrained[-1].summary)


def test_resumes_from_the_runtime_checkpoint(dataset, tmp_path):
    config = ReconstructConfig(data=str(dataset), steps=20, **TINY)
    whole = run_all(dataclasses.replace(config, out=str(tmp_path / "whole.ply")), RunContext(None))

    run_dir = tmp_path / "run"
    stopped = dataclasses.replace(config, out=str(tmp_path / "resumed.ply"))
    ctx = RunContext(run_dir, engine="reconstruct", checkpoint_every=10)
    for event in reconstruct(stopped, ctx):  # stop after step 13, as a kill would
        if isinstance(event, Progress) and event.step == 13:
            break
    checkpoint = load_checkpoint(run_dir)
    assert checkpoint is not None and checkpoint.step == 10

    resumed = run_all(stopped, RunContext(run_dir, engine="reconstruct", resume=checkpoint))
    steps = [e.step for e in resumed if isinstance(e, Progress)]
    assert steps == list(range(11, 21))
    assert resumed[-1].summary["splats"] == whole[-1].summary["splats"]
    a, b = load(tmp_path / "whole.ply"), load(tmp_path / "resumed.ply")
    for name in ("means", "log_scales", "quats", "opacity_logits", "sh"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=0, atol=1e-6, err_msg=name)


def test_output_defaults_to_the_run_folder(dataset, tmp_path):
    config = ReconstructConfig(data=str(dataset), steps=2, **TINY)
    result = run_all(config, RunContext(tmp_path))[-1]
    assert result.paths == [str(tmp_path / "reconstruction.ply")]


@pytest.mark.parametrize(
    "change, message",
    [({"steps": 0}, "steps: must be at least 1, got 0"), ({"sh_degree": 4}, "sh_degree: must be at most 3"),
     ({"background": (1.0, 2.0, 0.0)}, "background: must be at most 1"), ({"data": ""}, "data: is required"),
     ({"data": "no/such/folder"}, "data: no such folder"), ({"out": "cloud.glb"}, "out: must end with .ply or .splat")],
)
def test_rejects_bad_settings_when_made(dataset, change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(ReconstructConfig(data=str(dataset)), **change)


def test_scene_bounds_of_cameras_around_the_origin():
    cams = orbit_cameras(8, 32, radius=4.0)
    centre, half_extent, scene_scale = scene_bounds(cams)
    np.testing.assert_allclose(centre, 0, atol=1e-6)
    distances = [np.linalg.norm(c.position) for c in cams]
    assert scene_scale == pytest.approx(1.1 * max(distances))
    assert half_extent == pytest.approx(min(distances) * 16 / cams[0].fx)


def test_view_schedule_covers_every_view_each_epoch():
    epoch = [view_schedule(7, 2, step, seed=3) for step in range(1, 4)]
    assert sorted(sum(epoch, [])) != list(range(7)) and len(set(sum(epoch, []))) == 6  # 7 // 2 slots of 2
    assert view_schedule(7, 2, 5, seed=3) == view_schedule(7, 2, 5, seed=3)
    singles = [view_schedule(5, 1, step, seed=0)[0] for step in range(1, 6)]
    assert sorted(singles) == list(range(5))
