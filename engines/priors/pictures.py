"""Images as the priors exchange them: numpy ``[H, W, 3]`` float32 in 0-1 (masks ``[H, W]`` bool)."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_pil(image: np.ndarray) -> Any:
    """An RGB (or, for ``[H, W]``, greyscale) PIL image of a 0-1 array."""
    from PIL import Image

    return Image.fromarray((np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8))


def from_pil(image: Any) -> np.ndarray:
    """A float32 ``[H, W, 3]`` array in 0-1 of a PIL image."""
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def model_side(side: int, multiple: int = 8) -> int:
    """``side`` rounded down to what the diffusion models take (a multiple of 8, at least 8)."""
    return max(multiple, side // multiple * multiple)


def seeded(seed: int, device: Any = "cpu") -> Any:
    """A torch generator on ``device`` seeded with ``seed``: the same seed gives the same image."""
    import torch

    return torch.Generator(device=device).manual_seed(int(seed))
