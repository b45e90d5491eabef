"""Image-to-4D on full-size Stable Video Diffusion and zero123 (random weights): time of each stage and peak GPU memory.

The run is the engine's own, end to end (:func:`engines.animate_4d.animate_4d` on a picture of a
disc): the driving video from the image-to-video model (14 frames of 512 px, 25 denoising steps),
the static object (500 steps of image-to-3D's stage 1 under zero123), the motion (500 steps of the
deformation field, 4 frames a step, each scored on the reference view and by zero123 conditioned on
it), and the clip written as a project, at the engine's defaults (DreamGaussian4D's). The networks
are built from the published configs with random weights (no download: the compute and the memory
are the real models'; the pictures are noise), in fp16: ``stabilityai/stable-video-diffusion-img2vid``
(its spatio-temporal UNet, temporal-decoder VAE and ViT-H/14 image encoder) and
``ashawkey/zero123-xl-diffusers`` (an SD 1.5 UNet with 8 input channels, the SD VAE, the ViT-L/14
image encoder and the camera projection). The engine's ``ctx.model`` hands them over in place of
loading. Target (issue 16): image-to-4D end to end in <= 3 minutes on an H100 (DreamGaussian4D: 6.5
minutes on an A100).

``--tiny --device cpu`` runs the same code on the tiny test models, loaded from their folders by
the real loading code (a smoke test of this script on a machine without a GPU). Prints one JSON line.

    python benches/animate_4d_gpu.py [--frames 14] [--steps 500] [--static-steps 500] [--tiny --device cpu]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches.sds_gpu import VAE  # noqa: E402
from engines.animate_4d import Animate4DConfig, animate_4d  # noqa: E402
from engines.runtime import Log, Progress, Result, RunContext, WorkerSettings  # noqa: E402
from tests.engines.test_image_to_3d import disc_picture  # noqa: E402
from tests.tiny_models import tiny_model  # noqa: E402

SVD_UNET = dict(
    sample_size=96, in_channels=8, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlockSpatioTemporal",) * 3 + ("DownBlockSpatioTemporal",),
    up_block_types=("UpBlockSpatioTemporal",) + ("CrossAttnUpBlockSpatioTemporal",) * 3,
    cross_attention_dim=1024, num_attention_heads=(5, 10, 20, 20), addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=768, transformer_layers_per_block=1, num_frames=14,
)
SVD_VAE = dict(
    in_channels=3, out_channels=3, block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
    down_block_types=("DownEncoderBlock2D",) * 4, sample_size=768, scaling_factor=0.18215, force_upcast=True,
)
SVD_SCHEDULER = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", prediction_type="v_prediction",
    interpolation_type="linear", use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0, steps_offset=1,
    timestep_spacing="leading", timestep_type="continuous", num_train_timesteps=1000,
)
VIT_H = dict(
    hidden_size=1280, intermediate_size=5120, num_attention_heads=16, num_hidden_layers=32, patch_size=14, image_size=224,
    projection_dim=1024, hidden_act="gelu",
)
VIT_L = dict(
    hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=24, patch_size=14, image_size=224,
    projection_dim=768, hidden_act="quick_gelu",
)
ZERO123_UNET = dict(
    sample_size=32, in_channels=8, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",), up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=768, attention_head_dim=8,
)
CLIP_PROCESSOR = dict(
    crop_size=224, size={"shortest_edge": 224}, image_mean=[0.48145466, 0.4578275, 0.40821073],
    image_std=[0.26862954, 0.26130258, 0.27577711],
)


def full_size_video(dtype: torch.dtype, device: str) -> Any:
    """Stable Video Diffusion (img2vid, 14 frames) from its published configs, random weights."""
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    pipe = StableVideoDiffusionPipeline(
        vae=AutoencoderKLTemporalDecoder(**SVD_VAE), image_encoder=CLIPVisionModelWithProjection(CLIPVisionConfig(**VIT_H)),
        unet=UNetSpatioTemporalConditionModel(**SVD_UNET), scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER),
        feature_extractor=CLIPImageProcessor(**CLIP_PROCESSOR),
    )
    return frozen(pipe.to(device, dtype), ("unet", "vae", "image_encoder"))


def full_size_novel_view(dtype: torch.dtype, device: str) -> Any:
    """zero123-xl from its published configs, random weights, as the novel-view loader returns it."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    from engines.models.loading import NovelViewModel
    from engines.models.zero123 import CameraProjection

    model = NovelViewModel(
        unet=UNet2DConditionModel(**ZERO123_UNET), vae=AutoencoderKL(**VAE),
        image_encoder=CLIPVisionModelWithProjection(CLIPVisionConfig(**VIT_L)), feature_extractor=CLIPImageProcessor(**CLIP_PROCESSOR),
        camera_projection=CameraProjection(embedding_dim=768, additional_embeddings=4),
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False),
    )
    for name in ("unet", "vae", "image_encoder", "camera_projection"):
        getattr(model, name).to(device, dtype)
    return frozen(model, ("unet", "vae", "image_encoder", "camera_projection"))


def frozen(model: Any, parts: tuple[str, ...]) -> Any:
    for name in parts:
        getattr(model, name).requires_grad_(False).eval()
    return model


class BuiltModels(RunContext):
    """A run context whose ``model(role)`` hands over models built here instead of loading them."""

    def __init__(self, models: dict[str, Any], device: str) -> None:
        super().__init__(device=device)
        self.models = models

    def model(self, role: str, **_: Any) -> Any:
        return self.models[role]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--frames", type=int, default=14)
    parser.add_argument("--steps", type=int, default=500, help="steps of the motion")
    parser.add_argument("--static-steps", type=int, default=500, help="steps of the static object")
    parser.add_argument("--video-steps", type=int, default=25, help="denoising steps of the video model")
    parser.add_argument("--size", type=int, default=256, help="render side of the reference view")
    parser.add_argument("--video-size", type=int, default=512, help="side of the picture and the frames")
    parser.add_argument("--tiny", action="store_true", help="the tiny test models instead (a smoke test)")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    dtype = torch.float16 if cuda else torch.float32
    with tempfile.TemporaryDirectory() as folder:
        if args.tiny:
            root = Path(folder) / "models"
            choices = tuple((role, str(tiny_model(role, root))) for role in ("video", "novel-view"))
            ctx = RunContext(device=args.device, settings=WorkerSettings(model_choices=choices))
        else:
            ctx = BuiltModels({"video": full_size_video(dtype, args.device), "novel-view": full_size_novel_view(dtype, args.device)}, args.device)
        config = Animate4DConfig(
            image=disc_picture(Path(folder) / "disc.png", size=512, radius=160), frames=args.frames, steps=args.steps,
            static_steps=args.static_steps, video_steps=args.video_steps, size=args.size, video_size=args.video_size,
            out=str(Path(folder) / "disc.a4d"),
        )
        report = run(config, ctx, cuda)
    report.update({"models": "tiny" if args.tiny else "SVD img2vid + zero123-xl configs, random weights",
                   "device": torch.cuda.get_device_name() if cuda else args.device, "dtype": str(dtype).removeprefix("torch.")})
    print(json.dumps(report))


def run(config: Animate4DConfig, ctx: RunContext, cuda: bool) -> dict:
    """The engine's run of ``config``: the time and (on CUDA) the peak memory of each stage, read off its events."""
    marks: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def mark(stage: str) -> None:
        if cuda:
            torch.cuda.synchronize()
            peaks[stage] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            torch.cuda.reset_peak_memory_stats()
        marks[stage] = time.perf_counter()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    summary: dict = {}
    for event in animate_4d(config, ctx):
        if isinstance(event, Log) and event.text.startswith("the video model made"):
            mark("video")
        elif isinstance(event, Log) and event.text.startswith("novel-view model ready"):
            mark("prepare")
        elif isinstance(event, Progress) and event.step == config.static_steps:
            mark("static")
        elif isinstance(event, Progress) and event.step == event.total:
            mark("motion")
        elif isinstance(event, Result):
            mark("write")
            summary = event.summary
    order = ["video", "prepare", "static", "motion", "write"]  # prepare: the frames cut out, the novel-view model
    seconds, previous = {}, started
    for stage in order:
        seconds[f"{stage}_s"] = round(marks[stage] - previous, 2)
        previous = marks[stage]
    total = marks["write"] - started
    report = {
        "bench": "animate_4d_gpu", "frames": config.frames, "video_px": config.video_size, "video_steps": config.video_steps,
        "static_steps": config.static_steps, "steps": config.steps, "render_px": config.size, "splats": summary.get("splats"),
        **seconds, "total_s": round(total, 2),
    }
    if cuda:
        report["peak_gb"] = {stage: peaks[stage] for stage in order}
        report["meets_3min"] = total <= 180.0
    return report


if __name__ == "__main__":
    main()
