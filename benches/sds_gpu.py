"""SDS step on the full-size Stable Diffusion 2.1 networks (random weights): time and peak GPU memory.

The UNet, VAE and text encoder are built from the published configs of
``stabilityai/stable-diffusion-2-1-base`` with random weights (no download: the compute and the
memory are the real model's; the pictures are noise). One step is what text-to-3D does each
iteration: a 512 px render encoded by the VAE (with its graph), the UNet at a timestep with
classifier-free guidance (batch doubled), the SDS loss and its backward to the render. Timed at
batch 1 and 4 in fp16 after a warm-up; peak memory from ``torch.cuda.max_memory_allocated``.
Target (issue 13): <= 6 GB at batch 1 (threestudio's SD guidance needs about that).

``--tiny --device cpu`` runs the same code on the tiny test models (a smoke test of this script
on a machine without a GPU). Prints one JSON line.

    python benches/sds_gpu.py [--batches 1 4] [--repeats 10] [--tiny --device cpu]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines.priors.text_sds import TextSDS  # noqa: E402
from engines.priors.views import View  # noqa: E402
from tests.tiny_models import build_text, char_tokenizer  # noqa: E402

UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
)
VAE = dict(
    block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=768,
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
)
TEXT = dict(
    vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23,
    max_position_embeddings=77, hidden_act="gelu", projection_dim=512,
)


def full_size_pipeline(dtype: torch.dtype, device: str, inpaint: bool = False):
    """SD 2.1 base's networks from their published configs, random weights; a character tokenizer
    (``inpaint``: SD 2 inpainting's, the same with a 9-channel UNet)."""
    from diffusers import (
        AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, StableDiffusionPipeline, UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = char_tokenizer(Path(tmp) / "tokenizer")
    pipe = (StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline)(
        unet=UNet2DConditionModel(**{**UNET, "in_channels": 9 if inpaint else 4}), vae=AutoencoderKL(**VAE),
        text_encoder=CLIPTextModel(CLIPTextConfig(**TEXT)),
        tokenizer=tokenizer, scheduler=DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    return pipe.to(device, dtype)


def tiny_pipeline(dtype: torch.dtype, device: str, inpaint: bool = False):
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    cls = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    with tempfile.TemporaryDirectory() as tmp:
        return cls.from_pretrained(build_text(Path(tmp) / "text", inpaint=inpaint), safety_checker=None).to(device, dtype)


def frozen_pipeline(tiny: bool, device: str, inpaint: bool = False):
    """The full-size (or ``tiny``) pipeline (``inpaint``: the inpainting one) on ``device``, fp16 on
    CUDA, its networks frozen as a prior's are; returns ``(pipeline, dtype)``."""
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    pipe = (tiny_pipeline if tiny else full_size_pipeline)(dtype, device, inpaint)
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):
        part.requires_grad_(False).eval()
    return pipe, dtype


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--size", type=int, default=512, help="render side in pixels")
    parser.add_argument("--tiny", action="store_true", help="the tiny test models instead (a smoke test)")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    pipe, dtype = frozen_pipeline(args.tiny, args.device)
    prior = TextSDS(pipe, "a wooden chair")
    report = {"bench": "sds_gpu", "models": "tiny" if args.tiny else "SD 2.1 base configs, random weights",
              "device": torch.cuda.get_device_name() if cuda else args.device, "dtype": str(dtype).removeprefix("torch."),
              "render": args.size, "batches": {}}
    for batch in args.batches:
        views = [View(azimuth=360.0 * i / batch) for i in range(batch)]

        def step() -> None:
            images = torch.rand(batch, 3, args.size, args.size, device=args.device, dtype=torch.float32, requires_grad=True)
            prior.loss(images.to(dtype), views, 0.5).backward()

        step()  # warm-up: kernels, allocator, prompt embeddings
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        for _ in range(args.repeats):
            step()
        if cuda:
            torch.cuda.synchronize()
        figures = {"step_s": round((time.perf_counter() - started) / args.repeats, 4)}
        if cuda:
            figures["peak_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        report["batches"][str(batch)] = figures
    if cuda and "1" in report["batches"]:
        report["meets_6gb_at_batch_1"] = report["batches"]["1"]["peak_gb"] <= 6.0
    print(json.dumps(report))


if __name__ == "__main__":
    main()
