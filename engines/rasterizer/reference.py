"""Dense reference rasterizer: every pixel against every visible Gaussian, plain autograd.

Written to be obviously right rather than fast: the per-pixel formulas of gsplat's forward kernel,
vectorized over (pixels, Gaussians in depth order). Tests check the tiled rasterizer against it;
pixel chunks are checkpointed so that large scenes fit.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from engines.rasterizer.formation import ALPHA_MAX, T_MIN, RasterOutput, render
from engines.rasterizer.projection import ALPHA_MIN

PAIRS = 1 << 22  # pixel-Gaussian pairs per chunk


def _composite_pixels(
    pixels: Tensor,  # [P, 2] pixel centres
    means2d: Tensor,  # [n, 2] front to back
    conics: Tensor,  # [n, 3]
    opacities: Tensor,  # [n]
    features: Tensor,  # [n, D]
) -> Tensor:  # [P, D + 1]
    d = means2d[None] - pixels[:, None]  # [P, n, 2]
    a, b, c = conics.unbind(-1)
    sigma = 0.5 * (a * d[..., 0] ** 2 + c * d[..., 1] ** 2) + b * d[..., 0] * d[..., 1]
    alpha = torch.clamp_max(opacities * torch.exp(-sigma), ALPHA_MAX)
    alpha = torch.where(alpha >= ALPHA_MIN, alpha, torch.zeros_like(alpha))
    # A pixel stops before the fragment that would leave T <= T_MIN; T only falls, so the dropped
    # fragments are exactly those whose running product (all fragments) is <= T_MIN.
    alpha = torch.where(torch.cumprod(1 - alpha, dim=1) > T_MIN, alpha, torch.zeros_like(alpha))
    t_before = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1 - alpha[:, :-1]], dim=1), dim=1)
    weights = alpha * t_before  # [P, n]
    coverage = 1 - torch.prod(1 - alpha, dim=1, keepdim=True)
    return torch.cat([weights @ features, coverage], dim=1)


def composite_dense(
    means2d: Tensor,  # [C, N, 2]
    conics: Tensor,  # [C, N, 3]
    opacities: Tensor,  # [C, N]
    features: Tensor,  # [C, N, D]
    radii: Tensor,  # [C, N, 2] int, 0 = culled
    depths: Tensor,  # [C, N]
    width: int,
    height: int,
    pairs: int = PAIRS,
) -> Tensor:  # [C, H, W, D + 1]
    """Dense compositing (a :class:`~engines.rasterizer.formation.Compositor`)."""
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=means2d.dtype, device=means2d.device),
        torch.arange(width, dtype=means2d.dtype, device=means2d.device),
        indexing="ij",
    )
    pixels = torch.stack([xs, ys], dim=-1).reshape(-1, 2) + 0.5  # [H * W, 2]
    images = []
    for cam in range(len(depths)):
        ids = (radii[cam] > 0).all(dim=-1).nonzero().squeeze(1)
        ids = ids[torch.argsort(depths[cam, ids], stable=True)]
        args = (means2d[cam, ids], conics[cam, ids], opacities[cam, ids], features[cam, ids])
        step = max(1, pairs // max(1, len(ids)))
        chunks = [
            checkpoint(_composite_pixels, pixels[s : s + step], *args, use_reentrant=False)
            if torch.is_grad_enabled()
            else _composite_pixels(pixels[s : s + step], *args)
            for s in range(0, len(pixels), step)
        ]
        images.append(torch.cat(chunks).reshape(height, width, -1))
    return torch.stack(images)


def rasterize_reference(*args, **kwargs) -> RasterOutput:
    """:func:`engines.rasterizer.rasterize` with dense compositing (same arguments, no backend)."""
    return render(composite_dense, *args, **kwargs)
