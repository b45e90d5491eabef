"""Loading a role's model from its checked folder, as the real diffusers/transformers classes.

Each role has one loader. Diffusion roles load as their diffusers pipeline; the novel-view model
(zero123 layout) and the depth model load component by component into a small holder, since
diffusers has no pipeline class for the first and the second is a transformers model with its
image processor. Nothing here runs code from a model folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engines.models.errors import ModelError
from engines.models.folders import check_folder
from engines.models.placement import MemorySavers, Placement
from engines.models.roles import ModelRole


@dataclass
class NovelViewModel:
    """The zero123 components: a UNet over (noisy latents, reference latents), a VAE, the CLIP
    image encoder and its processor, the camera projection and the noise schedule."""

    unet: Any
    vae: Any
    image_encoder: Any
    feature_extractor: Any
    camera_projection: Any
    scheduler: Any

    @property
    def components(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class DepthModel:
    """A transformers depth estimator and its image processor; ``kind`` is "relative" (disparity
    up to scale and shift) or "metric" (metres), as the model's config says."""

    model: Any
    processor: Any

    @property
    def kind(self) -> str:
        return getattr(self.model.config, "depth_estimation_type", None) or "relative"

    @property
    def components(self) -> dict[str, Any]:
        return {"model": self.model}


def _pipeline(class_name: str) -> Callable[[Path, dict], Any]:
    def load(folder: Path, options: dict) -> Any:
        import diffusers

        cls = getattr(diffusers, class_name)
        extra = {"safety_checker": None, "requires_safety_checker": False} if "StableDiffusion" in class_name and "Video" not in class_name else {}
        return cls.from_pretrained(folder, **options, **extra)

    return load


def _novel_view(folder: Path, options: dict) -> NovelViewModel:
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

    from engines.models.zero123 import CameraProjection

    dtype = options["dtype"]
    safe = {"use_safetensors": options["use_safetensors"]}
    return NovelViewModel(
        unet=UNet2DConditionModel.from_pretrained(folder, subfolder="unet", dtype=dtype, **safe),
        vae=AutoencoderKL.from_pretrained(folder, subfolder="vae", dtype=dtype, **safe),
        image_encoder=CLIPVisionModelWithProjection.from_pretrained(folder, subfolder="image_encoder", dtype=dtype, **safe),
        feature_extractor=CLIPImageProcessor.from_pretrained(folder, subfolder="feature_extractor"),
        camera_projection=CameraProjection.from_pretrained(folder, subfolder="clip_camera_projection", dtype=dtype, **safe),
        scheduler=DDIMScheduler.from_pretrained(folder, subfolder="scheduler"),
    )


def _depth(folder: Path, options: dict) -> DepthModel:
    from transformers import AutoImageProcessor, AutoModelForDepthEstimation

    model = AutoModelForDepthEstimation.from_pretrained(
        folder, dtype=options["dtype"], use_safetensors=options["use_safetensors"]
    )
    return DepthModel(model, AutoImageProcessor.from_pretrained(folder))


LOADERS: dict[str, Callable[[Path, dict], Any]] = {
    "text": _pipeline("StableDiffusionPipeline"),
    "inpaint": _pipeline("StableDiffusionInpaintPipeline"),
    "refiner": _pipeline("StableDiffusionImg2ImgPipeline"),
    "video": _pipeline("StableVideoDiffusionPipeline"),
    "novel-view": _novel_view,
    "depth": _depth,
}


def load_model(
    role: ModelRole, folder: Path, placement: Placement, *, allow_pickle: bool = False, savers: MemorySavers = MemorySavers()
) -> Any:
    """``role``'s model from ``folder`` (checked already: :func:`engines.models.hub.fetch`), in
    eval mode on ``placement``'s device and dtype, with ``savers`` applied."""
    options = {"dtype": placement.torch_dtype(), "use_safetensors": None if allow_pickle else True}
    try:
        model = LOADERS[role.name](folder, options)
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ModelError(f"the {role.name} model in {folder} could not be loaded as {role.loaded_as}: {exc}") from None
    for component in getattr(model, "components", {}).values():
        if hasattr(component, "to") and hasattr(component, "eval"):
            component.to(placement.device)
            component.eval()
            component.requires_grad_(False)
    savers.apply(model)
    return model


def verify_model(role: ModelRole, folder: Path, *, allow_pickle: bool = False) -> None:
    """ModelError unless ``folder`` is complete for ``role`` and its model loads (on the CPU, in half
    precision to spare memory; nothing is run): what ``atelier4d models verify`` and the studio's
    Models page check."""
    check_folder(role, folder, allow_pickle)
    load_model(role, folder, Placement("cpu", "float16"), allow_pickle=allow_pickle)
