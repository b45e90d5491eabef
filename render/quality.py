"""Adaptive resolution: fewer pixels while the camera moves, all of them once it rests.

Fill rate dominates splat rendering on slow GPUs, so frame time scales with the pixel count. The
controller keeps an estimate of what a full-resolution frame costs (each measured frame divided
by its pixel fraction, smoothed) and, while the view moves, picks the largest scale whose
predicted time fits the budget, as nerfstudio's viewer does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STEPS = 16  # scales are multiples of 1/16


@dataclass
class AdaptiveResolution:
    """Chooses the render scale (0-1 of each side) for the next frame."""

    budget_ms: float = 80.0  # target frame time while moving (80 ms: 12 fps with headroom)
    min_scale: float = 0.25
    smoothing: float = 0.5  # weight of the newest measurement in the estimate
    full_frame_ms: float | None = None  # current estimate of a full-resolution frame

    def scale(self, moving: bool) -> float:
        """Full resolution at rest or while frames are cheap; otherwise the scale that fits the budget."""
        if not moving or self.full_frame_ms is None or self.full_frame_ms <= self.budget_ms:
            return 1.0
        fit = math.sqrt(self.budget_ms / self.full_frame_ms)
        return max(self.min_scale, math.floor(fit * STEPS) / STEPS)  # few sizes: few reallocations

    def record(self, scale: float, frame_ms: float) -> None:
        """Report how long a frame at ``scale`` took."""
        estimate = frame_ms / max(scale * scale, 1e-6)
        if self.full_frame_ms is None:
            self.full_frame_ms = estimate
        else:
            self.full_frame_ms += self.smoothing * (estimate - self.full_frame_ms)
