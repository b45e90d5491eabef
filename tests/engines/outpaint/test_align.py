"""Robust scale-and-shift alignment of a depth estimate to the scene's rendered depth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engines.outpaint import align_depth, fit_scale_shift

H, W = 60, 80
F64 = torch.float64


def scene_depth() -> torch.Tensor:
    """A room-like depth: a receding floor-ish plane with a box and some waves, 1.5 to 6."""
    v, u = torch.meshgrid(torch.arange(H, dtype=F64), torch.arange(W, dtype=F64), indexing="ij")
    depth = 1.0 / (0.18 + 0.004 * v + 0.002 * u) + 0.2 * torch.sin(u / 6.0)
    depth[20:40, 30:50] -= 1.0
    return depth


def corrupt(values: torch.Tensor, noise: float, outliers: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``values`` with relative Gaussian noise and a share of pixels replaced by random values in their
    range; returns them and the mask of the replaced pixels."""
    g = torch.Generator().manual_seed(seed)
    noisy = values * (1.0 + noise * torch.randn(values.shape, generator=g, dtype=F64))
    bad = torch.rand(values.shape, generator=g, dtype=F64) < outliers
    low, high = float(values.min()), float(values.max())
    noisy[bad] = low + (high - low) * torch.rand(int(bad.sum()), generator=g, dtype=F64)
    return noisy, bad


def known_region() -> torch.Tensor:
    known = torch.ones(H, W, dtype=torch.bool)
    known[:, 55:] = False  # the hole: the view turned right
    return known


def test_fit_recovers_scale_and_shift_under_noise_and_outliers():
    truth = scene_depth()
    scale, shift = 2.5, -0.8
    estimate, bad = corrupt((truth - shift) / scale, noise=0.01, outliers=0.2)
    known = known_region()
    result = align_depth(estimate, "metric", truth, known)
    assert result.fit.scale == pytest.approx(scale, rel=0.01)
    assert result.fit.shift == pytest.approx(shift, abs=0.01 * float(truth.mean()))
    assert float(bad[known].float().mean()) > 0.18  # the outliers were there ...
    caught = (~result.inliers & known & bad).sum() / (known & bad).sum()
    assert float(caught) > 0.9  # ... and were left out
    assert float((result.inliers & ~bad).sum() / (known & ~bad).sum()) > 0.97
    hole, clean = ~known, ~bad & ~known
    assert float(((result.depth - truth).abs() / truth)[hole & clean].median()) < 0.01
    # a plain least-squares fit would be far off: the outliers matter
    plain_scale, _ = np.polyfit(estimate[known].numpy(), truth[known].numpy(), 1)
    assert abs(plain_scale / scale - 1) > 0.1


def test_disparity_is_fitted_as_disparity_and_inverted():
    truth = scene_depth()
    scale, shift = 0.05, 0.1  # inverse depth = scale * disparity + shift
    disparity, bad = corrupt((1.0 / truth - shift) / scale, noise=0.01, outliers=0.2, seed=1)
    known = known_region()
    result = align_depth(disparity, "disparity", truth, known)
    assert result.fit.scale == pytest.approx(scale, rel=0.01)
    assert result.fit.shift == pytest.approx(shift, abs=0.01 * float((1.0 / truth).mean()))
    assert float(((result.depth - truth).abs() / truth)[~known & ~bad].median()) < 0.01


def test_disparity_at_infinity_gets_the_far_limit():
    truth = scene_depth()
    disparity = 1.0 / truth
    disparity[:5, 70:] = -0.01  # the sky, past infinity once aligned
    result = align_depth(disparity, "disparity", truth, known_region(), depth_range=(0.5, 50.0))
    assert torch.all(result.depth[:5, 70:] == 50.0)
    torch.testing.assert_close(result.depth[5:], truth[5:])


def test_exact_data_fits_exactly():
    x = torch.linspace(0.0, 1.0, 100, dtype=F64)
    fit = fit_scale_shift(x, 3.0 * x + 2.0)
    assert fit.scale == pytest.approx(3.0, rel=1e-12) and fit.shift == pytest.approx(2.0, rel=1e-12)
    assert bool(fit.inliers.all())


def test_too_little_to_fit_is_refused_clearly():
    truth = scene_depth()
    known = torch.zeros(H, W, dtype=torch.bool)
    known[0, :5] = True
    with pytest.raises(ValueError, match="Too little of the scene"):
        align_depth(truth, "metric", truth, known)
    with pytest.raises(ValueError, match="flat"):
        align_depth(torch.ones(H, W, dtype=F64), "metric", truth, known_region())
