"""Image-to-image refinement at a strength (the refiner model): sharper textures on a render."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engines.priors.pictures import from_pil, model_side, seeded, to_pil
from engines.priors.views import View


class Refiner:
    """``__call__(image, prompt, strength)``: ``image`` re-noised to ``strength`` (0 = unchanged,
    1 = a new image) and denoised towards ``prompt``, seeded."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        pipeline.set_progress_bar_config(disable=True)

    def __call__(
        self, image: np.ndarray, prompt: str, *, strength: float = 0.3, negative_prompt: str = "", steps: int = 30,
        guidance_scale: float = 7.5, seed: int = 0, view: View | None = None,
    ) -> np.ndarray:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"refine: strength must be within 0-1, got {strength}")
        height, width = image.shape[:2]
        if strength == 0.0:
            return image.astype(np.float32, copy=True)
        steps = max(steps, math.ceil(1.0 / strength))  # img2img runs steps x strength of them: at least one
        result = self.pipeline(
            prompt, image=to_pil(image).resize((model_side(width), model_side(height))), strength=strength,
            negative_prompt=negative_prompt or None, num_inference_steps=steps, guidance_scale=guidance_scale,
            generator=seeded(seed, self.pipeline.device), output_type="pil",
        )
        return from_pil(result.images[0].resize((width, height)))
