"""Oracle priors: the priors' interfaces answered from a known scene instead of a model.

They let benches and tests measure a generator's optimization end to end without weights: an
optimization guided by an oracle must converge to the known scene, so its speed and final error
are the optimizer's own. Each takes ``truth``, a function from views to the true renders.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from engines.priors.sds import score_distillation_loss
from engines.priors.settings import SDSSettings
from engines.priors.views import View

Truth = Callable[[Sequence[View]], torch.Tensor]  # views -> true renders [B, 3, H, W] in 0-1


def stable_diffusion_schedule(steps: int = 1000) -> torch.Tensor:
    """Stable Diffusion's noise schedule (scaled linear betas): the real schedule class's."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=steps, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").alphas_cumprod


class OracleSDS:
    """SDS whose denoiser answers with the true render from the same camera: its predicted noise is
    the one that turns the noisy render into the truth, so the gradient is ``w(t) sqrt(a_t) /
    sqrt(1 - a_t) (x - x_true)`` in image space (-1..1)."""

    def __init__(self, truth: Truth, settings: SDSSettings = SDSSettings(), generator: torch.Generator | None = None) -> None:
        self.truth, self.settings, self.generator = truth, settings, generator
        self.alphas_cumprod = stable_diffusion_schedule()

    def loss(self, images: torch.Tensor, views: Sequence[View], progress: float) -> torch.Tensor:
        with torch.no_grad():
            target = self.truth(views).to(images.device, torch.float32) * 2 - 1

        def predict(noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            a = self.alphas_cumprod.to(noisy.device)[t].view(-1, 1, 1, 1)
            return (noisy - a.sqrt() * target) / (1 - a).sqrt()

        t = self.settings.timesteps.sample(progress, len(images), len(self.alphas_cumprod), self.generator)
        return score_distillation_loss(images * 2 - 1, t, self.alphas_cumprod, predict, self.settings.weighting, self.generator)
