"""Making new depth meet the old at the edges of a hole, without cracks or steps.

After the global fit (:mod:`.align`) the new depth still disagrees a little with the scene along the
hole's border: the estimate's shape is not exactly the scene's. That residual, known on the scene's
pixels, is spread into the hole as the smoothest surface through it (Laplace's equation, solved by
a multiresolution fill in linear time: Poisson blending, in effect) and faded out with distance into
the hole: at the border the new depth equals the old, deep inside it follows the estimate's shape.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def harmonic_fill(
    values: Tensor,  # [H, W]
    weights: Tensor,  # [H, W] confidence 0-1, 0 = unknown
    *,
    relax: int = 12,
) -> Tensor:  # [H, W]
    """``values`` where ``weights`` is 1, and elsewhere the smoothest surface through the known ones:
    Laplace's equation with the known values held, solved coarse to fine (cascadic multigrid).

    Going down, each level averages 2x2 blocks by weight (its weight: theirs summed, capped at 1, the
    push-pull of Gortler et al., *The Lumigraph*, 1996); coming back up, a pixel keeps its own value as
    far as it is trusted, takes the coarser level's upsampled for the rest, and ``relax`` Jacobi sweeps
    then smooth out the coarse blocks, so the fill meets the known values without a step.
    """
    if float(weights.max()) <= 0:
        raise ValueError("harmonic_fill: no known value to fill from")
    return _fill(values * weights, weights, relax)


def _fill(weighted: Tensor, weights: Tensor, relax: int) -> Tensor:
    height, width = weights.shape
    values = weighted / weights.clamp(min=1e-12)
    if height == 1 and width == 1:
        return values
    pad = (0, width % 2, 0, height % 2)  # unknown (weight 0) padding: an even size pools exactly
    coarse_weighted = F.avg_pool2d(F.pad(weighted, pad)[None, None], 2)[0, 0] * 4
    coarse_weights = F.avg_pool2d(F.pad(weights, pad)[None, None], 2)[0, 0] * 4
    capped = coarse_weights.clamp(max=1.0)
    coarse = _fill(coarse_weighted * capped / coarse_weights.clamp(min=1e-12), capped, relax)
    up = F.interpolate(coarse[None, None], scale_factor=2, mode="bilinear", align_corners=False)[0, 0]
    kept = weights * values
    filled = kept + (1.0 - weights) * up[:height, :width]
    for _ in range(relax):
        around = F.pad(filled[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
        mean = 0.25 * (around[:-2, 1:-1] + around[2:, 1:-1] + around[1:-1, :-2] + around[1:-1, 2:])
        filled = kept + (1.0 - weights) * mean
    return filled


def known_share(mask: Tensor, sigma: float) -> Tensor:  # [H, W] bool -> [H, W] 0-1
    """The Gaussian-weighted share (``sigma`` pixels) of ``mask``'s pixels around each pixel, counting
    only pixels inside the image, so the image's edges do not look like unknown ground."""
    radius = max(1, math.ceil(3.0 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32, device=mask.device)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    both = torch.stack([mask.float(), torch.ones(mask.shape, device=mask.device)])[:, None]  # [2, 1, H, W]
    blurred = F.conv2d(both, kernel.view(1, 1, 1, -1), padding=(0, radius))
    blurred = F.conv2d(blurred, kernel.view(1, 1, -1, 1), padding=(radius, 0))[:, 0]
    return blurred[0] / blurred[1]


def stitch_depth(
    aligned: Tensor,  # [H, W] new depth after the global fit
    rendered: Tensor,  # [H, W] depth of the scene so far
    known: Tensor,  # [H, W] bool, pixels the scene covers (not to dream)
    *,
    trusted: Tensor | None = None,  # [H, W] bool, known pixels whose residual to spread; None: all known
    reach: float = 24.0,
) -> Tensor:  # [H, W]
    """The depth of the whole view: the scene's where ``known``, and in the holes the new depth plus the
    border's residual, diffused inward and faded out over ``reach`` pixels.

    The fade is twice the share of known pixels in a Gaussian window (sigma ``reach / 3``), capped at 1:
    1 along a straight border, about 0.05 two-thirds of ``reach`` in, nothing at ``reach``; in a narrow
    hole it stays near 1, so a small hole is corrected across.
    """
    if not (aligned.shape == rendered.shape == known.shape) or aligned.dim() != 2:
        raise ValueError(
            f"stitch_depth: aligned {tuple(aligned.shape)}, rendered {tuple(rendered.shape)} and known "
            f"{tuple(known.shape)} must be the same [H, W]"
        )
    if reach <= 0:
        raise ValueError(f"stitch_depth: reach must be positive, got {reach}")
    trusted = known if trusted is None else trusted & known
    if not bool(trusted.any()):
        return aligned.clone()
    residual = torch.where(trusted, rendered - aligned, torch.zeros_like(aligned))
    spread = harmonic_fill(residual, trusted.to(aligned.dtype))
    fade = (2.0 * known_share(trusted, reach / 3.0)).clamp(max=1.0).to(aligned.dtype)
    return torch.where(known, rendered, aligned + fade * spread)
