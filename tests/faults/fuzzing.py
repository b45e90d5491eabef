"""The machinery of the property-based reader fuzzing: the hypothesis settings, the memory bound a
reader must keep, reading hostile bytes (one file or a set of files) and the generic mutations.

The fuzz tests run a fixed (derandomized) set of examples so CI stays fast and repeatable. A longer
campaign runs the same properties with more examples and a random seed, e.g.
``A4D_FUZZ_EXAMPLES=5000 pytest tests/faults/test_fuzz_meshes.py -p no:cacheprovider``.
"""

from __future__ import annotations

import os
import tempfile
import tracemalloc
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from scene.io import FormatError, load
from tests.faults import report

EXAMPLES = int(os.environ.get("A4D_FUZZ_EXAMPLES", "40"))
"""Examples per fuzz test: 40 in CI, more for a campaign."""

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=EXAMPLES <= 40,  # CI: the same examples every run; a long campaign explores
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""The settings of every fuzz test."""

MEMORY_RATIO = 64
"""A reader may hold this many times the bytes it was given..."""

MEMORY_SLACK = 8 << 20
"""...plus this much, whatever the input (scratch: buffers of 1 MB copies, imports)."""

Reader = Callable[[Path], object]
Files = Mapping[str, bytes]
"""A set of files by their path relative to a folder (``"train/r_0.png"``)."""


@contextmanager
def written(files: Files) -> Iterator[Path]:
    """A fresh folder holding ``files``, removed after."""
    with tempfile.TemporaryDirectory() as folder:
        for name, data in files.items():
            path = Path(folder) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        yield Path(folder)


def read_or_error(path: Path, reader: Reader | None = None) -> object:
    """What ``reader`` (``scene.io.load``) makes of ``path``: the payload, or the FormatError it
    raised, which must be one line; any other exception escapes (the defect fuzzing looks for)."""
    try:
        return (reader or load)(path)
    except FormatError as exc:
        assert "\n" not in str(exc), str(exc)
        return exc


def within_memory(
    data: bytes | Files, suffix: str, reader: Reader | None = None, target: str | None = None, ratio: float = MEMORY_RATIO
) -> object:
    """``data`` read by ``reader`` (see ``read_or_error``) under tracemalloc, asserting that the peak
    stays within ``ratio`` times the input's bytes plus ``MEMORY_SLACK``. ``data`` is one
    file's bytes (read as ``fuzz<suffix>``), or a set of files (an OBJ and its companions, a dataset)
    of which ``target`` is read (None: the folder itself); their total is the input's size.
    ``suffix`` names the reader in the fault report."""
    if isinstance(data, bytes):
        data, target = {f"fuzz{suffix}": data}, f"fuzz{suffix}"
    size = sum(len(content) for content in data.values())
    with written(data) as folder:
        tracemalloc.start()
        try:
            result = read_or_error(folder / (target or ""), reader)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    report.tried(f"read {suffix}", "fuzz")
    report.measured(suffix, size, peak)
    assert peak <= ratio * size + MEMORY_SLACK, f"{peak} bytes for {size} bytes of input"
    return result


def mutate(data: bytes, draw) -> bytes:
    """A truncation, byte flips, a number in the text made huge, a type name changed, or junk
    appended: what a broken disk or a hostile author makes of a file."""
    choice = draw(st.sampled_from(["truncate", "flip", "huge", "type", "junk"]))
    if choice == "truncate":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if choice == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if choice == "huge":
        digits = [i for i, byte in enumerate(data[:400]) if chr(byte).isdigit()]
        if not digits:
            return data
        at = draw(st.sampled_from(digits))
        return data[:at] + str(draw(st.sampled_from([2**31 - 1, 2**32, 10**12, 2**63]))).encode() + data[at + 1 :]
    if choice == "type":
        for old in (b"float", b"uchar", b"int"):
            if old in data[:2000]:
                new = draw(st.sampled_from([b"double", b"char", b"list uchar int", b"string", b"uint"]))
                return data.replace(old, new, draw(st.integers(1, 3)))
        return data
    return data + draw(st.binary(max_size=64))


def json_values():
    """Any JSON value, nested a little: what a hand-edited or hostile file may put in a field."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8))
    return st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
