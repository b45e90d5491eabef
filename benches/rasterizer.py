"""Rasterizer benchmark: our CPU rasterizer against the same tiled compositor in plain autograd.

Both sides share everything but how the compositing backward is made: projection, colours, the
binning and culling (``bin_gaussians``), the per-intersection log-alpha quadratics and the per-block
compositing math. Ours (``rasterize(backend="torch")``) runs the blocks in a
``torch.autograd.Function`` whose hand-written backward recomputes each block; the baseline
(:mod:`engines.rasterizer.autograd_tiles`) runs the same blocks in differentiable ops and lets
autograd keep every block's intermediates and derive the backward. So the speed-up is what the
hand-written backward buys, not what culling buys (both cull alike).

Scene ("a reconstructed object"): N Gaussians on the surface of a unit sphere (radial jitter 3 %),
log-normal anisotropic scales around 0.008 (sigma 0.55-1.1 px at 256x256, bounding radius ~3-4 px),
random rotations, opacities U(0.2, 0.95) and RGB colours U(0, 1), seen from 3 units away with a
50-degree camera; the sphere fills about 75 % of the image height. Loss: sum of rgb and alpha.

Times are medians over ``--repeats`` runs, the two sides alternating so that other load on the
machine hits both alike, on one thread unless ``--threads`` says otherwise: on a shared machine two
threads wait for each other whenever another process holds a core, which moved single runs by 10x
here, while one thread's runs agree within a few percent. Peak memory (Linux) is how far the
resident set of a fresh process rose during one forward+backward after a first one (``VmHWM`` after
a reset through ``/proc/self/clear_refs``), with glibc's mmap threshold pinned low from the start,
so that freed tensors leave the resident set at once instead of being reused unseen. Prints one JSON
line.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing
import os
import platform
import statistics
import time
from typing import Callable

import torch

from engines.rasterizer import camera_to_tensors, rasterize
from engines.rasterizer.autograd_tiles import rasterize_autograd_tiles
from engines.rasterizer.cuda import gsplat_available
from scene import Camera

Renderer = Callable[..., object]
SIDES: dict[str, Callable[[dict], Renderer]] = {
    "ours": lambda view: lambda **p: rasterize(**p, **view, backend="torch"),
    "autograd": lambda view: lambda **p: rasterize_autograd_tiles(**p, **view),
}


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


def fwd_bwd_s(run: Renderer, params: dict, device: str = "cpu") -> tuple[float, float]:
    """Wall seconds of ``run(**leaves)`` and of the backward of sum(rgb) + sum(alpha)."""
    leaves = {k: v.to(device, copy=True).requires_grad_() for k, v in params.items()}
    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    sync()
    start = time.perf_counter()
    out = run(**leaves)
    sync()
    forward = time.perf_counter() - start
    (out.rgb.sum() + out.alpha.sum()).backward()
    sync()
    return forward, time.perf_counter() - start - forward


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def _peak_mb_here(side: str, n: int, size: int, threads: int) -> float:
    """In a fresh process: resident-set growth during a second forward+backward of ``side``, in MB."""
    ctypes.CDLL("libc.so.6").mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD: glibc's adapts upwards otherwise
    torch.set_num_threads(threads)
    params, view = object_scene(n, size)
    run = SIDES[side](view)
    fwd_bwd_s(run, params)  # lazy initialisations
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := the current resident set
    before = _status_kb("VmRSS")
    fwd_bwd_s(run, params)
    return (_status_kb("VmHWM") - before) / 1024


def peak_mb(side: str, n: int, size: int, threads: int) -> float | None:
    """Peak memory of one forward+backward of ``side`` (see the module docstring); None off Linux."""
    if not os.path.exists("/proc/self/clear_refs"):
        return None
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_peak_mb_here, (side, n, size, threads))


def summary(times: list[tuple[float, float]], peak: float | None) -> dict:
    forward, backward = (statistics.median(t) for t in zip(*times))
    total = statistics.median(f + b for f, b in times)
    result = dict(forward_ms=round(1e3 * forward, 1), backward_ms=round(1e3 * backward, 1), total_ms=round(1e3 * total, 1))
    return result | ({"peak_mb": round(peak, 1)} if peak is not None else {})


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def measure(n: int, size: int, repeats: int, threads: int) -> dict:
    """Times (and peak memory) of both sides, and gsplat's where CUDA is, on one scene."""
    params, view = object_scene(n, size)
    times: dict[str, list[tuple[float, float]]] = {side: [] for side in SIDES}
    for i in range(repeats + 1):  # the first round warms up
        for side, make in SIDES.items():
            sample = fwd_bwd_s(make(view), params)
            if i:
                times[side].append(sample)
    entry: dict = dict(gaussians=n, size=f"{size}x{size}")
    for side in SIDES:
        entry[side] = summary(times[side], peak_mb(side, n, size, threads))
    entry["speedup"] = {
        key[: -len("_ms")]: round(entry["autograd"][key] / entry["ours"][key], 2) for key in ("forward_ms", "backward_ms", "total_ms")
    }
    if "peak_mb" in entry["ours"]:
        entry["memory_ratio"] = round(entry["autograd"]["peak_mb"] / max(entry["ours"]["peak_mb"], 0.1), 1)
    if torch.cuda.is_available() and gsplat_available():
        cuda_view = {k: v.cuda() if torch.is_tensor(v) else v for k, v in view.items()}
        gsplat = lambda **p: rasterize(**p, **cuda_view, backend="gsplat")  # noqa: E731
        entry["gsplat"] = summary([fwd_bwd_s(gsplat, params, "cuda") for _ in range(repeats + 2)][2:], None)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (see the docstring)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gaussians", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = [measure(n, size, args.repeats, args.threads) for n in args.gaussians for size in args.sizes]
    print(
        json.dumps(
            dict(
                bench="rasterizer forward+backward",
                compares=(
                    "our CPU rasterizer (tiled, hand-written compositing backward) vs the same tiled compositor "
                    "in plain autograd (same binning, culling and per-block math; autograd derives the backward); "
                    "speedup = autograd time / ours, memory_ratio = autograd peak / ours"
                ),
                units="median ms per call; peak_mb: resident-set growth during one forward+backward",
                repeats=args.repeats,
                results=results,
                machine=dict(
                    cpu=cpu_name(),
                    cpu_count=os.cpu_count(),
                    torch_threads=torch.get_num_threads(),
                    torch=torch.__version__,
                    device="cuda: " + torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                    load_avg_1m=round(os.getloadavg()[0], 2),
                ),
            )
        )
    )


if __name__ == "__main__":
    main()
