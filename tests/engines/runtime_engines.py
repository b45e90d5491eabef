"""Small real engines for the runtime tests, in a module the spawned workers can import."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from engines.registry import register_engine
from engines.runtime import Event, Log, Preparing, Progress, Result, RunContext, Snapshot
from scene import GaussianCloud, MeshAsset
from tests.toy_kind import Markers


@dataclass
class FitPointsConfig:
    points: int = 200
    """How many Gaussians (and target points)."""
    steps: int = 200
    lr: float = 0.05
    step_sleep_s: float = 0.005
    """Simulated work per step."""
    slow_step_at: int = -1
    """A step that takes ``slow_step_s`` (to test cancelling a slow step)."""
    slow_step_s: float = 0.0
    fail_at: int = -1
    """A step at which the engine raises ``fail_with``."""
    fail_with: str = "ValueError"
    """ "ValueError" or "MemoryError"."""
    crash_at: int = -1
    """A step at which the worker segfaults."""
    seed: int = 0
    out: str = field(default="", metadata={"path": "save", "extensions": (".npy",)})
    """Where to save the means at the end; empty: means.npy in the run folder."""
    remove_out_folder_at: int = -1
    """A step at which the engine deletes ``out``'s folder (to test the fallback into the run folder)."""


@register_engine("fit_points", FitPointsConfig)
def fit_points(config: FitPointsConfig, ctx: RunContext) -> Iterator[Event]:
    """Gradient descent of Gaussian centres towards random target points."""
    rng = np.random.default_rng(config.seed)
    target = rng.normal(size=(config.points, 3)).astype(np.float32)
    means = rng.normal(size=(config.points, 3)).astype(np.float32) * 3
    start = 0
    if ctx.resume_state is not None:
        means, start = ctx.resume_state["means"], ctx.resume_step
        yield Log(f"restored step {start}")
    colors = np.full((config.points, 3), 0.5, np.float32)
    for step in range(start + 1, config.steps + 1):
        time.sleep(config.slow_step_s if step == config.slow_step_at else config.step_sleep_s)
        if step == config.fail_at:
            error = {"ValueError": ValueError, "MemoryError": MemoryError}[config.fail_with]
            raise error(f"failed on purpose at step {step}")
        if step == config.crash_at:
            os.kill(os.getpid(), signal.SIGSEGV)
        if step == config.remove_out_folder_at:
            os.rmdir(os.path.dirname(config.out))
        means = means - config.lr * 2 * (means - target)
        loss = float(np.mean(np.sum((means - target) ** 2, axis=1)))
        if ctx.should_checkpoint(step):
            ctx.save_checkpoint(step, {"means": means, "loss": loss})
        if ctx.wants_snapshot() or step == config.steps:
            yield Snapshot(GaussianCloud.create(means, 0.02, colors))
        yield Progress(step, config.steps, {"loss": loss})
    out = ctx.save_output(lambda path: np.save(path, means), config.out, "means.npy")
    yield Result([str(out)] if out else [], {"loss": loss, "first_step": start + 1})


@dataclass
class TwoOutputsConfig:
    load_s: float = 0.2
    """Time the simulated model load takes, reported in ten Preparing events."""
    stuck_load_s: float = 0.0
    """A load that reports nothing for this long (to test cancelling it)."""
    steps: int = 20
    step_sleep_s: float = 0.01


@register_engine("two_outputs", TwoOutputsConfig)
def two_outputs(config: TwoOutputsConfig, ctx: RunContext) -> Iterator[Event]:
    """Prepares (a fake model load), streams a cloud under "main", then a mesh under "mesh"; its
    result's summary holds the worker settings it saw."""
    for tenth in range(10):
        yield Preparing(tenth / 10, "loading the fake model")
        time.sleep(config.load_s / 10)
    time.sleep(config.stuck_load_s)
    means = np.zeros((50, 3), np.float32)
    for step in range(1, config.steps + 1):
        time.sleep(config.step_sleep_s)
        means = means + 0.01
        if step <= config.steps // 2:
            yield Snapshot(GaussianCloud.create(means, 0.02, (1, 0, 0)))
        else:
            scale = step / config.steps
            yield Snapshot(MeshAsset(np.eye(3, dtype=np.float32) * scale, [[0, 1, 2]]), key="mesh")
        yield Progress(step, config.steps)
    settings = ctx.settings
    summary = {"model_folders": list(settings.model_folders), "cache_folder": settings.cache_folder,
               "offline": settings.offline, "hf_offline": os.environ.get("HF_HUB_OFFLINE")}
    yield Result([], summary)


@dataclass
class MarkersConfig:
    count: int = 7


@register_engine("markers", MarkersConfig)
def markers(config: MarkersConfig, ctx: RunContext) -> Iterator[Event]:
    """Yields one snapshot of the test-only payload kind "markers" (from ``tests.toy_kind``)."""
    positions = np.arange(config.count * 3, dtype=np.float32).reshape(-1, 3)
    yield Snapshot(Markers(positions, np.full_like(positions, 0.25)))
    yield Progress(1, 1)
    yield Result()


@dataclass
class UsesModelConfig:
    role: str = "depth"
    steps: int = 2


@register_engine("uses_model", UsesModelConfig)
def uses_model(config: UsesModelConfig, ctx: RunContext) -> Iterator[Event]:
    """Loads the model of ``role`` the worker settings choose (a tiny one in tests) and says which
    object it got, in which process, and how long that took."""
    started = time.monotonic()
    model = ctx.model(config.role)
    yield Log(f"model={id(model)} pid={os.getpid()} seconds={time.monotonic() - started:.3f}")
    for step in range(1, config.steps + 1):
        yield Progress(step, config.steps)
    yield Result([], {"model": type(model).__name__})
