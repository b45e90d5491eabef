"""Moving renders in and out of a diffusion model's latent space, with the graph kept to the render."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def native_size(unet: Any, vae: Any) -> int:
    """The image side a diffusion model was trained at: its latent side times the VAE's factor."""
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    return int(unet.config.sample_size) * factor


def to_model_images(images: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    """Renders ``[B, 3, H, W]`` in 0-1 resized to ``size`` and mapped to -1..1 in ``dtype``."""
    if images.shape[-2:] != (size, size):
        images = F.interpolate(images, (size, size), mode="bilinear", align_corners=False)
    return (images * 2 - 1).to(dtype)


def encode(vae: Any, images: torch.Tensor, size: int, sample: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scaled latents of renders in 0-1 (the gradient reaches ``images`` through the encoder)."""
    dist = vae.encode(to_model_images(images, size, vae.dtype)).latent_dist
    latents = dist.sample(generator) if sample else dist.mode()
    return latents * vae.config.scaling_factor


def decode(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """Images ``[B, 3, H, W]`` in 0-1 from scaled latents."""
    images = vae.decode(latents / vae.config.scaling_factor).sample
    return (images.float() / 2 + 0.5).clamp(0, 1)
