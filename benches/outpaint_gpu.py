"""Outpaint-scene on full-size SD 2 inpainting and Depth-Anything-V2-Small (random weights): time and peak GPU memory.

The run is the engine's own: :func:`engines.outpaint_scene.dream_scene` (each further camera's
holes painted by the inpainting model, their depth estimated by the depth model, fitted, stitched
and lifted) then :func:`engines.outpaint_scene.optimize_scene` (all the Gaussians trained on all the
views), under the engine's priors (:class:`Inpainter`, :class:`DepthEstimator`) at its defaults: 10
views of 512 px, 30 denoising steps a view, 3000 optimization steps, from a synthetic picture. The
networks are built from the published configs with random weights (no download: the compute and
the memory are the real models'; the pictures are noise): ``stabilityai/stable-diffusion-2-inpainting``
(``benches/sds_gpu.py``'s SD 2 networks with a 9-channel UNet) and
``depth-anything/Depth-Anything-V2-Small-hf`` with its image processor, both in fp16 on CUDA.
Target (issue 15): a peak of <= 10 GB and the 10-view scene with 3000 steps in <= 4 minutes on an H100.

``--tiny --device cpu`` runs the same code on the tiny test models (a smoke test of this script on
a machine without a GPU). Prints one JSON line.

    python benches/outpaint_gpu.py [--views 10] [--steps 3000] [--size 512] [--tiny --device cpu]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches.sds_gpu import frozen_pipeline  # noqa: E402
from engines.models.loading import DepthModel  # noqa: E402
from engines.outpaint_scene import Dreamers, OutpaintSceneConfig, dream_scene, optimize_scene  # noqa: E402
from engines.priors.depth import DepthEstimator  # noqa: E402
from engines.priors.inpaint import Inpainter  # noqa: E402
from engines.runtime import RunContext, drain  # noqa: E402
from engines.runtime.events import Event, Log, Progress  # noqa: E402
from tests.tiny_models import build_depth  # noqa: E402

DINOV2_SMALL = dict(
    hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4, patch_size=14, image_size=518,
    out_features=["stage3", "stage6", "stage9", "stage12"], reshape_hidden_states=False,
)
DEPTH_ANYTHING_V2_SMALL = dict(
    reassemble_hidden_size=384, reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[48, 96, 192, 384],
    fusion_hidden_size=64, head_hidden_size=32, head_in_index=-1, patch_size=14, depth_estimation_type="relative",
)
DEPTH_PROCESSOR = dict(
    size={"height": 518, "width": 518}, keep_aspect_ratio=True, ensure_multiple_of=14, resample=3, do_pad=False,
    image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
)


def depth_model(tiny: bool, dtype: torch.dtype, device: str) -> DepthModel:
    """Depth-Anything-V2-Small from its published config (or the ``tiny`` test model), random
    weights, frozen on ``device`` in ``dtype``, with its image processor."""
    from transformers import (
        AutoImageProcessor, AutoModelForDepthEstimation, DepthAnythingConfig, DepthAnythingForDepthEstimation,
        Dinov2Config, DPTImageProcessor,
    )

    if tiny:
        with tempfile.TemporaryDirectory() as tmp:
            folder = build_depth(Path(tmp) / "depth")
            model, processor = AutoModelForDepthEstimation.from_pretrained(folder), AutoImageProcessor.from_pretrained(folder)
    else:
        config = DepthAnythingConfig(backbone_config=Dinov2Config(**DINOV2_SMALL), **DEPTH_ANYTHING_V2_SMALL)
        model, processor = DepthAnythingForDepthEstimation(config), DPTImageProcessor(**DEPTH_PROCESSOR)
    return DepthModel(model.to(device, dtype).requires_grad_(False).eval(), processor)


def synthetic_picture(size: int) -> np.ndarray:
    """A ``size`` square picture ``[H, W, 3]`` 0-1: a sky-to-ground gradient with a checkered floor."""
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    checks = ((np.floor(x * 8) + np.floor(y * 8)) % 2) * (y > 0.5)
    return np.stack([0.3 + 0.5 * y, 0.5 + 0.3 * checks, 0.9 - 0.6 * y], axis=-1).astype(np.float32)


def timed(stage: Iterator[Event], marks: list[float], warnings: list[str], sync: bool) -> Iterator[Event]:
    """``stage``'s events passed on, the time of each progress appended to ``marks`` (after the
    device has finished its work) and each warning's text to ``warnings``."""
    while True:
        try:
            event = next(stage)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, Progress):
            if sync:
                torch.cuda.synchronize()
            marks.append(time.perf_counter())
        elif isinstance(event, Log) and event.level == "warning":
            warnings.append(event.text)
        yield event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--views", type=int, default=10)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--size", type=int, default=512, help="side of the picture and the views in pixels")
    parser.add_argument("--diffusion-steps", type=int, default=30, help="denoising steps of the inpainting per view")
    parser.add_argument("--tiny", action="store_true", help="the tiny test models instead (a smoke test)")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    device = torch.device(args.device)
    pipe, dtype = frozen_pipeline(args.tiny, args.device, inpaint=True)
    dreamers = Dreamers(Inpainter(pipe), DepthEstimator(depth_model(args.tiny, dtype, args.device)))
    config = OutpaintSceneConfig(  # out: the bench keeps the scene in memory, it writes no file
        prompt="a cosy living room", views=args.views, steps=args.steps, resolution=args.size,
        diffusion_steps=args.diffusion_steps, out="scene.ply",
    )
    picture = synthetic_picture(args.size)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    marks: list[float] = []
    warnings: list[str] = []
    started = time.perf_counter()
    scene = drain(timed(dream_scene(config, picture, dreamers, device), marks, warnings, cuda))
    dreamed = time.perf_counter()
    final = drain(timed(optimize_scene(config, scene, RunContext(device=args.device), device), [], warnings, cuda))
    if cuda:
        torch.cuda.synchronize()
    ended = time.perf_counter()
    total = ended - started
    report = {
        "bench": "outpaint_gpu",
        "models": "tiny" if args.tiny else "SD 2 inpainting + Depth-Anything-V2-Small configs, random weights",
        "device": torch.cuda.get_device_name() if cuda else args.device, "dtype": str(dtype).removeprefix("torch."),
        "views": args.views, "steps": args.steps, "view_px": args.size, "diffusion_steps": args.diffusion_steps,
        "first_view_s": round(marks[0] - started, 3),
        "per_dreamed_view_s": round((marks[-1] - marks[0]) / (len(marks) - 1), 3) if len(marks) > 1 else None,
        "dreaming_s": round(dreamed - started, 2), "optimization_s": round(ended - dreamed, 2), "total_s": round(total, 2),
        "lifted_splats": len(scene.cloud), "final_splats": len(final), "warnings": sorted(set(warnings)),
    }
    if cuda:
        report["peak_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        report["meets_10gb"] = report["peak_gb"] <= 10.0
        report["meets_4min"] = total <= 240.0
    print(json.dumps(report))


if __name__ == "__main__":
    main()
