"""The roles a pretrained model plays for the generators, each with its default and its layout.

A role is what a generator asks for ("a text-to-image model"), never a particular checkpoint: the
user picks any model of the same layout for a role (a hub id or a local folder), and every
generator using that role follows. The layout says what a folder must hold for the role's loader.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelRole:
    """One role: its CLI name, what it is for, its default hub id and the folder layout it needs."""

    name: str
    label: str
    purpose: str
    default: str
    layout: str  # "diffusers": model_index.json and one subfolder per component; "transformers": one model folder
    components: tuple[str, ...]  # diffusers: the component subfolders the loader needs
    loaded_as: str  # the class it loads as, for messages and docs


ROLES: dict[str, ModelRole] = {
    role.name: role
    for role in (
        ModelRole(
            "text", "Text to image", "text-to-image and text score distillation",
            "stabilityai/stable-diffusion-2-1-base", "diffusers",
            ("unet", "vae", "text_encoder", "tokenizer", "scheduler"), "StableDiffusionPipeline",
        ),
        ModelRole(
            "novel-view", "Novel view", "image score distillation (views of an object around a reference image)",
            "ashawkey/zero123-xl-diffusers", "diffusers",
            ("unet", "vae", "image_encoder", "feature_extractor", "scheduler", "clip_camera_projection"),
            "zero123 (UNet2DConditionModel with 8 input channels, CLIP image encoder, camera projection)",
        ),
        ModelRole(
            "inpaint", "Inpainting", "filling the unseen parts of a new view",
            "stabilityai/stable-diffusion-2-inpainting", "diffusers",
            ("unet", "vae", "text_encoder", "tokenizer", "scheduler"), "StableDiffusionInpaintPipeline",
        ),
        ModelRole(
            "depth", "Depth", "depth of an image, to lift it into 3D",
            "depth-anything/Depth-Anything-V2-Small-hf", "transformers", (), "AutoModelForDepthEstimation",
        ),
        ModelRole(
            "video", "Image to video", "frames from an image, for 4D",
            "stabilityai/stable-video-diffusion-img2vid", "diffusers",
            ("unet", "vae", "image_encoder", "feature_extractor", "scheduler"), "StableVideoDiffusionPipeline",
        ),
        ModelRole(
            "refiner", "Refiner", "image-to-image refinement of renders",
            "stabilityai/stable-diffusion-2-1-base", "diffusers",
            ("unet", "vae", "text_encoder", "tokenizer", "scheduler"), "StableDiffusionImg2ImgPipeline",
        ),
    )
}


def role_named(name: str) -> ModelRole:
    """The role called ``name``; ValueError listing the roles otherwise."""
    try:
        return ROLES[name]
    except KeyError:
        raise ValueError(f"no model role {name!r}; the roles are {', '.join(ROLES)}") from None
