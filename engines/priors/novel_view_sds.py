"""Score distillation from a novel-view model (zero123): renders pulled towards what the object in
a reference image looks like from their camera (DreamGaussian's image-to-3D).

zero123 takes a camera as its change from the reference's: the change of the polar angle (which
grows *downward*, from the top pole), of the azimuth, and of the distance. The views given to
:class:`NovelViewSDS` are absolute, as every prior's are (their cameras are what oracles render);
it converts them with :func:`relative_view` against the view the reference was taken from.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from engines.models.loading import NovelViewModel
from engines.priors.image_space import encode, native_size
from engines.priors.sds import guided, score_distillation_loss
from engines.priors.settings import SDSSettings
from engines.priors.views import View

NOVEL_VIEW_SDS = SDSSettings(guidance_scale=5.0, view_prompts=False)
"""Settings that suit an image prior (zero123 is trained for guidance about 3-5)."""


def relative_view(view: View, reference: View) -> View:
    """``view`` as its change from ``reference``: elevation and distance differences, the azimuth
    difference wrapped to [-180, 180); the camera stays ``view``'s own."""
    azimuth = (view.azimuth - reference.azimuth + 180.0) % 360.0 - 180.0
    return View(azimuth, view.elevation - reference.elevation, view.radius - reference.radius, view.camera)


class NovelViewSDS:
    """``loss(images, views, progress)``: the renders ``[B, 3, H, W]`` from the (absolute) ``views``
    pulled towards the object of the reference image as zero123 sees it from there."""

    def __init__(
        self, model: NovelViewModel, reference: torch.Tensor, settings: SDSSettings = NOVEL_VIEW_SDS,
        generator: torch.Generator | None = None, reference_view: View = View(),
    ) -> None:
        """``reference``: the object's image ``[3, H, W]`` in 0-1 (background removed);
        ``reference_view``: where it was taken from (its azimuth is the object's front)."""
        self.model, self.settings, self.generator, self.reference_view = model, settings, generator, reference_view
        self.size = native_size(model.unet, model.vae)
        device, dtype = model.unet.device, model.unet.dtype
        with torch.no_grad():
            pixels = model.feature_extractor(images=[reference.float().cpu()], return_tensors="pt", do_rescale=False).pixel_values
            self.image_embedding = model.image_encoder(pixels.to(device, dtype)).image_embeds[:, None]  # [1, 1, D]
            # zero123 conditions on the reference's unscaled latents
            latents = encode(model.vae, reference[None].to(device), self.size, sample=False)
            self.reference_latents = latents / model.vae.config.scaling_factor  # [1, 4, h, w]

    def camera_embedding(self, views: Sequence[View]) -> torch.Tensor:
        """``[B, 1, 4]``, zero123's camera of each view relative to the reference: the polar angle's
        change in radians (a view above the reference has a smaller polar angle: minus the
        elevation's change), sin and cos of the azimuth's change, the distance's change."""
        changes = [relative_view(view, self.reference_view) for view in views]
        rows = [
            [-math.radians(c.elevation), math.sin(math.radians(c.azimuth)), math.cos(math.radians(c.azimuth)), c.radius]
            for c in changes
        ]
        return torch.tensor(rows, dtype=self.model.unet.dtype, device=self.model.unet.device)[:, None]

    def loss(self, images: torch.Tensor, views: Sequence[View], progress: float) -> torch.Tensor:
        count = len(images)
        with torch.no_grad():
            conditioned = self.model.camera_projection(
                torch.cat([self.image_embedding.repeat(count, 1, 1), self.camera_embedding(views)], dim=-1)
            )
            context = torch.cat([conditioned, torch.zeros_like(conditioned)])
            reference = self.reference_latents.repeat(count, 1, 1, 1)
            reference = torch.cat([reference, torch.zeros_like(reference)])
        unet, scheduler = self.model.unet, self.model.scheduler

        def predict(noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return unet(torch.cat([noisy, reference.to(noisy.dtype)], dim=1), t, encoder_hidden_states=context).sample

        latents = encode(self.model.vae, images, self.size, generator=self.generator)
        steps = scheduler.config.num_train_timesteps
        t = self.settings.timesteps.sample(progress, count, steps, self.generator)
        return score_distillation_loss(
            latents, t, scheduler.alphas_cumprod, guided(predict, self.settings.guidance_scale), self.settings.weighting, self.generator
        )
