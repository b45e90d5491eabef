"""Animate-4D bench: how well and how fast the motion stage recovers a known moving object.

The moving object is made here: the striped ball of ``tests/known_objects.py`` turning about its
vertical axis, sliding sideways, bobbing and bending over the clip (:func:`moving_ball`). The
run starts from the known static object, through the same code path as ``--object``
(:func:`engines.animate_4d.read_object` on the ball saved as a PLY), and learns the motion with
the engine's own stage (:func:`engines.animate_4d.animate`: the deformation field, the reference
view held to each frame, novel-view SDS per frame, the regularizers) under oracle priors
(``engines/priors/oracle.py``): the driving video is the oracle image-to-video, the ball's true
renders from the reference camera at the frames' times (with the true alpha: the oracle's camera
is the reference camera, so the engine's crop of real footage is not applied), and each frame's
novel-view prior is an oracle SDS answering with the true renders of the ball at that frame's
time. The learnt motion is baked into a clip (:func:`engines.animate_4d.bake_clip`) and scored
where it was not trained: PSNR of the clip played at held-out times (between the frames,
interpolated as the viewport plays it) from held-out cameras, against the true renders of the
ball at those times; and the same for the ball left still (what the motion adds). Prints one JSON line.

    python benches/animate_4d.py [--steps 300] [--size 64] [--frames 14] [--tiny --device cpu]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engines.animate_4d import Animate4DConfig, animate, bake_clip, read_object  # noqa: E402
from engines.deformation_settings import DeformationSettings  # noqa: E402
from engines.object_stages import orbit_camera  # noqa: E402
from engines.optim import psnr  # noqa: E402
from engines.priors.oracle import OracleVideo, cloud_truth, frame_times, motion_priors, motion_video  # noqa: E402
from engines.priors.sds import TimestepRange  # noqa: E402
from engines.priors.settings import SDSSettings  # noqa: E402
from engines.priors.views import View  # noqa: E402
from engines.reference_image import Reference  # noqa: E402
from engines.runtime import RunContext, drain  # noqa: E402
from scene import GaussianCloud  # noqa: E402
from scene.io import save  # noqa: E402
from tests.known_objects import striped_ball  # noqa: E402

TURN, SLIDE, BOB, BEND = 40.0, 0.2, 0.08, 0.25
"""Over the clip the ball turns TURN degrees about +Y, slides SLIDE to +X, bobs up by BOB at mid-clip
and bends: its points move along +X by BEND times their squared height over its radius."""


def moving_ball(ball: GaussianCloud, radius: float = 0.45):
    """The known motion: clip time (0-1) -> the ball then."""

    def at(t: float) -> GaussianCloud:
        angle = math.radians(TURN * t)
        c, s = math.cos(angle), math.sin(angle)
        rotation = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        means = ball.means.astype(np.float64) @ rotation.T
        means[:, 0] += SLIDE * t + BEND * t * means[:, 1] ** 2 / radius
        means[:, 1] += BOB * math.sin(math.pi * t)
        turn = np.array([math.cos(angle / 2), 0.0, math.sin(angle / 2), 0.0])
        w1, v1 = turn[0], turn[1:]
        w2, v2 = ball.quats[:, 0].astype(np.float64), ball.quats[:, 1:].astype(np.float64)
        quats = np.concatenate([(w1 * w2 - v2 @ v1)[:, None], w1 * v2 + w2[:, None] * v1 + np.cross(v1, v2)], axis=1)
        return ball.replace(means=means.astype(np.float32), quats=quats.astype(np.float32))

    return at


def true_frames(motion, config: Animate4DConfig) -> list[Reference]:
    """The oracle video's frames from the reference camera, each with its true alpha (from the
    renders on white and on black)."""
    front = orbit_camera(0.0, config.elevation, config.cameras.radius, config.size, config.cameras.fov_y)
    on_white = OracleVideo(motion_video(motion, front, 1.0))(np.zeros((config.size, config.size, 3)), config.frames)
    on_black = OracleVideo(motion_video(motion, front, 0.0))(np.zeros((config.size, config.size, 3)), config.frames)
    alpha = np.clip(1.0 - (on_white - on_black).mean(axis=-1), 0.0, 1.0)
    return [Reference(rgb.copy(), a.copy()) for rgb, a in zip(on_white, alpha)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, default=64, help="render side of the reference view")
    parser.add_argument("--frames", type=int, default=14)
    parser.add_argument("--splats", type=int, default=3000, help="splats of the known ball")
    parser.add_argument("--elevation", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tiny", action="store_true", help="a few steps on a small ball and grid (a smoke test)")
    args = parser.parse_args()
    if args.tiny:
        args.steps, args.size, args.frames, args.splats = min(args.steps, 4), min(args.size, 32), min(args.frames, 4), 500
    deformation = DeformationSettings(resolution=(16, 16, 16, 8), features=8) if args.tiny else DeformationSettings()
    with tempfile.TemporaryDirectory() as folder:
        ply = Path(folder) / "ball.ply"
        save(ply, striped_ball(args.splats))
        config = Animate4DConfig(
            object=str(ply), out=str(Path(folder) / "ball.a4d"), steps=args.steps, size=args.size, frames=args.frames, elevation=args.elevation, seed=args.seed,
            frames_per_step=2, snapshot_every=10**6, deformation=deformation,
        )
        report = bench(config, torch.device(args.device))
    report["tiny"] = args.tiny
    print(json.dumps(report))


def bench(config: Animate4DConfig, device: torch.device) -> dict:
    """The figures of one oracle run of ``config`` (its ``object`` is the known ball, still)."""
    ball = read_object(config.object)
    motion = moving_ball(ball)
    references = true_frames(motion, config)
    low, start_high, end_high = config.timesteps
    settings = SDSSettings(timesteps=TimestepRange(low, start_high, end_high))
    priors = motion_priors(motion, frame_times(config.frames), settings, torch.Generator().manual_seed(config.seed))
    started = time.perf_counter()
    deformation, canonical = drain(animate(config, ball, references, priors, RunContext(), device))
    seconds = time.perf_counter() - started
    fps = 7.0
    clip = bake_clip(deformation, canonical, config.frames, fps)
    radius, fov_y = config.cameras.radius, config.cameras.fov_y
    views = [View(a, e, radius, orbit_camera(a, e, radius, config.size, fov_y)) for a in (35.0, 125.0, 215.0, 305.0) for e in (-20.0, 25.0)]
    front = [View(0.0, config.elevation, radius, orbit_camera(0.0, config.elevation, radius, config.size, fov_y))]
    last = config.frames - 1
    held_out_times = [(k + 0.5) / last for k in range(0, last, max(1, last // 4))]

    def score(cloud_at, cameras) -> float:
        renders = torch.cat([cloud_truth(cloud_at(t))(cameras) for t in held_out_times])
        truths = torch.cat([cloud_truth(motion(t))(cameras) for t in held_out_times])
        return round(psnr(renders, truths), 2)

    def played(t: float) -> GaussianCloud:
        return clip.at(t * last / fps)

    report = {
        "bench": "animate_4d", "prior": "oracle video + oracle novel-view SDS per frame (true renders of a known moving object)",
        "start": "the known static object, as --object", "steps": config.steps, "frames": config.frames,
        "frames_per_step": config.frames_per_step, "render_px": config.size, "splats": clip.count,
        "seconds": round(seconds, 1), "steps_per_s": round(config.steps / seconds, 2),
        "held_out_times": [round(t, 3) for t in held_out_times], "held_out_views": len(views),
        "still_test_psnr_db": score(lambda t: ball, views),
        "reference_test_psnr_db": score(played, front),
        "test_psnr_db": score(played, views),
        "device": str(device), "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
    }
    report["meets_24db"] = report["test_psnr_db"] >= 24.0
    return report


if __name__ == "__main__":
    main()
