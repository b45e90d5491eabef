"""Small real engines for the runtime tests, in a module the spawned workers can import."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from engines.registry import register_engine
from engines.runtime import Event, Log, Progress, Result, RunContext, Snapshot
from scene import GaussianCloud


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
        means = means - config.lr * 2 * (means - target)
        loss = float(np.mean(np.sum((means - target) ** 2, axis=1)))
        if ctx.should_checkpoint(step):
            ctx.save_checkpoint(step, {"means": means, "loss": loss})
        if ctx.wants_snapshot() or step == config.steps:
            yield Snapshot(GaussianCloud.create(means, 0.02, colors))
        yield Progress(step, config.steps, {"loss": loss})
    out = None
    if ctx.run_dir is not None:
        out = ctx.run_dir / "means.npy"
        np.save(out, means)
    yield Result([str(out)] if out else [], {"loss": loss, "first_step": start + 1})
