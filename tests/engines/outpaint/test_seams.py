"""Seam correction: new depth meets the old at a hole's border and keeps its own shape inside."""

from __future__ import annotations

import pytest
import torch

from engines.outpaint import align_depth, harmonic_fill, stitch_depth

H, W = 48, 96
SEAM = 40  # columns < SEAM are known, the rest is the hole
F64 = torch.float64


def grid() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.meshgrid(torch.arange(H, dtype=F64), torch.arange(W, dtype=F64), indexing="ij")


def scene_and_estimate() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The true depth (a slanted wall with a box far inside the hole), the depth model's estimate of it
    (scaled, shifted, and bent by a smooth error a global fit cannot remove), and the known mask."""
    v, u = grid()
    truth = 2.0 + 0.02 * u + 0.03 * v
    truth[18:30, 75:87] -= 0.8  # the box
    bend = 0.06 * torch.sin(v / 9.0) + 0.4 * (u / W) ** 2
    estimate = (truth + bend - 0.5) / 2.0
    known = torch.zeros(H, W, dtype=torch.bool)
    known[:, :SEAM] = True
    return truth, estimate, known


def seam_steps(depth: torch.Tensor) -> torch.Tensor:
    """Per row, how much steeper the depth is across the seam than on either side of it (a step)."""
    across = (depth[:, SEAM] - depth[:, SEAM - 1]).abs()
    beside = torch.maximum((depth[:, SEAM - 1] - depth[:, SEAM - 2]).abs(), (depth[:, SEAM + 1] - depth[:, SEAM]).abs())
    return across - beside


def test_stitched_depth_meets_the_scene_at_the_seam_and_follows_the_estimate_inside():
    truth, estimate, known = scene_and_estimate()
    aligned = align_depth(estimate, "metric", truth, known)
    before = torch.where(known, truth, aligned.depth)
    assert float(seam_steps(before).max()) > 0.05  # a visible step without the correction
    reach = 24.0
    stitched = stitch_depth(aligned.depth, truth, known, trusted=aligned.inliers, reach=reach)
    assert torch.equal(stitched[known], truth[known])
    assert float(seam_steps(stitched).max()) < 0.005  # the surface's own slope is 0.02 a pixel
    band = stitched[:, SEAM - 4 : SEAM + 8]
    assert float((band[:, 1:] - band[:, :-1]).abs().max()) < 0.05  # nor a crack just beside the seam
    inside = slice(SEAM + int(reach), W)
    torch.testing.assert_close(stitched[:, inside], aligned.depth[:, inside], atol=2e-3, rtol=0)
    box_step = stitched[24, 74] - stitched[24, 75]
    assert float(box_step) == pytest.approx(0.8, rel=0.02)


def test_a_small_hole_is_corrected_across():
    v, u = grid()
    truth = 3.0 + 0.01 * u + 0.005 * v
    known = (u - 50) ** 2 + (v - 24) ** 2 > 5**2
    aligned = truth + 0.2 + 0.002 * v  # the fit left an offset and a slight tilt
    stitched = stitch_depth(aligned, truth, known, reach=24.0)
    assert float((stitched - truth).abs().max()) < 0.005


def test_harmonic_fill_keeps_known_values_and_fills_within_their_range():
    v, u = grid()
    values = torch.sin(u / 9.0) + torch.cos(v / 5.0)
    weights = (torch.rand(H, W, generator=torch.Generator().manual_seed(0), dtype=F64) < 0.1).to(F64)
    filled = harmonic_fill(values, weights)
    known = weights > 0
    torch.testing.assert_close(filled[known], values[known])
    assert values[known].min() <= filled.min() and filled.max() <= values[known].max()
    constant = torch.full((H, W), 2.5, dtype=F64)
    torch.testing.assert_close(harmonic_fill(constant, weights), constant)


def test_nothing_trusted_leaves_the_aligned_depth():
    truth, estimate, known = scene_and_estimate()
    stitched = stitch_depth(estimate, truth, known, trusted=torch.zeros_like(known))
    torch.testing.assert_close(stitched, estimate)
