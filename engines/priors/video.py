"""Frames from an image (the image-to-video model), for 4D."""

from __future__ import annotations

from typing import Any

import numpy as np

from engines.priors.pictures import from_pil, model_side, seeded, to_pil
from engines.priors.views import View


class ImageToVideo:
    """``__call__(image, frames)``: a short clip that starts from ``image``, seeded."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        pipeline.set_progress_bar_config(disable=True)

    def __call__(
        self, image: np.ndarray, frames: int = 14, *, steps: int = 25, fps: int = 7, motion: int = 127, seed: int = 0,
        view: View | None = None,
    ) -> np.ndarray:
        """``[frames, H, W, 3]`` in 0-1 at the image's size; ``motion`` is SVD's motion bucket (more = more motion)."""
        height, width = image.shape[:2]
        h, w = model_side(height, 64), model_side(width, 64)
        result = self.pipeline(
            to_pil(image).resize((w, h)), height=h, width=w, num_frames=frames, num_inference_steps=steps, fps=fps,
            motion_bucket_id=motion, decode_chunk_size=frames, generator=seeded(seed, self.pipeline.device), output_type="pil",
        )
        return np.stack([from_pil(frame.resize((width, height))) for frame in result.frames[0]])
