"""What the fault suite tried, for ``benches/faults.py``: each test records the cases it injects (the
command, the fault) and each reader's peak memory for a file's size. The bench runs the suite in its
own process, with more examples and kill points, and reads these after; in CI they are only counted."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

CASES: Counter[tuple[str, str]] = Counter()
"""How many times each (command, fault) was tried."""


class Read(NamedTuple):
    reader: str
    size: int
    peak: int


READS: list[Read] = []
"""Every measured read: the reader (a file suffix or a reader's name), the file's bytes, the peak bytes held."""


def tried(command: str, fault: str, count: int = 1) -> None:
    """Record ``count`` cases of ``fault`` injected into ``command`` (e.g. "convert .ply", "full disk")."""
    CASES[command, fault] += count


def measured(reader: str, size: int, peak: int) -> None:
    """Record that ``reader`` held at most ``peak`` bytes reading a file of ``size`` bytes."""
    READS.append(Read(reader, size, peak))
