"""The one part of the zero123 diffusers layout that diffusers has no class for.

``ashawkey/zero123-xl-diffusers`` keeps, besides a UNet, a VAE, a CLIP image encoder, its image
processor and a scheduler (all standard classes), a ``clip_camera_projection`` folder: the learnt
map from a CLIP image embedding and four camera numbers (elevation, sin and cos of azimuth, radius
change) to the UNet's cross-attention input. Its config has ``embedding_dim`` and
``additional_embeddings``, its weights one Linear layer ``proj``. This class loads that folder as
published (``from_pretrained``), without running code from the hub.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin


class CameraProjection(ModelMixin, ConfigMixin):
    """``[B, 1, embedding_dim + additional_embeddings]`` (CLIP embedding, camera) -> ``[B, 1, embedding_dim]``."""

    @register_to_config
    def __init__(self, embedding_dim: int = 768, additional_embeddings: int = 4) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(embedding_dim + additional_embeddings, embedding_dim)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.proj(embedding)
