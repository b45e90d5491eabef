"""What streaming snapshots costs the reconstruct engine: its step rate at fixed snapshot rates.

The real "reconstruct" engine fits about 100k Gaussians (SH degree 3: about 24 MB a snapshot) to the
ray-traced scene of ``benches/reconstruct.py``, in a worker process with torch's default thread
count, starting from that many Gaussians in a cube around the scene (carved by the silhouettes) with
densification off, so the cloud keeps its size. It runs once without snapshots (the baseline: the
bench only looks at its progress twice a second), and once per rate with snapshots at that fixed
rate: the engine offers one every step and the runtime has no budget (``snapshot_budget=None``), so
only the rate spaces them; a consumer polls the job manager at 60 Hz and takes every snapshot.
Snapshots are taken between steps, so a run never gets more of them than steps: at rates above the
step rate it gets one every step, and the rate it reached says so.

Each run is measured over ``--seconds`` of the engine's own Progress clock after ``--warmup`` steps
(worker start-up and the first steps are not counted) and then cancelled. With ``--repeats`` above 1
the runs alternate (baseline, each rate, baseline, ...) and medians are reported: other load moves
single runs a lot (on a shared two-core machine the engine's two threads stall each other whenever
another process holds a core). The default, one round, takes about three minutes on two cores.
Prints one JSON line.

    python benches/streaming.py [--gaussians 100000] [--rates 1 10 30] [--seconds 20] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from reconstruct import sphere_cameras, write_dataset  # benches/reconstruct.py, next to this file

import engines.reconstruct  # noqa: F401  (registers "reconstruct")
from engines.runtime import JobManager, Progress, RuntimeOptions

POLL_HZ = 60.0


@dataclass(frozen=True)
class RunFigures:
    """What one run measured."""

    steps_per_s: float  # engine steps a second over the measured window (its own clock)
    snapshots_per_s: float  # snapshots the consumer received a second over the same window
    splats: int


def run_engine(options: RuntimeOptions, config: dict, warmup: int, seconds: float, poll_hz: float) -> RunFigures:
    """Run "reconstruct" in a worker, polling ``poll_hz`` times a second, until ``seconds`` of engine
    time after step ``warmup``; then cancel it."""
    manager = JobManager(options)
    snapshots: list[float] = []  # when the consumer received each
    start: tuple[float, Progress] | None = None  # (received at, Progress) of the window's ends
    end: tuple[float, Progress] | None = None
    try:
        job = manager.submit("reconstruct", config)
        while end is None:
            state = manager.wait(job, 1 / poll_hz)
            now = time.monotonic()
            for update in manager.poll().values():
                if update.snapshot is not None:
                    snapshots.append(now)
                for event in (e for e in update.events if isinstance(e, Progress)):
                    if start is None and event.step >= warmup:
                        start = (now, event)
                    elif start is not None and event.elapsed_s - start[1].elapsed_s >= seconds:
                        end = (now, event)
            if end is None and state.is_terminal:
                raise RuntimeError(f"the engine stopped early: {manager.info(job).error}")
        manager.cancel(job)
        manager.wait(job, 30)
    finally:
        manager.shutdown()
    (t0, first), (t1, last) = start, end
    received = sum(t0 < t <= t1 for t in snapshots)
    return RunFigures(
        (last.step - first.step) / (last.elapsed_s - first.elapsed_s), received / (t1 - t0), int(last.metrics["splats"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gaussians", type=int, default=100_000)
    parser.add_argument("--rates", type=float, nargs="+", default=[1.0, 10.0, 30.0], help="snapshots a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="engine time measured per run")
    parser.add_argument("--warmup", type=int, default=2, help="steps before the measured window")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of runs (3 or more: steadier figures)")
    parser.add_argument("--views", type=int, default=10, help="views of the scene (every fifth held out)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="atelier4d-bench-") as tmp:
        write_dataset(Path(tmp), sphere_cameras(args.views, args.size))
        config = {
            "data": tmp,
            "resolution": args.size,
            "steps": 1_000_000,  # cancelled long before
            "init_points": args.gaussians,
            "max_splats": args.gaussians,
            "init_extent": 1.0,  # the scene's cube: the silhouettes keep enough of it for every point
            "densify_from": 1_000_000,
            "opacity_reset_every": 0,
            "snapshot_every": 1,
        }
        runs: dict[str, list[RunFigures]] = {"baseline": [], **{f"{rate:g}": [] for rate in args.rates}}
        for _ in range(args.repeats):  # alternate, so background load hits every setting alike
            runs["baseline"].append(run_engine(RuntimeOptions(snapshot_rate_hz=0), config, args.warmup, args.seconds, 2.0))
            for rate in args.rates:
                options = RuntimeOptions(snapshot_rate_hz=rate, snapshot_budget=None)
                runs[f"{rate:g}"].append(run_engine(options, config, args.warmup, args.seconds, POLL_HZ))

    baseline = statistics.median(r.steps_per_s for r in runs["baseline"])
    rates = {}
    for rate in args.rates:
        figures = runs[f"{rate:g}"]
        steps = statistics.median(r.steps_per_s for r in figures)
        rates[f"{rate:g}"] = {
            "steps_per_s": round(steps, 2),
            "cost_pct": round(100 * (1 - steps / baseline), 1),
            "snapshots_per_s": round(statistics.median(r.snapshots_per_s for r in figures), 2),
            "repeats_steps_per_s": [round(r.steps_per_s, 2) for r in figures],
        }
    splats = runs["baseline"][0].splats
    print(json.dumps({
        "bench": "streaming",
        "compares": (
            "steps/s of the reconstruct engine streaming snapshots at a fixed requested rate (no budget, one "
            "offered every step, a consumer polling at 60 Hz) vs the same engine with no snapshots and no consumer; "
            "cost_pct = 1 - streaming/baseline; snapshots_per_s = received by the consumer (at most one per step)"
        ),
        "gaussians": splats,
        "sh_degree": 3,
        "snapshot_mb": round(splats * (3 + 3 + 4 + 1 + 16 * 3) * 4 / 1e6, 1),
        "image": f"{args.size}x{args.size}",
        "seconds_per_run": args.seconds,
        "baseline_steps_per_s": round(baseline, 2),
        "baseline_repeats_steps_per_s": [round(r.steps_per_s, 2) for r in runs["baseline"]],
        "rates": rates,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
