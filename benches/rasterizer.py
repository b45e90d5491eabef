"""Rasterizer benchmark: forward+backward time of our tiled PyTorch backend vs a naive dense one.

Scene ("a reconstructed object"): N Gaussians on the surface of a unit sphere (radial jitter 3 %),
log-normal anisotropic scales around 0.008 (sigma 0.55-1.1 px at 256x256, bounding radius ~3-4 px),
random rotations, opacities U(0.2, 0.95) and RGB colours U(0, 1), seen from 3 units away with a
50-degree camera; the sphere fills about 75 % of the image height. Loss: sum of rgb and alpha.

The naive baseline is :func:`engines.rasterizer.reference.composite_dense` (every pixel x every
visible Gaussian, plain autograd, checkpointed pixel chunks). Its cost is the same for every pixel,
so unless ``--full`` is given it is timed on a band of rows through the middle of the image holding
at most ``--naive-pairs`` pixel-Gaussian pairs and scaled by ``height / rows`` (the band's
projection, a fraction of a percent, is scaled along). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch

from engines.rasterizer import camera_to_tensors, rasterize
from engines.rasterizer.cuda import gsplat_available
from engines.rasterizer.formation import render
from engines.rasterizer.reference import composite_dense
from scene import Camera


def object_scene(n: int, size: int, seed: int = 0) -> tuple[dict, dict]:
    """The benchmark scene described in the module docstring."""
    g = torch.Generator().manual_seed(seed)
    dirs = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1)
    params = dict(
        means=dirs * (1 + 0.03 * torch.randn(n, 1, generator=g)),
        quats=torch.randn(n, 4, generator=g),
        scales=0.008 * torch.exp(0.3 * torch.randn(n, 3, generator=g)),
        opacities=0.2 + 0.75 * torch.rand(n, generator=g),
        colors=torch.rand(n, 3, generator=g),
    )
    viewmats, Ks, width, height = camera_to_tensors([Camera.look_at([0, 0, 3.0], [0, 0, 0], width=size, height=size)])
    return params, dict(viewmats=viewmats, Ks=Ks, width=width, height=height)


def fwd_bwd_ms(run, params: dict, repeats: int, warmup: int, device: str = "cpu") -> float:
    """Median wall time of ``run(**leaves)`` plus backward of sum(rgb) + sum(alpha), in ms."""
    times = []
    for i in range(warmup + repeats):
        leaves = {k: v.to(device).requires_grad_() for k, v in params.items()}
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = run(**leaves)
        (out.rgb.sum() + out.alpha.sum()).backward()
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def band_compositor(rows: int, height: int):
    """Dense compositing of ``rows`` rows through the middle of the image (a y-shifted window)."""
    top = (height - rows) // 2

    def compositor(means2d, conics, opacities, features, radii, depths, width, _height):
        shifted = means2d - means2d.new_tensor([0.0, top])
        return composite_dense(shifted, conics, opacities, features, radii, depths, width, rows)

    return compositor


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--naive-repeats", type=int, default=3)
    parser.add_argument("--naive-pairs", type=float, default=5e7)
    parser.add_argument("--full", action="store_true", help="time the naive baseline on whole images")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    results = []
    for n in (10_000, 100_000):
        for size in (128, 256):
            params, view = object_scene(n, size)
            fast = fwd_bwd_ms(lambda **p: rasterize(**p, **view, backend="torch"), params, args.repeats, warmup=1)
            height = view["height"]
            rows = height if args.full else max(1, min(height, int(args.naive_pairs // (n * view["width"]))))
            naive = fwd_bwd_ms(
                lambda **p: render(band_compositor(rows, height), **p, **view), params, args.naive_repeats, warmup=0
            ) * (height / rows)
            entry = dict(
                gaussians=n,
                size=f"{size}x{size}",
                torch_ms=round(fast, 1),
                naive_ms=round(naive, 1),
                speedup=round(naive / fast, 1),
                naive_rows_timed=rows,
            )
            if torch.cuda.is_available() and gsplat_available():
                cuda_view = {k: v.cuda() if torch.is_tensor(v) else v for k, v in view.items()}
                entry["gsplat_ms"] = round(
                    fwd_bwd_ms(lambda **p: rasterize(**p, **cuda_view, backend="gsplat"), params, args.repeats, 2, "cuda"),
                    2,
                )
            results.append(entry)
    print(
        json.dumps(
            dict(
                bench="rasterizer fwd+bwd median ms",
                results=results,
                machine=dict(
                    cpu=cpu_name(),
                    cpu_count=os.cpu_count(),
                    torch_threads=torch.get_num_threads(),
                    torch=torch.__version__,
                    device="cuda: " + torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                    naive_baseline="full images" if args.full else f"middle band <= {args.naive_pairs:.0e} pairs, scaled",
                ),
            )
        )
    )


if __name__ == "__main__":
    main()
