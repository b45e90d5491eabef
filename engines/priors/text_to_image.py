"""Images from a prompt (the text model): the first view of a scene, a reference for image-to-3D."""

from __future__ import annotations

from typing import Any

import numpy as np

from engines.priors.pictures import from_pil, model_side, seeded
from engines.priors.views import View


class TextToImage:
    """``__call__(prompt, ...)``: one image from a Stable Diffusion pipeline, seeded."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        pipeline.set_progress_bar_config(disable=True)

    def __call__(
        self, prompt: str, *, negative_prompt: str = "", size: int = 512, steps: int = 30, guidance_scale: float = 7.5,
        seed: int = 0, view: View | None = None,
    ) -> np.ndarray:
        """``[size, size, 3]`` in 0-1 (``size`` rounded down to a multiple of 8; ``view`` is for oracles)."""
        side = model_side(size)
        result = self.pipeline(
            prompt, negative_prompt=negative_prompt or None, height=side, width=side, num_inference_steps=steps,
            guidance_scale=guidance_scale, generator=seeded(seed, self.pipeline.device), output_type="pil",
        )
        return from_pil(result.images[0])
