"""Depth of an image (the depth model), to lift it into 3D; says what its numbers are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from engines.models.loading import DepthModel
from engines.priors.pictures import to_pil
from engines.priors.views import View


@dataclass(frozen=True)
class DepthMap:
    """``values`` ``[H, W]``: "disparity" means relative inverse depth, known up to a scale and a
    shift (Depth Anything's relative models); "metric" means depth in metres."""

    values: np.ndarray
    kind: Literal["disparity", "metric"]


class DepthEstimator:
    def __init__(self, model: DepthModel) -> None:
        self.model = model

    def __call__(self, image: np.ndarray, *, view: View | None = None) -> DepthMap:
        """The depth of ``image`` ``[H, W, 3]`` 0-1 at the image's own size."""
        import torch
        import torch.nn.functional as F

        height, width = image.shape[:2]
        inputs = self.model.processor(images=to_pil(image), return_tensors="pt")
        parameters = next(self.model.model.parameters())
        with torch.no_grad():
            predicted = self.model.model(pixel_values=inputs["pixel_values"].to(parameters.device, parameters.dtype)).predicted_depth
        values = F.interpolate(predicted[:, None].float(), (height, width), mode="bilinear", align_corners=False)[0, 0]
        kind = "metric" if self.model.kind == "metric" else "disparity"
        return DepthMap(values.cpu().numpy().astype(np.float32), kind)
