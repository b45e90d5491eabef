"""Photometric losses of 3DGS: L1 blended with D-SSIM, and PSNR for reporting.

3DGS uses ``(1 - lambda) * L1 + lambda * (1 - SSIM)`` with ``lambda = 0.2``; SSIM is computed with
an 11x11 Gaussian window (sigma 1.5) and zero padding, per channel, averaged over all pixels.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

SSIM_C1 = 0.01**2  # (K1 * L)^2 with L = 1
SSIM_C2 = 0.03**2


@functools.lru_cache(maxsize=8)
def gaussian_window(size: int = 11, sigma: float = 1.5) -> Tensor:  # [size, size]
    """The normalized 2D Gaussian window of SSIM."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g).float()


def ssim(img1: Tensor, img2: Tensor, window_size: int = 11, sigma: float = 1.5) -> Tensor:
    """Mean SSIM of two image batches ``[B, H, W, C]`` (values 0-1), as 3DGS computes it."""
    a, b = img1.permute(0, 3, 1, 2), img2.permute(0, 3, 1, 2)  # [B, C, H, W]
    channels = a.shape[1]
    window = gaussian_window(window_size, sigma).to(a).expand(channels, 1, window_size, window_size)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(x, window, padding=window_size // 2, groups=channels)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_a**2 + mu_b**2 + SSIM_C1) * (var_a + var_b + SSIM_C2)
    return (num / den).mean()


def photometric_loss(render: Tensor, target: Tensor, lambda_dssim: float = 0.2) -> Tensor:
    """``(1 - lambda) L1 + lambda (1 - SSIM)`` of ``[B, H, W, 3]`` images (3DGS's training loss)."""
    l1 = (render - target).abs().mean()
    if lambda_dssim == 0:
        return l1
    return (1 - lambda_dssim) * l1 + lambda_dssim * (1 - ssim(render, target))


def psnr(render: Tensor, target: Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in 0-1 (over all pixels of the batch)."""
    mse = F.mse_loss(render.detach().clamp(0, 1), target).item()
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


__all__ = ["gaussian_window", "photometric_loss", "psnr", "ssim"]
