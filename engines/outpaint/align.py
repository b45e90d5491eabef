"""Fitting a depth estimate to the scene so far: a robust scale and shift.

A monocular depth model knows depth only up to a scale and a shift (in disparity, for the relative
models), so each new view's estimate is fitted to the depth rendered from the scene on the pixels the
scene already covers. Some of those disagree wildly (the estimator is wrong there, or the render is
smeared), so the line is fitted by iteratively reweighted least squares: Huber weights first (a convex
problem with a single minimum, safe to start from the plain fit), then Tukey's biweight (which ignores
gross outliers altogether), then plain least squares on the inliers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

DepthKind = Literal["disparity", "metric"]  # engines.priors.depth.DepthMap.kind

_MAD_TO_SIGMA = 1.4826  # the median absolute deviation of a normal distribution, in standard deviations
_HUBER = 1.345  # Huber's and Tukey's tuning constants (in robust standard deviations): 95% efficient
_TUKEY = 4.685
_INLIER = 3.0  # residuals within this many robust standard deviations count as inliers
_MEDIAN_SAMPLES = 65536  # residuals sampled for their spread: its relative error is about 0.5%
MIN_PIXELS = 16  # fewer known pixels than this cannot anchor a fit


@dataclass(frozen=True)
class ScaleShift:
    """``y ≈ scale * x + shift``, fitted on the ``inliers`` ``[N]`` (bool) of the samples."""

    scale: float
    shift: float
    inliers: Tensor


@dataclass(frozen=True)
class DepthAlignment:
    """An estimate brought to the scene's depth: ``depth`` ``[H, W]`` everywhere, the fit that made it,
    and ``inliers`` ``[H, W]``: the known pixels that agreed with the fit."""

    depth: Tensor
    fit: ScaleShift
    inliers: Tensor


def _weighted_line(x: Tensor, y: Tensor, w: Tensor) -> tuple[float, float]:
    """The weighted least-squares line through ``(x, y)``."""
    sw, sx, sy = w.sum(), (w * x).sum(), (w * y).sum()
    sxx, sxy = (w * x * x).sum(), (w * x * y).sum()
    det = sw * sxx - sx * sx
    if sw <= 0 or det <= 1e-12 * sw * sw * max(float(sxx / sw), 1e-300):
        raise ValueError("The depth estimate is flat where the scene is known: there is nothing to fit it to")
    scale = (sw * sxy - sx * sy) / det
    return float(scale), float((sy - scale * sx) / sw)


def _robust_sigma(residuals: Tensor, floor: float) -> float:
    """The residuals' spread from their median absolute value (unmoved by outliers), at least ``floor``.

    The median is taken over an even sample of at most ``_MEDIAN_SAMPLES``: as good, and much faster.
    """
    step = max(1, len(residuals) // _MEDIAN_SAMPLES)
    return max(_MAD_TO_SIGMA * float(residuals[::step].abs().median()), floor)


def _huber(r: Tensor, sigma: float) -> Tensor:
    return (_HUBER * sigma / r.abs().clamp(min=1e-30)).clamp(max=1.0)


def _tukey(r: Tensor, sigma: float) -> Tensor:
    return (1.0 - (r / (_TUKEY * sigma)) ** 2).clamp(min=0.0) ** 2


def fit_scale_shift(
    x: Tensor,  # [N] estimated values
    y: Tensor,  # [N] reference values
    *,
    iterations: int = 10,
    tolerance: float = 1e-7,
) -> ScaleShift:
    """The robust line ``y ≈ scale * x + shift``: up to ``iterations`` Huber steps, as many Tukey steps
    (each stage stops once the line moves less than ``tolerance``, relative), then least squares on the
    inliers (residual within 3 robust standard deviations)."""
    if x.shape != y.shape or x.dim() != 1:
        raise ValueError(f"fit_scale_shift: x {tuple(x.shape)} and y {tuple(y.shape)} must be the same [N]")
    if len(x) < MIN_PIXELS:
        raise ValueError(
            f"Too little of the scene is in view to place the new depth ({len(x)} pixels, need {MIN_PIXELS})"
        )
    x, y = x.double(), y.double()  # float64 sums: millions of pixels
    floor = 1e-9 * float(y.abs().mean()) + 1e-30  # exact data: stop the weights dividing by zero
    size = float(y.abs().mean()) + 1e-30  # the shift's scale, to judge its change
    line = _weighted_line(x, y, torch.ones_like(y))
    for weigh in (_huber, _tukey):
        for _ in range(iterations):
            r = y - (line[0] * x + line[1])
            previous, line = line, _weighted_line(x, y, weigh(r, _robust_sigma(r, floor)))
            moved = abs(line[0] - previous[0]) / max(abs(line[0]), 1e-30) + abs(line[1] - previous[1]) / size
            if moved < tolerance:
                break
    r = y - (line[0] * x + line[1])
    inliers = r.abs() <= _INLIER * _robust_sigma(r, floor)
    scale, shift = _weighted_line(x, y, inliers.double())
    return ScaleShift(scale, shift, inliers)


def align_depth(
    estimate: Tensor,  # [H, W] the depth model's output
    kind: DepthKind,
    rendered: Tensor,  # [H, W] z-depth of the scene so far
    known: Tensor,  # [H, W] bool, pixels where ``rendered`` is trustworthy
    *,
    depth_range: tuple[float, float] | None = None,
) -> DepthAlignment:
    """The z-depth ``[H, W]`` of ``estimate`` after the robust scale and shift that best matches it to
    ``rendered`` on the ``known`` pixels.

    Disparity is fitted as disparity (against ``1 / rendered``: it is affine in disparity that the
    relative models are right) and then inverted; metric depth is fitted as depth. The result is clamped
    to ``depth_range`` (None: a tenth of the nearest known depth to ten times the farthest), which also
    gives a finite depth to what the estimate puts at infinity, such as the sky.
    """
    if not (estimate.shape == rendered.shape == known.shape) or estimate.dim() != 2:
        raise ValueError(
            f"align_depth: estimate {tuple(estimate.shape)}, rendered {tuple(rendered.shape)} and known "
            f"{tuple(known.shape)} must be the same [H, W]"
        )
    if kind not in ("disparity", "metric"):
        raise ValueError(f"align_depth: unknown depth kind {kind!r}")
    known = known & torch.isfinite(rendered) & (rendered > 0) & torch.isfinite(estimate)
    target = rendered[known]
    if depth_range is None:
        if len(target) == 0:
            raise ValueError("Nothing of the scene is in view to place the new depth against")
        depth_range = (0.1 * float(target.min()), 10.0 * float(target.max()))
    near, far = depth_range
    if kind == "disparity":
        fit = fit_scale_shift(estimate[known], 1.0 / target)
        depth = 1.0 / (fit.scale * estimate + fit.shift).clamp(min=1.0 / far)
    else:
        fit = fit_scale_shift(estimate[known], target)
        depth = fit.scale * estimate + fit.shift
    inliers = torch.zeros_like(known)
    inliers[known] = fit.inliers
    return DepthAlignment(depth.clamp(near, far), fit, inliers)
