"""What streaming snapshots costs an engine: steps per second with and without a live consumer.

Runs a CPU engine fitting a 100k-Gaussian cloud with SH degree 3 (about 24 MB a snapshot) in a
worker process, twice: headless (no snapshots, nobody polling) and streaming (snapshots at the
runtime's default rate and budget, a consumer polling at 60 Hz and taking every snapshot). Step
rates come from the engine's own Progress clock, so worker start-up is not counted; the runs
alternate and medians are reported, as other load on the machine moves single runs by several
percent. Prints one JSON line.

    python benches/streaming.py [--gaussians 100000] [--steps 300] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from engines.registry import register_engine
from engines.runtime import Event, JobManager, Progress, RunContext, RuntimeOptions, Snapshot
from scene import GaussianCloud


@dataclass
class DriftConfig:
    gaussians: int = 100_000
    sh_degree: int = 3
    steps: int = 300


@register_engine("bench_drift", DriftConfig)
def drift(config: DriftConfig, ctx: RunContext) -> Iterator[Event]:
    """Fits every Gaussian's colour, seen from a random direction each step, to a target: a CPU
    stand-in for an optimiser step that reads the whole cloud."""
    rng = np.random.default_rng(0)
    n, k = config.gaussians, (config.sh_degree + 1) ** 2
    means = rng.normal(size=(n, 3)).astype(np.float32)
    log_scales = np.full((n, 3), -4.0, np.float32)
    quats = np.tile(np.array([1, 0, 0, 0], np.float32), (n, 1))
    opacity = np.zeros(n, np.float32)
    sh = rng.normal(scale=0.1, size=(n, k, 3)).astype(np.float32)
    target = rng.uniform(size=(n, 3)).astype(np.float32)
    for step in range(1, config.steps + 1):
        basis = rng.normal(size=k).astype(np.float32)  # SH basis values of a view direction
        residual = np.einsum("nkc,k->nc", sh, basis) + 0.5 - target
        sh[:, 0, :] -= 0.1 * basis[0] * residual
        means += 1e-3 * (target - 0.5 - means)
        if ctx.wants_snapshot():
            copies = (a.copy() for a in (means, log_scales, quats, opacity, sh))  # as off a GPU
            yield Snapshot(GaussianCloud(*copies))
        yield Progress(step, config.steps, {"loss": float(np.mean(residual**2))})


def _run(options: RuntimeOptions, config: dict, consume: bool) -> tuple[float, int]:
    """Engine steps per second, and how many snapshots the consumer took."""
    manager = JobManager(options)
    events, snapshots = [], 0
    try:
        job = manager.submit("bench_drift", config)
        while True:
            finished = manager.wait(job, 1 / 60 if consume else None).is_terminal
            if consume or finished:
                for update in manager.poll().values():
                    events += update.events
                    if update.snapshot is not None:
                        snapshots += 1
                        assert update.snapshot.count == config["gaussians"]
            if finished:
                break
        info = manager.info(job)
        assert info.state.value == "finished", info.error
    finally:
        manager.shutdown()
    progress = [e for e in events if isinstance(e, Progress)]
    first, last = progress[0], progress[-1]
    return (last.step - first.step) / (last.elapsed_s - first.elapsed_s), snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gaussians", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = {"gaussians": args.gaussians, "steps": args.steps}
    streaming_options = RuntimeOptions()
    headless, streaming, taken = [], [], []
    for _ in range(args.repeats):  # alternate, so background load hits both alike
        headless.append(_run(RuntimeOptions(snapshot_rate_hz=0), config, consume=False)[0])
        rate, snapshots = _run(streaming_options, config, consume=True)
        streaming.append(rate)
        taken.append(snapshots / (args.steps / rate))
    cloud_mb = args.gaussians * (3 + 3 + 4 + 1 + 16 * 3) * 4 / 1e6
    headless_rate, streaming_rate = statistics.median(headless), statistics.median(streaming)
    print(json.dumps({
        "bench": "streaming",
        "gaussians": args.gaussians,
        "sh_degree": 3,
        "snapshot_mb": round(cloud_mb, 1),
        "steps": args.steps,
        "headless_steps_per_s": round(headless_rate, 1),
        "streaming_steps_per_s": round(streaming_rate, 1),
        "overhead_pct": round(100 * (1 - streaming_rate / headless_rate), 1),
        "snapshots_per_s": round(statistics.median(taken), 1),
        "snapshot_rate_hz": streaming_options.snapshot_rate_hz,
        "snapshot_budget": streaming_options.snapshot_budget,
        "repeats": {"headless": [round(r, 1) for r in headless], "streaming": [round(r, 1) for r in streaming]},
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
