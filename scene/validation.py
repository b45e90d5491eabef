"""Shape, dtype and finiteness checks shared by the scene's array containers."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def as_array(
    name: str,
    value: object,
    dtype: type | np.dtype,
    shape: Sequence[int | None],
    finite: bool = True,
) -> np.ndarray:
    """``value`` as a contiguous array of ``dtype`` whose shape matches ``shape`` (None = any).

    Raises ValueError naming ``name`` when the shape or the values are wrong; this is the
    message an artist or a pipeline sees, so it says what was expected and what was found.
    """
    try:
        array = np.ascontiguousarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be read as {np.dtype(dtype).name} ({exc})") from None
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        wanted = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        raise ValueError(f"{name}: expected shape {wanted}, got {list(array.shape)}")
    if finite and np.issubdtype(array.dtype, np.floating) and array.size and not _all_finite(array):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(f"{name}: {bad} value(s) are NaN or infinite")
    return array


def _all_finite(array: np.ndarray) -> bool:
    """Whether no value is NaN or infinite, without a temporary the size of ``array``: min and max
    propagate NaN, and an infinity is one of them."""
    return bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def same_length(owner: str, **arrays: np.ndarray) -> int:
    """The common first dimension of ``arrays``; ValueError naming the odd one out."""
    lengths = {name: len(a) for name, a in arrays.items()}
    first = next(iter(lengths.values()))
    for name, length in lengths.items():
        if length != first:
            detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
            raise ValueError(f"{owner}: arrays disagree on the element count ({detail})")
    return first


def axis_bounds(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read-only axis-aligned bounds ``(min, max)`` of ``points [N, 3]``; zeros when there are none."""
    if not len(points):
        lo, hi = np.zeros(3, np.float32), np.zeros(3, np.float32)
    else:
        lo, hi = points.min(axis=0), points.max(axis=0)
    lo.setflags(write=False)
    hi.setflags(write=False)
    return lo, hi
