"""Image-to-3D bench: how well and how fast the optimization recovers a known object from one picture of it.

The object is made here (``tests/known_objects.py``: a ball of small opaque splats in red and cream
bands). Its picture is its true render from the reference camera (the front, at ``--elevation``),
with the alpha told from true renders on white and on black; the engine's anchor
(:func:`engines.image_to_3d.reference_anchor`) holds the render from that camera to it. The
novel-view prior is the oracle SDS (``engines/priors/oracle.py``), which answers every step with
the true render from the same (absolute) camera, so the run measures image-to-3D's optimization
itself (the anchor and its warm-up, the orbit, render ramp, timestep annealing, densification) without
model weights. Scored on held-out cameras: PSNR of the recovered splats against the true renders;
then stage 2 as the engine runs it: the textured mesh drawn unlit by the viewport's renderer
against the same true renders (``mesh_psnr`` of the text-to-3D bench); whether the mesh is
watertight and within its face budget. Prints one JSON line.

    python benches/image_to_3d.py [--steps 500] [--size 64] [--elevation 15]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benches.text_to_3d import mesh_report  # noqa: E402
from engines.image_to_3d import ImageTo3DConfig, on_orbit, reference_anchor, reference_view  # noqa: E402
from engines.object_stages import grow_object, make_mesh, orbit_camera  # noqa: E402
from engines.optim import psnr  # noqa: E402
from engines.priors.oracle import OracleSDS, cloud_truth  # noqa: E402
from engines.priors.sds import TimestepRange  # noqa: E402
from engines.priors.settings import SDSSettings  # noqa: E402
from engines.priors.views import View  # noqa: E402
from engines.reference_image import Reference  # noqa: E402
from engines.runtime import RunContext, drain  # noqa: E402
from scene import GaussianCloud  # noqa: E402
from tests.known_objects import striped_ball  # noqa: E402


def true_reference(cloud: GaussianCloud, config: ImageTo3DConfig) -> Reference:
    """The picture of ``cloud`` from ``config``'s reference camera at the render side: its true
    render on white, and its alpha from the renders on white and on black (their difference is
    ``1 - alpha`` in every channel)."""
    view = [reference_view(config)]
    on_white, on_black = cloud_truth(cloud, 1.0)(view)[0], cloud_truth(cloud, 0.0)(view)[0]
    alpha = (1.0 - (on_white - on_black).mean(dim=0)).clamp(0.0, 1.0)
    return Reference(on_white.permute(1, 2, 0).numpy().copy(), alpha.numpy().copy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--size", type=int, default=64, help="render side at the end of the run")
    parser.add_argument("--elevation", type=float, default=15.0, help="the reference camera's elevation in degrees")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        picture = Path(folder) / "ball.png"
        picture.touch()  # a config names its picture file; the anchor is given the exact render instead
        config = ImageTo3DConfig(image=str(picture), steps=args.steps, size=args.size, elevation=args.elevation, seed=args.seed)
        print(json.dumps(bench(config)))


def bench(config: ImageTo3DConfig) -> dict:
    """The figures of one oracle run of ``config``."""
    ball = striped_ball()
    truth = cloud_truth(ball)
    reference = true_reference(ball, config)
    low, start_high, end_high = config.timesteps
    prior = OracleSDS(truth, SDSSettings(timesteps=TimestepRange(low, start_high, end_high)), torch.Generator().manual_seed(config.seed))
    anchor = reference_anchor(config, reference, torch.device("cpu"))
    started = time.perf_counter()
    cloud = drain(grow_object(on_orbit(config), prior, RunContext(), torch.device("cpu"), anchor=anchor))
    seconds = time.perf_counter() - started
    mesh = drain(make_mesh(config, cloud))
    mesh_seconds = time.perf_counter() - started - seconds
    radius, fov_y = config.cameras.radius, config.cameras.fov_y
    held_out = [View(a, e, radius, orbit_camera(a, e, radius, config.size, fov_y)) for a in (15.0, 105.0, 195.0, 285.0) for e in (-20.0, 25.0)]
    report = {
        "bench": "image_to_3d", "prior": "oracle SDS (true renders of a known object) + the engine's reference anchor",
        "steps": config.steps, "render_px": config.size, "elevation": config.elevation, "splats": len(cloud),
        "seconds": round(seconds, 1), "steps_per_s": round(config.steps / seconds, 2),
        "reference_psnr_db": round(psnr(cloud_truth(cloud)([reference_view(config)]), truth([reference_view(config)])), 2),
        "gaussians_test_psnr_db": round(psnr(cloud_truth(cloud)(held_out), truth(held_out)), 2),
        "device": "cpu", "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
    }
    report["meets_26db_gaussians"] = report["gaussians_test_psnr_db"] >= 26.0
    report.update(mesh_report(mesh, config, held_out, truth, mesh_seconds))
    return report


if __name__ == "__main__":
    main()
