"""Tiny random-weight models of every real class the priors load, saved in the real folder layouts.

Tests and benches run the priors' real loading code (``from_pretrained`` on a folder) on these:
the classes, the folder layout and the configs' keys are those of the published models; only the
sizes are small (a few MB each, seconds to build on a CPU) and the weights random. Each builder
writes one model folder and returns its path; :func:`tiny_model` caches them per test session.

    text        StableDiffusionPipeline      (unet, vae, text_encoder, tokenizer, scheduler)
    inpaint     StableDiffusionInpaintPipeline (the same with a 9-channel unet)
    novel-view  zero123 layout: unet (8 input channels), vae, image_encoder, feature_extractor,
                scheduler, clip_camera_projection
    depth       DepthAnythingForDepthEstimation + its image processor (transformers layout)
    video       StableVideoDiffusionPipeline (unet, vae, image_encoder, feature_extractor, scheduler)
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Callable

LATENT_SIZE = 8  # latent side the configs declare; the VAE halves once, so a 16 px image gives 8x8 latents
IMAGE_SIZE = 32  # the CLIP image encoder's input side


def char_tokenizer(folder: Path):
    """A CLIP BPE tokenizer over single characters (no merges), written as the real files."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(string.ascii_lowercase + string.digits + ",.-'!?")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols:
        vocab.setdefault(symbol, len(vocab))
        vocab.setdefault(symbol + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    # CLIP's own length, so prompts with their view suffixes fit
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(folder)
    return tokenizer


def _text_encoder(vocab_size: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        max_position_embeddings=77, projection_dim=32, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )
    return CLIPTextModel(config)


def _unet(in_channels: int, cross_attention_dim: int = 32):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=LATENT_SIZE, in_channels=in_channels, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=cross_attention_dim,
        attention_head_dim=8, norm_num_groups=32,
    )


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(32, 64), in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), sample_size=2 * LATENT_SIZE,
    )


def _scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
        steps_offset=1,
    )


def _image_encoder(projection_dim: int = 32, image_size: int = IMAGE_SIZE):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, image_size=image_size,
        patch_size=image_size // 4, projection_dim=projection_dim,
    )
    return CLIPVisionModelWithProjection(config)


def _feature_extractor():
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(crop_size=IMAGE_SIZE, size={"shortest_edge": IMAGE_SIZE})


def build_text(folder: Path, inpaint: bool = False) -> Path:
    """A tiny Stable Diffusion (inpainting: a 9-channel unet, as the published inpainting model)."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    tokenizer = char_tokenizer(folder / "tokenizer")
    cls = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    pipe = cls(
        unet=_unet(9 if inpaint else 4), vae=_vae(), text_encoder=_text_encoder(len(tokenizer)), tokenizer=tokenizer,
        scheduler=_scheduler(), safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def build_novel_view(folder: Path) -> Path:
    """A tiny model in the zero123 diffusers layout (as ``ashawkey/zero123-xl-diffusers``)."""
    from engines.models.zero123 import CameraProjection

    _unet(8, cross_attention_dim=32).save_pretrained(folder / "unet", safe_serialization=True)
    _vae().save_pretrained(folder / "vae", safe_serialization=True)
    _image_encoder(32).save_pretrained(folder / "image_encoder", safe_serialization=True)
    _feature_extractor().save_pretrained(folder / "feature_extractor")
    _scheduler().save_pretrained(folder / "scheduler")
    CameraProjection(embedding_dim=32, additional_embeddings=4).save_pretrained(
        folder / "clip_camera_projection", safe_serialization=True
    )
    index = {
        "_class_name": "Zero123Pipeline",
        "_diffusers_version": "0.24.0",
        "clip_camera_projection": ["zero123", "CLIPCameraProjection"],
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


def build_depth(folder: Path) -> Path:
    """A tiny Depth Anything (DINOv2 backbone, DPT head) and its image processor."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=37, patch_size=14,
        image_size=28, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone, reassemble_hidden_size=32, neck_hidden_sizes=[16, 16, 16, 16],
        fusion_hidden_size=16, head_hidden_size=8, patch_size=14,
    )
    DepthAnythingForDepthEstimation(config).save_pretrained(folder, safe_serialization=True)
    DPTImageProcessor(
        size={"height": 28, "width": 28}, keep_aspect_ratio=True, ensure_multiple_of=14, do_pad=False,
    ).save_pretrained(folder)
    return folder


def build_video(folder: Path) -> Path:
    """A tiny Stable Video Diffusion (image-to-video)."""
    from diffusers import (
        AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )

    unet = UNetSpatioTemporalConditionModel(
        sample_size=LATENT_SIZE, in_channels=8, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"), cross_attention_dim=32,
        num_attention_heads=(2, 4), addition_time_embed_dim=8, projection_class_embeddings_input_dim=24, num_frames=4,
    )
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=(32, 64), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", prediction_type="v_prediction",
        use_karras_sigmas=True, timestep_spacing="leading", steps_offset=1,
    )
    pipe = StableVideoDiffusionPipeline(
        vae=vae, image_encoder=_image_encoder(32, image_size=224),  # the pipeline resizes to 224 for CLIP itself
        unet=unet, scheduler=scheduler, feature_extractor=_feature_extractor(),
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "text": build_text,
    "inpaint": lambda folder: build_text(folder, inpaint=True),
    "novel-view": build_novel_view,
    "depth": build_depth,
    "video": build_video,
}
"""Builders by role (the refiner role uses the text model's folder)."""


def tiny_model(role: str, root: Path) -> Path:
    """The tiny model of ``role`` under ``root`` (built the first time it is asked for)."""
    role = "text" if role == "refiner" else role
    folder = root / role
    if not (folder / ".complete").exists():
        BUILDERS[role](folder)
        (folder / ".complete").touch()
    return folder
