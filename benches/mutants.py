"""Mutation testing of the core modules: how many small breakages of each does the suite catch?

Runs mutmut (configured in pyproject.toml's ``[tool.mutmut]``: the core modules and the tests that
guard them) and prints one JSON line per module: mutants, killed, survived, timed out (the tests
ran past their time: the mutant is caught), no tests (no selected test calls the function) and the
score, ``(killed + timed out) / mutants``. The target is a score of at least 0.9 on every module.

    .venv/bin/python benches/mutants.py                      # every core module (an hour or more here)
    .venv/bin/python benches/mutants.py scene/undo.py ...    # just these modules
    .venv/bin/python benches/mutants.py --report             # the last run's figures, nothing run
    .venv/bin/python benches/mutants.py --survivors ...      # also list each survivor (stderr)

Results are kept in ``mutants/``: a run tests again only the mutants no earlier run caught (and
those of changed functions); ``--fresh`` starts over. ``.venv/bin/mutmut show NAME`` prints a survivor's diff.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from mutmut.stats import status_by_exit_code  # mutmut's verdict for each exit code of a mutant's run

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
CAUGHT = {"killed", "timeout"}



def core_modules() -> list[str]:
    """The modules pyproject.toml lists for mutation."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def run_mutmut(modules: list[str], jobs: int | None = None) -> None:
    """Test the mutants of ``modules`` that no earlier run caught (all of them the first time).

    A caught mutant stays caught as tests are added; ``--fresh`` re-judges everything, as a final
    figure should. mutmut re-makes the mutants of functions whose code changed while it runs, so
    the mutants it made then (not known before) get a second call.
    """
    if set(modules) == set(core_modules()) and not any(module_results(m) for m in modules):
        _mutmut([], jobs)  # a first whole run: mutmut's plain run, which orders mutants by speed
        return
    tried: set[str] = set()
    while True:
        names = []
        for module in modules:
            results = module_results(module)
            pattern = module.removesuffix(".py").replace("/", ".") + ".*"
            if not results and pattern not in tried:
                names.append(pattern)
            names += [name for name, status in results.items() if status not in CAUGHT and name not in tried]
        if not names:
            return
        _mutmut(names, jobs)
        tried.update(names)


def _mutmut(names: list[str], jobs: int | None) -> None:
    # One OpenMP thread: mutmut forks a worker per mutant, and a forked libgomp pool can hang.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XDG_CACHE_HOME": str(ROOT / ".cache")}
    limit = ["--max-children", str(jobs)] if jobs else []
    subprocess.run([sys.executable, "-m", "mutmut", "run", *limit, *names], cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL, check=True)


def module_results(module: str) -> dict[str, str]:
    """Each mutant of ``module`` and its verdict, from mutmut's record of the last run."""
    meta = MUTANTS / f"{module}.meta"
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def summary(module: str, results: dict[str, str]) -> dict:
    counts = {status: sum(1 for s in results.values() if s == status)
              for status in ("killed", "survived", "timeout", "no tests", "suspicious", "not checked")}
    total = len(results)
    caught = sum(1 for s in results.values() if s in CAUGHT)
    return {"bench": "mutants", "module": module, "mutants": total, "killed": counts["killed"],
            "survived": counts["survived"], "timed_out": counts["timeout"], "no_tests": counts["no tests"],
            "suspicious": counts["suspicious"], "not_checked": counts["not checked"],
            "score": round(caught / total, 4) if total else None, "target": 0.9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="paths as in pyproject's only_mutate (default: all)")
    parser.add_argument("--report", action="store_true", help="print the last run's figures without running")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants on stderr")
    parser.add_argument("--jobs", type=int, help="mutants tested at once (default: one per CPU)")
    args = parser.parse_args()
    known = core_modules()
    modules = args.modules or known
    unknown = sorted(set(modules) - set(known))
    if unknown:
        parser.error(f"not a core module in pyproject.toml: {', '.join(unknown)}")
    if args.fresh:
        shutil.rmtree(MUTANTS, ignore_errors=True)
    started = time.perf_counter()
    if not args.report:
        run_mutmut(modules, args.jobs)
    for module in modules:
        results = module_results(module)
        print(json.dumps({**summary(module, results), "run_seconds": round(time.perf_counter() - started)}))
        if args.survivors:
            for name, status in sorted(results.items()):
                if status not in CAUGHT:
                    print(f"  {status}: {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
