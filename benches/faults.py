"""The fault-injection report (#17): the whole fault suite (``tests/faults``) run as a campaign, with more
fuzz examples per reader and more random kill points per writer and generator than CI runs, from a
fixed seed. Prints one JSON line: the cases tried per command, the faults injected, the promises broken
(failed checks: target 0, each named), and the largest memory-to-file ratio of any reader on files of a
megabyte or more (small files are dominated by the fixed allowance every read has).

Run: ``xvfb-run -a .venv/bin/python benches/faults.py [--examples 200] [--kills 3] [--window 12] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIG_FILE = 1 << 20
"""Reads of files at least this big count for the memory-to-file ratio."""


class Outcomes:
    """A pytest plugin keeping each test's outcome."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.outcomes: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed.append(f"{report.nodeid} ({report.when})")
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.outcome] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="fuzz examples per reader property")
    parser.add_argument("--kills", type=int, default=3, help="random kill moments per writer and generator")
    parser.add_argument("--window", type=float, default=12.0,
                        help="seconds of a generator's run its kill moments fall in (CI: its first 4, start-up and loading)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the fuzzing and of the kill moments")
    args = parser.parse_args()
    os.environ.update(
        A4D_FUZZ_EXAMPLES=str(args.examples), A4D_FAULT_KILLS=str(args.kills), A4D_FAULT_WINDOW_S=str(args.window),
        A4D_FAULT_SEED=str(args.seed),
    )
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from tests.faults import report

    outcomes = Outcomes()
    start = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):  # pytest's progress goes to stderr: stdout is the JSON line
        pytest.main(["tests/faults", "-q", "-p", "no:cacheprovider", f"--hypothesis-seed={args.seed}"], plugins=[outcomes])
    by_command: Counter[str] = Counter()
    by_fault: Counter[str] = Counter()
    for (command, fault), count in report.CASES.items():
        by_command[command] += count
        by_fault[fault] += count
    big = [read for read in report.READS if read.size >= BIG_FILE]
    worst = max(big, key=lambda read: read.peak / read.size, default=None)
    print(json.dumps({
        "bench": "faults",
        "cases": sum(by_command.values()),
        "cases_per_command": dict(sorted(by_command.items())),
        "faults": dict(sorted(by_fault.items())),
        "broken_promises": len(outcomes.failed),
        "broken": outcomes.failed,
        "tests": dict(outcomes.outcomes),
        "max_memory_to_file_ratio": round(worst.peak / worst.size, 2) if worst else None,
        "worst_reader": f"{worst.reader} ({worst.size} bytes)" if worst else None,
        "reads_measured": len(report.READS),
        "examples": args.examples, "kills": args.kills, "window_s": args.window, "seed": args.seed,
        "seconds": round(time.monotonic() - start, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.machine()},
    }))


if __name__ == "__main__":
    main()
