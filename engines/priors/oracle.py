"""Oracle priors: the priors' interfaces answered from a known scene instead of a model.

They let benches and tests measure a generator's optimization end to end without weights: an
optimization guided by an oracle must converge to the known scene, so its speed and final error
are the optimizer's own. Each takes ``truth``, a function from views to the true renders.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from engines.priors.depth import DepthMap
from engines.priors.sds import score_distillation_loss
from engines.priors.settings import SDSSettings
from engines.priors.views import View
from scene import GaussianCloud

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


TruthImage = Callable[[View], np.ndarray]  # a view -> the true image [H, W, 3] in 0-1


class OracleTextToImage:
    """Text-to-image answered with the true view (the prompt is ignored)."""

    def __init__(self, truth: TruthImage) -> None:
        self.truth = truth

    def __call__(self, prompt: str, *, view: View | None = None, **_: Any) -> np.ndarray:
        return self.truth(_needs(view)).astype(np.float32)


class OracleInpainter:
    """Inpainting answered from the true view: masked pixels from the truth, the others kept."""

    def __init__(self, truth: TruthImage) -> None:
        self.truth = truth

    def __call__(self, image: np.ndarray, mask: np.ndarray, prompt: str = "", *, view: View | None = None, **_: Any) -> np.ndarray:
        return np.where(mask[..., None], self.truth(_needs(view)), image).astype(np.float32)


class OracleRefiner:
    """Refinement answered with the true view at any strength above 0 (0: the image unchanged)."""

    def __init__(self, truth: TruthImage) -> None:
        self.truth = truth

    def __call__(self, image: np.ndarray, prompt: str = "", *, strength: float = 0.3, view: View | None = None, **_: Any) -> np.ndarray:
        return image.astype(np.float32, copy=True) if strength == 0.0 else self.truth(_needs(view)).astype(np.float32)


def _needs(view: View | None) -> View:
    if view is None:
        raise ValueError("an oracle prior needs the view it is asked about")
    return view


class OracleDepth:
    """Depth answered from the true depth as a real relative model would: disparity (``1 / depth``)
    under a random scale and shift, plus noise, all seeded; or, with ``kind="metric"``, the true
    depth plus noise."""

    def __init__(self, truth: Callable[[View], np.ndarray], kind: str = "disparity", noise: float = 0.01, seed: int = 0) -> None:
        self.truth, self.kind, self.noise = truth, kind, noise
        self._rng = np.random.default_rng(seed)

    def __call__(self, image: np.ndarray | None = None, *, view: View | None = None) -> DepthMap:
        depth = self.truth(_needs(view)).astype(np.float64)
        if self.kind == "metric":
            values = depth
        else:
            scale, shift = self._rng.uniform(0.5, 2.0), self._rng.uniform(-0.2, 0.2)
            values = scale / np.maximum(depth, 1e-6) + shift
        values = values + self._rng.normal(0.0, self.noise * float(np.std(values) or 1.0), values.shape)
        return DepthMap(values.astype(np.float32), "metric" if self.kind == "metric" else "disparity")


class OracleVideo:
    """Image-to-video answered with the true frames (the first one is the given image's scene)."""

    def __init__(self, truth: Callable[[int], np.ndarray]) -> None:
        self.truth = truth  # frame count -> [F, H, W, 3] in 0-1

    def __call__(self, image: np.ndarray, frames: int = 14, **_: Any) -> np.ndarray:
        return self.truth(frames).astype(np.float32)


def cloud_truth(cloud: GaussianCloud, background: float = 1.0) -> Truth:
    """The true renders of a known splat object from the views' cameras (``View.camera``), on a
    grey ``background`` (0 black, 1 white): the ``truth`` of an :class:`OracleSDS`."""
    from engines.rasterizer import camera_to_tensors, rasterize

    params = [torch.tensor(a) for a in (cloud.means, cloud.quats, cloud.scales, cloud.opacities, cloud.sh)]

    def truth(views: Sequence[View]) -> torch.Tensor:
        viewmats, Ks, width, height = camera_to_tensors([view.camera for view in views])
        with torch.no_grad():
            out = rasterize(*params, viewmats, Ks, width, height, sh_degree=cloud.sh_degree, background=torch.full((3,), background))
        return out.rgb.permute(0, 3, 1, 2)

    return truth


Motion = Callable[[float], GaussianCloud]
"""A known moving object: clip time (0 at the first frame, 1 at the last) -> the object then."""


def frame_times(frames: int) -> np.ndarray:
    """The clip times of ``frames`` evenly spaced frames, the first at 0 and the last at 1."""
    return np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1)


def motion_video(motion: Motion, camera: Any, background: float = 1.0) -> Callable[[int], np.ndarray]:
    """The truth of an :class:`OracleVideo` for a known moving object: its renders from ``camera``
    (the reference camera) at the times of the frames asked for, ``[F, H, W, 3]`` on ``background``."""

    def truth(frames: int) -> np.ndarray:
        renders = [cloud_truth(motion(float(t)), background)([View(camera=camera)])[0] for t in frame_times(frames)]
        return torch.stack(renders).permute(0, 2, 3, 1).numpy()

    return truth


def motion_priors(
    motion: Motion, times: Sequence[float], settings: SDSSettings = SDSSettings(), generator: torch.Generator | None = None
) -> list[OracleSDS]:
    """The oracle of novel-view SDS conditioned on each frame: for each time, an :class:`OracleSDS`
    answering with the true renders of the known object at that time."""
    return [OracleSDS(cloud_truth(motion(float(t))), settings, generator) for t in times]
