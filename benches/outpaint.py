"""Outpaint-scene bench: how well the scene grown view by view along a path matches a known room.

The room is made here, independently of our rasterizer: a box room (textured walls, a checkered
floor, a ceiling) with a table, a cabinet and a ball in it, ray-traced in numpy (colour 2x2
supersampled, z-depth at the pixel centre), so it gives the true colour and depth from any camera.
The priors are the oracles of ``engines/priors/oracle.py`` answering from it: the inpainting paints
the holes with the true colours; the depth of every new view is relative, as Depth Anything's: the
true disparity under a random scale and shift, plus noise (1% of its spread), which the engine must
fit to the scene. The first view's depth is metric (true plus noise), so the scene has the room's
scale and shape: one relative view cannot give either (:func:`engines.outpaint_scene.first_depth`
says what the engine assumes then). The held-out scores compare the final splats with the true
renders from cameras the engine never used. So the run measures the engine itself: hole masks, the
depth fit and the seams, lifting, merging and the final optimization.

The path walks 2 m into the room turning left, right and back; the engine takes ``--views`` cameras
along it. Scored: PSNR of the final splats on held-out cameras along the path (halfway in time
between the views used) and off it (halfway between keys, 0.3 m to the camera's right), against
the true renders; the error of the placed depth of every newly lifted pixel against the true depth,
as a share of the scene's depth (the first view's median); times. Prints one JSON line.

    python benches/outpaint.py [--width 96] [--height 72] [--views 8] [--steps 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benches.reconstruct import _box_hits, _sphere_hits  # noqa: E402
from engines.optim import psnr  # noqa: E402
from engines.outpaint_scene import (  # noqa: E402
    DreamedView,
    Dreamers,
    OutpaintSceneConfig,
    dream_scene,
    optimize_scene,
    path_cameras,
    render_cloud,
)
from engines.priors.depth import DepthMap  # noqa: E402
from engines.priors.oracle import OracleDepth, OracleInpainter  # noqa: E402
from engines.priors.views import View  # noqa: E402
from engines.runtime import RunContext, drain  # noqa: E402
from scene import Camera, GaussianCloud  # noqa: E402
from scene.camera_path import CameraKey, CameraPath  # noqa: E402

ROOM = (np.array([-3.0, -1.5, -6.0]), np.array([3.0, 1.5, 1.5]))
"""The room's corners: the camera starts at the origin, 1.5 m above the floor."""
TABLE = (np.array([-1.6, -1.5, -3.6]), np.array([-0.4, -0.75, -2.6]))
CABINET = (np.array([1.2, -1.5, -4.8]), np.array([2.2, 0.6, -4.0]))
BALL = (np.array([0.5, -1.05, -2.8]), 0.45)
LIGHT = np.array([0.3, 0.8, 0.5]) / np.linalg.norm([0.3, 0.8, 0.5])
SUPERSAMPLE = 2
ASIDE = 0.3
"""How far the off-path cameras stand to the right of the path, in metres."""


# --------------------------------------------------------------------- the room, ray-traced
def _room_exit(origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances ``[R]`` to the room's inside faces along rays from inside it, and the faces' inward normals."""
    lo, hi = ROOM
    inv = 1.0 / np.where(np.abs(dirs) > 1e-12, dirs, 1e-12)
    far = np.maximum((lo - origins) * inv, (hi - origins) * inv)
    axis = far.argmin(axis=1)
    normals = np.zeros_like(dirs)
    normals[np.arange(len(dirs)), axis] = -np.sign(dirs[np.arange(len(dirs)), axis])
    return far.min(axis=1), normals


def _soft(x: np.ndarray, period: float) -> np.ndarray:
    """A soft square wave of ``period`` in 0-1: stripes with blurred edges, so a few pixels resolve them."""
    return 0.5 + 0.5 * np.tanh(2.5 * np.sin(2 * np.pi * x / period))


def _albedo(which: np.ndarray, points: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """The colour ``[R, 3]`` of each hit: 0 room, 1 table, 2 cabinet, 3 ball."""
    x, y, z = points.T
    floor, ceiling = normals[:, 1] > 0.5, normals[:, 1] < -0.5
    side_wall = np.abs(normals[:, 0]) > 0.5
    along = np.where(side_wall, z, x)  # the horizontal coordinate on a wall
    tiles = _soft(x, 1.0) * _soft(z, 1.0) + (1 - _soft(x, 1.0)) * (1 - _soft(z, 1.0))
    wall_base = np.where(side_wall[:, None], [0.55, 0.7, 0.8], [0.85, 0.75, 0.55])
    wall = wall_base * (0.8 + 0.2 * _soft(along, 0.8))[:, None] * np.where(y < -0.6, 0.7, 1.0)[:, None]
    room = np.where(floor[:, None], np.array([0.45, 0.3, 0.2]) + 0.35 * tiles[:, None], wall)
    room = np.where(ceiling[:, None], np.array([0.9, 0.9, 0.88]) - 0.05 * _soft(x + z, 1.5)[:, None], room)
    table = np.array([0.75, 0.3, 0.2]) * (0.75 + 0.25 * _soft(x + y, 0.4))[:, None]
    cabinet = np.array([0.2, 0.35, 0.7]) * (0.7 + 0.3 * _soft(y, 0.5))[:, None]
    segments = _soft(np.arctan2(z - BALL[0][2], x - BALL[0][0]), np.pi / 3) > 0.5
    ball = np.where(segments[:, None], [0.3, 0.75, 0.35], [0.95, 0.9, 0.6])
    return np.choose(which[:, None], [room, table, cabinet, ball])


def trace(origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shaded colour ``[R, 3]`` and distance ``[R]`` along unit ``dirs`` of rays from inside the room."""
    hits = [
        _room_exit(origins, dirs), _box_hits(origins, dirs, *TABLE), _box_hits(origins, dirs, *CABINET),
        _sphere_hits(origins, dirs, *BALL),
    ]
    distances = np.stack([t for t, _ in hits])  # [4, R]
    which = distances.argmin(axis=0)
    t = distances.min(axis=0)
    normals = np.choose(which[:, None], [n for _, n in hits])
    points = origins + t[:, None] * dirs
    shade = 0.6 + 0.4 * np.clip(normals @ LIGHT, 0.0, None)
    return np.clip(_albedo(which, points, normals) * shade[:, None], 0.0, 1.0), t


def _rays(camera: Camera, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions ``[H*s, W*s, 3]`` of ``samples``^2 rays a pixel, and the cosine of each to the viewing axis."""
    h, w = camera.height * samples, camera.width * samples
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    k = camera.intrinsics()
    local = np.stack([(xs / samples - k[0, 2]) / k[0, 0], (ys / samples - k[1, 2]) / k[1, 1], np.ones_like(xs)], axis=-1)
    rotation = camera.w2c_opencv()[:3, :3]
    dirs = local @ rotation  # R^T d: camera to world
    norm = np.linalg.norm(dirs, axis=-1, keepdims=True)
    return dirs / norm, 1.0 / norm[..., 0]


def true_view(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """The room seen by ``camera``: colour ``[H, W, 3]`` (box-filtered supersamples) and z-depth ``[H, W]``."""
    s = SUPERSAMPLE
    dirs, _ = _rays(camera, s)
    rgb, _ = trace(np.broadcast_to(camera.position, (dirs.size // 3, 3)), dirs.reshape(-1, 3))
    rgb = rgb.reshape(camera.height, s, camera.width, s, 3).mean(axis=(1, 3))
    centres, cosine = _rays(camera, 1)
    _, t = trace(np.broadcast_to(camera.position, (centres.size // 3, 3)), centres.reshape(-1, 3))
    return rgb.astype(np.float32), (t.reshape(camera.height, camera.width) * cosine).astype(np.float32)


def room_oracles(noise: float = 0.01, seed: int = 0) -> Dreamers:
    """Inpainting and depth answered from the room: the first view's depth metric, every later one's
    relative (disparity under a new random scale and shift each time), all with ``noise``."""
    def depth(view: View) -> np.ndarray:
        return true_view(view.camera)[1]

    metric = OracleDepth(depth, kind="metric", noise=noise, seed=seed)
    relative = OracleDepth(depth, kind="disparity", noise=noise, seed=seed + 1)
    asked = []

    def estimate(image: np.ndarray, *, view: View) -> DepthMap:
        asked.append(view)
        return (metric if len(asked) == 1 else relative)(image, view=view)

    return Dreamers(OracleInpainter(lambda view: true_view(view.camera)[0]), estimate)


# --------------------------------------------------------------------- the path and the held-out cameras
def walk() -> CameraPath:
    """Two metres into the room, turning 30 degrees left, 25 right and back, level, 60 degree field of view."""
    keys = [((0.0, 0.0, 0.0), 0.0), ((0.3, 0.0, -0.7), 30.0), ((-0.3, 0.0, -1.4), -25.0), ((0.0, 0.0, -2.0), 0.0)]
    out = []
    for i, (eye, yaw) in enumerate(keys):
        ahead = np.array([-np.sin(np.radians(yaw)), 0.0, -np.cos(np.radians(yaw))])
        out.append(CameraKey.look_at(np.array(eye), np.array(eye) + ahead, 2.0 * i, 60.0))
    return CameraPath(tuple(out))


def held_out(path: CameraPath, views: int, width: int, height: int) -> tuple[list[Camera], list[Camera]]:
    """Cameras along the path halfway in time between the views used, and off it: halfway between
    keys, moved ``ASIDE`` to the camera's right."""
    times = np.linspace(0.0, path.duration, views)
    along = [path.camera_at(float(t), width, height) for t in 0.5 * (times[1:] + times[:-1])]
    off = []
    for a, b in zip(path.keys, path.keys[1:]):
        camera = path.camera_at(0.5 * (a.time + b.time), width, height)
        c2w = camera.c2w.copy()
        c2w[:3, 3] += ASIDE * c2w[:3, 0]
        off.append(dataclasses.replace(camera, c2w=c2w))
    return along, off


def scene_psnr(cloud: GaussianCloud, cameras: list[Camera], device: torch.device) -> float:
    """PSNR (dB) of ``cloud``'s renders (on black) against the room, over all ``cameras``."""
    renders = torch.stack([render_cloud(cloud, camera, device)[0].cpu() for camera in cameras])
    truth = torch.stack([torch.from_numpy(true_view(camera)[0]) for camera in cameras])
    return psnr(renders, truth)


def depth_error(views: list[DreamedView], scene_depth: float) -> tuple[float, float]:
    """Mean absolute error of the placed depth of all newly lifted pixels after the first view, and
    the worst view's, as shares of ``scene_depth``."""
    errors, worst = [], 0.0
    for view in views[1:]:
        if bool(view.new.any()):
            truth = torch.from_numpy(true_view(view.camera)[1])
            error = (view.depth.cpu() - truth)[view.new.cpu()].abs()
            errors.append(error)
            worst = max(worst, float(error.mean()) / scene_depth)
    return float(torch.cat(errors).mean()) / scene_depth if errors else 0.0, worst


def bench(width: int, height: int, views: int, steps: int, noise: float, device: torch.device) -> dict:
    """The engine's stages on the room along :func:`walk` (views of ``width`` x ``height`` px), scored."""
    path = walk()
    with tempfile.TemporaryDirectory() as folder:
        path_file = Path(folder) / "walk.json"
        path.save(path_file)
        config = OutpaintSceneConfig(
            prompt="a room", trajectory=str(path_file), views=views, steps=steps, snapshot_every=10**9,
            out=str(Path(folder) / "room.ply"),  # not written: the bench runs the stages, not the engine
        )
        started = time.perf_counter()
        picture = true_view(path.camera_at(0.0, width, height))[0]
        scene = drain(dream_scene(config, picture, room_oracles(noise), device))
        dreamt = time.perf_counter()
        final = drain(optimize_scene(config, scene, RunContext(), device))
        done = time.perf_counter()
    along, off = held_out(path, views, width, height)
    used = path_cameras(path, views, width, height)
    scene_depth = float(np.median(true_view(used[0])[1]))
    mean_error, worst_error = depth_error(scene.views, scene_depth)
    result = {
        "bench": "outpaint", "size": f"{width}x{height}", "views": views, "steps": steps, "depth_noise": noise,
        "psnr_along": scene_psnr(final, along, device), "psnr_off": scene_psnr(final, off, device),
        "psnr_views": scene_psnr(final, used, device),
        "psnr_along_lifted": scene_psnr(scene.cloud, along, device), "psnr_off_lifted": scene_psnr(scene.cloud, off, device),
        "depth_error": mean_error, "depth_error_worst_view": worst_error, "scene_depth_m": scene_depth,
        "splats_lifted": len(scene.cloud), "splats": len(final),
        "seconds_dreaming": dreamt - started, "seconds_optimizing": done - dreamt, "seconds": done - started,
        "device": str(device), "machine": f"{platform.machine()} {os.cpu_count()} cpus, torch threads {torch.get_num_threads()}",
    }
    result["targets_met"] = result["psnr_along"] >= 25 and result["psnr_off"] >= 22 and mean_error < 0.02
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--height", type=int, default=72)
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--noise", type=float, default=0.01, help="depth noise, as a share of the depth's spread")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    print(json.dumps(bench(args.width, args.height, args.views, args.steps, args.noise, torch.device(args.device))))


if __name__ == "__main__":
    main()
