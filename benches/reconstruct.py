"""Reconstruction bench: how well and how fast the "reconstruct" engine recovers a known scene.

The scene is made here, independently of our rasterizer: a few textured primitives (a checkered
sphere, a striped box, a small plain sphere) lit by a directional light, ray-traced in numpy with
3x3 supersampling, from views spread over a sphere. The images are written in NeRF-synthetic format
(RGBA PNGs, transparent background, file paths without extension) to a temporary folder, every
fifth view held out as the test split. The engine runs with its default settings (plus the image
size and step count given here); the score is the PSNR of the held-out views.

Prints one JSON line: PSNR (test and train), time, steps, splat count, machine.
Usage: ``python benches/reconstruct.py [--device cpu|cuda] [--views 50] [--size 64] [--steps N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from scene import Camera

SUPERSAMPLE = 3
LIGHT = np.array([0.4, 0.8, 0.45]) / np.linalg.norm([0.4, 0.8, 0.45])
AMBIENT = 0.35


# --------------------------------------------------------------------- the scene, ray-traced
def _sphere_hits(origins: np.ndarray, dirs: np.ndarray, centre: np.ndarray, radius: float):
    """Distances ``[R]`` (inf on a miss) and unit normals ``[R, 3]`` of rays against a sphere."""
    oc = origins - centre
    b = np.einsum("ri,ri->r", oc, dirs)
    disc = b * b - (np.einsum("ri,ri->r", oc, oc) - radius * radius)
    t = np.where(disc > 0, -b - np.sqrt(np.maximum(disc, 0)), np.inf)
    t = np.where(t > 1e-6, t, np.inf)
    normals = (origins + np.where(np.isfinite(t), t, 0)[:, None] * dirs - centre) / radius
    return t, normals


def _box_hits(origins: np.ndarray, dirs: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Distances ``[R]`` and unit normals ``[R, 3]`` of rays against an axis-aligned box (slabs)."""
    inv = 1.0 / np.where(np.abs(dirs) > 1e-12, dirs, 1e-12)
    t0, t1 = (lo - origins) * inv, (hi - origins) * inv
    near, far = np.minimum(t0, t1), np.maximum(t0, t1)
    t_in, t_out = near.max(axis=1), far.min(axis=1)
    t = np.where((t_in < t_out) & (t_in > 1e-6), t_in, np.inf)
    axis = near.argmax(axis=1)
    normals = np.zeros_like(dirs)
    normals[np.arange(len(dirs)), axis] = -np.sign(dirs[np.arange(len(dirs)), axis])
    return t, normals


def _checker(points: np.ndarray, centre: np.ndarray) -> np.ndarray:  # [R, 3]
    """A latitude-longitude checker: 8 x 4 cells, red and cream."""
    d = points - centre
    lon = np.arctan2(d[:, 2], d[:, 0])
    lat = np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2]))
    cell = (np.floor(lon / (2 * np.pi) * 8) + np.floor(lat / np.pi * 4)) % 2
    return np.where(cell[:, None] > 0, [0.85, 0.2, 0.15], [0.95, 0.9, 0.75])


def _stripes(points: np.ndarray) -> np.ndarray:  # [R, 3]
    """Diagonal stripes, blue and yellow, 5 per unit."""
    band = np.floor((points[:, 0] + points[:, 1] + points[:, 2]) * 2.5) % 2
    return np.where(band[:, None] > 0, [0.15, 0.35, 0.8], [0.95, 0.8, 0.2])


def trace(origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Premultiplied RGBA ``[R, 4]`` of rays: shaded colour where they hit the scene, 0 elsewhere."""
    big_c, small_c = np.array([-0.35, 0.1, 0.0]), np.array([0.6, 0.55, 0.45])
    lo, hi = np.array([0.0, -0.75, -0.6]), np.array([0.85, 0.05, 0.4])
    hits = [
        _sphere_hits(origins, dirs, big_c, 0.55),
        _box_hits(origins, dirs, lo, hi),
        _sphere_hits(origins, dirs, small_c, 0.22),
    ]
    dist = np.stack([t for t, _ in hits])  # [3, R]
    which = dist.argmin(axis=0)
    t = dist.min(axis=0)
    hit = np.isfinite(t)
    points = origins + np.where(hit, t, 0)[:, None] * dirs
    normals = np.choose(which[:, None], [n for _, n in hits])
    albedo = np.choose(
        which[:, None], [_checker(points, big_c), _stripes(points), np.broadcast_to([0.3, 0.75, 0.35], points.shape)]
    )
    shade = AMBIENT + (1 - AMBIENT) * np.clip(normals @ LIGHT, 0, None)
    rgb = np.clip(albedo * shade[:, None], 0, 1)
    return np.concatenate([rgb, np.ones((len(t), 1))], axis=1) * hit[:, None]


def render_view(camera: Camera) -> np.ndarray:
    """Straight-alpha RGBA ``[H, W, 4]`` float of the scene, supersampled ``SUPERSAMPLE``^2 times."""
    s = SUPERSAMPLE
    w, h = camera.width * s, camera.height * s
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    f = camera.fx * s
    local = np.stack([(xs - w / 2) / f, -(ys - h / 2) / f, -np.ones_like(xs)], axis=-1).reshape(-1, 3)  # OpenGL
    dirs = local @ camera.c2w[:3, :3].T
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    rgba = trace(np.broadcast_to(camera.position, dirs.shape), dirs).reshape(camera.height, s, camera.width, s, 4)
    rgba = rgba.mean(axis=(1, 3))  # premultiplied box filter
    alpha = rgba[..., 3:4]
    return np.concatenate([np.where(alpha > 0, rgba[..., :3] / np.maximum(alpha, 1e-8), 0), alpha], axis=-1)


def sphere_cameras(count: int, size: int, radius: float = 4.0, fov_x: float = 0.6911) -> list[Camera]:
    """``count`` cameras on a Fibonacci sphere, looking at the origin (NeRF-synthetic's field of view)."""
    golden = math.pi * (3 - math.sqrt(5))
    cams = []
    for i in range(count):
        y = 0.9 - 1.6 * (i + 0.5) / count  # stay off the poles, where look-at is ill-posed
        r = math.sqrt(1 - y * y)
        eye = radius * np.array([r * math.cos(golden * i), y, r * math.sin(golden * i)])
        cam = Camera.look_at(eye, np.zeros(3), width=size, height=size)
        cams.append(Camera.from_fov_x(cam.c2w, size, size, fov_x))
    return cams


def write_dataset(folder: Path, cameras: list[Camera], holdout: int = 5) -> None:
    """NeRF-synthetic layout: every ``holdout``-th view in the test split, the rest in train."""
    fov_x = 2 * math.atan(0.5 * cameras[0].width / cameras[0].fx)
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for i, cam in enumerate(cameras):
        split = "test" if i % holdout == holdout - 1 else "train"
        (folder / split).mkdir(parents=True, exist_ok=True)
        rgba = np.round(render_view(cam) * 255).astype(np.uint8)
        Image.fromarray(rgba, "RGBA").save(folder / split / f"r_{i}.png")
        splits[split].append({"file_path": f"./{split}/r_{i}", "transform_matrix": cam.c2w.tolist()})
    for split, frames in splits.items():
        (folder / f"transforms_{split}.json").write_text(json.dumps({"camera_angle_x": fov_x, "frames": frames}))


# --------------------------------------------------------------------- the run
def run_engine(data: Path, device: str, **overrides) -> dict:
    """Run the engine to the end in this process; returns its Result summary plus the PLY path."""
    from engines.reconstruct import ReconstructConfig, reconstruct
    from engines.runtime.context import RunContext
    from engines.runtime.events import Result

    config = ReconstructConfig(data=str(data), out=str(data / "out.ply"), **overrides)
    for event in reconstruct(config, RunContext(None, device)):
        if isinstance(event, Result):
            return {**event.summary, "ply": event.paths[0], "config": dataclasses.asdict(config)}
    raise RuntimeError("the engine ended without a Result")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    parser.add_argument("--views", type=int, default=50, help="views rendered (every fifth held out)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--steps", type=int, default=None, help="optimization steps (default: the engine's)")
    args = parser.parse_args()

    import torch

    with tempfile.TemporaryDirectory(prefix="atelier4d-bench-") as tmp:
        data = Path(tmp)
        made = time.perf_counter()
        write_dataset(data, sphere_cameras(args.views, args.size))
        made = time.perf_counter() - made
        overrides = {"resolution": args.size} | ({"steps": args.steps} if args.steps else {})
        started = time.perf_counter()
        summary = run_engine(data, args.device, **overrides)
        seconds = time.perf_counter() - started
    config = summary.pop("config")
    report = {
        "bench": "reconstruct",
        "test_psnr_db": round(summary["test_psnr"], 2),
        "train_psnr_db": round(summary["train_psnr"], 2),
        "seconds": round(seconds, 1),
        "steps": summary["steps"],
        "splats": summary["splats"],
        "views": {"train": args.views - args.views // 5, "test": args.views // 5, "size": args.size},
        "dataset_seconds": round(made, 1),
        "device": args.device,
        "backend": config["backend"],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "python": sys.version.split()[0],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
