"""Score distillation (DreamFusion's SDS), shared by every prior that guides an optimization.

A render's latents ``x`` are noised to a timestep ``t`` (``x_t = sqrt(a_t) x + sqrt(1 - a_t) eps``)
and a denoiser predicts the noise. The SDS gradient on ``x`` is ``w(t) (eps_pred - eps)``: it
pushes the render towards what the denoiser believes the clean image is. It is returned as a
loss whose gradient with respect to ``x`` is exactly that, so it flows back through the VAE
encoder to the rendered image and on to the splats, and never into the denoiser.

The timestep is drawn from a range whose top anneals down over the run (DreamTime): coarse
structure first, detail later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch

Weighting = Literal["sds", "uniform"]


@dataclass(frozen=True)
class TimestepRange:
    """Timesteps as fractions of the schedule: drawn from ``[low, high]``, where ``high`` moves
    from ``start_high`` to ``end_high`` as the run progresses (equal: no annealing)."""

    low: float = 0.02
    start_high: float = 0.98
    end_high: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= min(self.start_high, self.end_high) <= max(self.start_high, self.end_high) <= 1.0:
            raise ValueError("timesteps: need 0 <= low <= high <= 1")

    def sample(self, progress: float, count: int, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``count`` integer timesteps of a ``steps``-long schedule at ``progress`` (0-1) of the run."""
        progress = min(max(progress, 0.0), 1.0)
        high = self.start_high + (self.end_high - self.start_high) * progress
        lo, hi = round(self.low * (steps - 1)), round(high * (steps - 1))
        return torch.randint(lo, hi + 1, (count,), generator=generator)


def sds_weight(alphas_cumprod: torch.Tensor, t: torch.Tensor, weighting: Weighting) -> torch.Tensor:
    """``w(t)`` per item: DreamFusion's ``1 - a_t`` ("sds"), or 1 ("uniform")."""
    if weighting == "uniform":
        return torch.ones(len(t), dtype=alphas_cumprod.dtype)
    return 1.0 - alphas_cumprod[t]


def score_distillation_loss(
    latents: torch.Tensor,  # [B, C, h, w], with the graph back to the render
    t: torch.Tensor,  # [B] integer timesteps
    alphas_cumprod: torch.Tensor,  # [T] the schedule's cumulative alphas (CPU or the latents' device)
    predict_noise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],  # (noisy latents, t) -> eps_pred
    weighting: Weighting = "sds",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The SDS loss: its gradient with respect to ``latents`` is ``w(t) (eps_pred - eps)`` per item
    (summed over the batch). ``predict_noise`` runs without a graph."""
    alphas = alphas_cumprod.to(latents.device, torch.float32)
    a = alphas[t.to(latents.device)].view(-1, 1, 1, 1)
    noise = torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(latents.device)
    with torch.no_grad():
        noisy = a.sqrt() * latents.detach().float() + (1 - a).sqrt() * noise
        predicted = predict_noise(noisy.to(latents.dtype), t.to(latents.device)).float()
    w = sds_weight(alphas.cpu(), t.cpu(), weighting).to(latents.device).view(-1, 1, 1, 1)
    gradient = torch.nan_to_num(w * (predicted - noise))
    target = (latents.float() - gradient).detach()
    return 0.5 * ((latents.float() - target) ** 2).sum()


def guided(
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], scale: float
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Classifier-free guidance around ``predict(noisy_pair, t_pair)``, which takes the batch twice
    (conditioned first, unconditioned second) and returns both predictions in that order."""

    def predict_noise(noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        conditioned, unconditioned = predict(torch.cat([noisy, noisy]), torch.cat([t, t])).chunk(2)
        return unconditioned + scale * (conditioned - unconditioned)

    return predict_noise
