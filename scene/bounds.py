"""Robust bounds: the box around the dense part of a layer, ignoring stray floaters.

Splat captures and generations often leave a few splats far from the subject; a plain bounding box
then frames mostly empty space. The dense box keeps, along each axis, the values between the
``tail`` and ``1 - tail`` quantiles of the layer's sample positions (for splats their centres,
weighted by opacity, so that faint haze counts little). Kinds without samples (meshes, which have
no floaters to speak of) use their plain bounds. Turntables frame this box, in the studio and in
``atelier4d render`` alike.
"""

from __future__ import annotations

import numpy as np

from scene.document import Document, Layer

TAIL = 0.01
"""The share of the weight left out at each end of each axis."""
MAX_SAMPLES = 50_000
"""More samples than this are thinned evenly: the quantiles barely move (framing needs no more) and a
million splats take milliseconds, so framing never stalls the window."""


def dense_box(
    positions: np.ndarray,  # [N, 3]
    weights: np.ndarray | None = None,  # [N], >= 0; None: all equal
    tail: float = TAIL,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis weighted ``tail`` and ``1 - tail`` quantiles of ``positions``: the box of the dense part.

    Returns ``(min, max)``, float64 ``[3]`` each; a box of zeros for no positions, the plain bounds
    when every weight is zero.
    """
    if not 0.0 <= tail < 0.5:
        raise ValueError(f"dense_box: tail must be in [0, 0.5), got {tail}")
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    if len(positions) == 0:
        return np.zeros(3), np.zeros(3)
    weights = np.ones(len(positions)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    step = max(1, len(positions) // MAX_SAMPLES)
    positions, weights = positions[::step], weights[::step]
    if not weights.sum() > 0.0:
        return positions.min(axis=0), positions.max(axis=0)
    lo, hi = np.empty(3), np.empty(3)
    for axis in range(3):
        order = np.argsort(positions[:, axis], kind="stable")
        values, cumulative = positions[order, axis], np.cumsum(weights[order])
        total = cumulative[-1]
        lo[axis] = values[np.searchsorted(cumulative, tail * total, side="right").clip(0, len(values) - 1)]
        hi[axis] = values[np.searchsorted(cumulative, (1.0 - tail) * total, side="left").clip(0, len(values) - 1)]
    return lo, hi


def layer_dense_box(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """The dense box of ``layer`` in world space (its transform applied to the samples, not to a box)."""
    kind = layer.payload_kind
    if kind.samples is None:
        return layer.world_bounds()
    positions, weights = kind.samples(layer.data, max(1, kind.count(layer.data) // MAX_SAMPLES))
    m = layer.transform.matrix()
    return dense_box(np.asarray(positions, dtype=np.float64) @ m[:3, :3].T + m[:3, 3], weights)


def document_dense_box(document: Document, layers: list[Layer] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The union of the dense boxes of ``layers`` (default: the visible ones); None when there is nothing."""
    chosen = [layer for layer in document.layers if layer.visible] if layers is None else layers
    boxes = [box for box in map(layer_dense_box, chosen) if np.isfinite(box[0]).all() and np.isfinite(box[1]).all()]
    if not boxes:
        return None
    return np.min([lo for lo, _ in boxes], axis=0), np.max([hi for _, hi in boxes], axis=0)
