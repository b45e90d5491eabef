"""Filling the masked part of an image from a prompt (the inpainting model): the unseen parts of a
scene's new view."""

from __future__ import annotations

from typing import Any

import numpy as np

from engines.priors.pictures import from_pil, model_side, seeded, to_pil
from engines.priors.views import View


class Inpainter:
    """``__call__(image, mask, prompt, ...)``: ``image`` with its masked pixels painted in, seeded;
    the unmasked pixels are kept exactly."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        pipeline.set_progress_bar_config(disable=True)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, prompt: str, *, negative_prompt: str = "", steps: int = 30,
        guidance_scale: float = 7.5, seed: int = 0, view: View | None = None,
    ) -> np.ndarray:
        """``image`` ``[H, W, 3]`` 0-1; ``mask`` ``[H, W]``, True where to paint. Same size back."""
        height, width = mask.shape
        if image.shape[:2] != mask.shape:
            raise ValueError(f"inpaint: the image is {image.shape[1]}x{image.shape[0]} but the mask {width}x{height}")
        if not mask.any():
            return image.astype(np.float32, copy=True)
        h, w = model_side(height), model_side(width)
        result = self.pipeline(
            prompt, image=to_pil(image).resize((w, h)), mask_image=to_pil(mask.astype(np.float32)).resize((w, h)),
            height=h, width=w, negative_prompt=negative_prompt or None, num_inference_steps=steps,
            guidance_scale=guidance_scale, generator=seeded(seed, self.pipeline.device), output_type="pil",
        )
        painted = from_pil(result.images[0].resize((width, height)))
        return np.where(mask[..., None], painted, image).astype(np.float32)
