"""Priors bench: per prior, its model's load time cold and warm and its step time, on tiny models on CPU.

Tiny random-weight models of every role are built in the real folder layouts
(``tests/tiny_models.py``) and chosen through the worker settings, so the real path runs: fetch
(folder checks), load as the real diffusers/transformers classes, the prior's step. For each role
a worker runs the ``bench_prior`` engine (``benches/prior_engine.py``) twice in one job manager:

* ``cold_load_s``: the first run's model load (fetch + from_pretrained) inside the worker;
* ``warm_load_s``: the second run's, in the same warm worker (the model comes from its cache);
* ``warm_first_step_s``: from submitting the second run to its first step done, the claim of
  issue 13 (target: under 1 s);
* ``step_s``: one use of the prior (an SDS loss and backward at 64 px, a 2-step generation...).

The weights are random and tiny: these time the machinery, not the real models (a GPU run of the
full-size SD UNet is ``benches/sds_gpu.py``). Prints one JSON line.

    python benches/priors.py [--roles text depth ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.tiny_models

import prior_engine  # noqa: E402,F401  (benches/prior_engine.py: registers "bench_prior")

from engines.models import ROLES  # noqa: E402
from engines.runtime import JobManager, Log, Progress, RuntimeOptions, WorkerSettings  # noqa: E402
from tests.tiny_models import tiny_model  # noqa: E402


def run(manager: JobManager, role: str, settings: WorkerSettings, steps: int) -> dict:
    """One run of bench_prior: its load time, the time to its first step, its step time."""
    submitted = time.monotonic()
    job = manager.submit("bench_prior", {"role": role, "steps": steps}, settings=settings)
    first_step_at = None
    progress: list[Progress] = []
    load_s = None
    while True:
        state = manager.wait(job, 0.005)
        for update in manager.poll().values():
            for event in update.events:
                if isinstance(event, Log) and event.text.startswith("load_s="):
                    load_s = float(event.text.split("=")[1])
                if isinstance(event, Progress):
                    progress.append(event)
                    if first_step_at is None:
                        first_step_at = time.monotonic()
        if state.is_terminal:
            break
    info = manager.info(job)
    if info.error is not None:
        raise RuntimeError(f"{role}: {info.error.message}")
    step_s = (progress[-1].elapsed_s - progress[0].elapsed_s) / (len(progress) - 1) if len(progress) > 1 else None
    return {"load_s": load_s, "first_step_s": first_step_at - submitted, "step_s": step_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--roles", nargs="+", default=list(ROLES), choices=list(ROLES))
    parser.add_argument("--steps", type=int, default=4, help="uses of the prior per run (step time over them)")
    args = parser.parse_args()
    report: dict = {"bench": "priors", "device": "cpu", "models": "tiny random-weight, real classes and layouts", "roles": {}}
    with tempfile.TemporaryDirectory(prefix="atelier4d-priors-") as tmp:
        for role in args.roles:
            folder = tiny_model(role, Path(tmp))
            settings = WorkerSettings(model_choices=((role, str(folder)), ("text", str(tiny_model("text", Path(tmp))))), offline=True)
            manager = JobManager(RuntimeOptions(snapshot_rate_hz=0))
            try:
                cold = run(manager, role, settings, args.steps)
                warm = run(manager, role, settings, args.steps)
            finally:
                manager.shutdown()
            report["roles"][role] = {
                "cold_load_s": round(cold["load_s"], 3),
                "warm_load_s": round(warm["load_s"], 4),
                "cold_first_step_s": round(cold["first_step_s"], 2),
                "warm_first_step_s": round(warm["first_step_s"], 3),
                "step_s": round(warm["step_s"], 3) if warm["step_s"] else None,
            }
    report["warm_first_step_under_1s"] = all(r["warm_first_step_s"] < 1.0 for r in report["roles"].values())
    report.update(cpus=os.cpu_count(), load_avg_1m=round(os.getloadavg()[0], 2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
