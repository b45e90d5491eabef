"""Score distillation from a text-to-image model: renders pulled towards a prompt (DreamFusion)."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from engines.priors.image_space import encode, native_size
from engines.priors.sds import guided, score_distillation_loss
from engines.priors.settings import SDSSettings
from engines.priors.views import View, directional_prompts


class TextSDS:
    """``loss(images, views, progress)``: the SDS loss of renders under ``prompt`` for a Stable
    Diffusion pipeline (its UNet, VAE, text encoder and scheduler); prompt embeddings are cached."""

    def __init__(self, pipeline: Any, prompt: str, settings: SDSSettings = SDSSettings(), generator: torch.Generator | None = None) -> None:
        self.pipeline, self.prompt, self.settings, self.generator = pipeline, prompt, settings, generator
        self.size = native_size(pipeline.unet, pipeline.vae)
        self._embeddings: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def embeddings(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(conditioned, unconditioned)`` text embeddings of ``text``, computed once."""
        if text not in self._embeddings:
            with torch.no_grad():
                self._embeddings[text] = self.pipeline.encode_prompt(
                    text, self.pipeline.unet.device, 1, True, self.settings.negative_prompt or None
                )
        return self._embeddings[text]

    def loss(self, images: torch.Tensor, views: Sequence[View], progress: float) -> torch.Tensor:
        """``images`` ``[B, 3, H, W]`` in 0-1 (with their graph); ``views`` one per image."""
        texts = directional_prompts(self.prompt, views) if self.settings.view_prompts else [self.prompt] * len(views)
        pairs = [self.embeddings(text) for text in texts]
        context = torch.cat([torch.cat([c for c, _ in pairs]), torch.cat([u for _, u in pairs])])
        unet, scheduler = self.pipeline.unet, self.pipeline.scheduler

        def predict(noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return unet(noisy, t, encoder_hidden_states=context).sample

        latents = encode(self.pipeline.vae, images, self.size, generator=self.generator)
        steps = scheduler.config.num_train_timesteps
        t = self.settings.timesteps.sample(progress, len(images), steps, self.generator)
        return score_distillation_loss(
            latents, t, scheduler.alphas_cumprod, guided(predict, self.settings.guidance_scale), self.settings.weighting, self.generator
        )
