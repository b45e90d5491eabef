"""Text-to-3D bench: how well and how fast the optimization recovers a known object under the oracle prior.

The object is made here (``tests/known_objects.py``: a ball of small opaque splats in red and cream
bands). The oracle SDS (``engines/priors/oracle.py``) answers every step with the true render from
the same camera, so the run measures text-to-3D's optimization itself (cameras, render ramp,
timestep annealing, densification, the learning rates) without model weights. Scored on held-out
cameras not on the training orbit's random draws: PSNR of the recovered splats against the true
renders; then stage 2 as the engine runs it (mesh, UV atlas, baked texture): the textured mesh,
drawn unlit by the viewport's renderer (headless), against the same true renders; whether the mesh
is watertight and within its face budget; and, as a figure of its own, the same mesh with its texture
refined by the oracle refiner (``OracleRefiner``: every bake view answered with the true one), which
measures the refinement's re-bake (stage 2's seconds include it). Prints one JSON line.

    python benches/text_to_3d.py [--steps 500] [--size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engines.optim import psnr  # noqa: E402
from engines.priors.oracle import OracleRefiner, OracleSDS, cloud_truth  # noqa: E402
from engines.priors.views import View  # noqa: E402
from engines.runtime import RunContext, drain  # noqa: E402
from engines.object_stages import MESH, grow_object, make_mesh, orbit_camera  # noqa: E402
from engines.runtime.events import Snapshot  # noqa: E402
from engines.text_to_3d import TextTo3DConfig  # noqa: E402
from tests.known_objects import striped_ball  # noqa: E402


def mesh_psnr(mesh, views, truth) -> float:
    """PSNR of the textured mesh drawn unlit on white by the renderer against the true renders."""
    import numpy as np

    from render import RenderSettings
    from render.offscreen import OffscreenRenderer

    renderer = OffscreenRenderer()
    try:
        settings = RenderSettings(background=(1.0, 1.0, 1.0), lit_meshes=False)
        drawn = np.stack([renderer.render(mesh, view.camera, settings) for view in views]).astype(np.float32) / 255.0
    finally:
        renderer.release()
    true = truth(views).permute(0, 2, 3, 1).numpy()
    return float(10 * np.log10(1.0 / np.mean((drawn - true) ** 2)))


def mesh_report(mesh, config, held_out, truth, seconds: float) -> dict:
    """The figures of stage 2's mesh: faces against the budget, watertight, textured, seconds and
    held-out PSNR, and whether it meets the 22 dB target (``{"mesh": None}`` without a mesh)."""
    if mesh is None:
        return {"mesh": None}
    import trimesh

    figures = {
        "faces": len(mesh.faces), "face_budget": config.meshing.face_budget,
        "watertight": bool(trimesh.Trimesh(mesh.vertices, mesh.faces, process=True).is_watertight),
        "textured": mesh.is_textured, "seconds": round(seconds, 1), "test_psnr_db": round(mesh_psnr(mesh, held_out, truth), 2),
    }
    return {"mesh": figures, "meets_22db_mesh": figures["test_psnr_db"] >= 22.0}


def true_view(truth):
    """The oracle refiner's answer: the true render of a view's camera on white, ``[H, W, 3]``."""
    return lambda view: truth([view])[0].permute(1, 2, 0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--size", type=int, default=64, help="render side at the end of the run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    truth = cloud_truth(striped_ball())
    config = TextTo3DConfig(prompt="(oracle)", steps=args.steps, size=args.size, background="white", seed=args.seed)
    prior = OracleSDS(truth, generator=torch.Generator().manual_seed(args.seed))
    started = time.perf_counter()
    cloud = drain(grow_object(config, prior, RunContext(), torch.device("cpu")))
    seconds = time.perf_counter() - started
    events = []
    refined = drain(make_mesh(config, cloud, refiner=OracleRefiner(true_view(truth)), prompt=config.prompt), events)
    meshes = [e.payload for e in events if isinstance(e, Snapshot) and e.key == MESH]
    mesh = meshes[-2] if refined is not None and refined.is_textured else refined  # the texture as first baked
    mesh_seconds = time.perf_counter() - started - seconds
    held_out = [View(a, e, 2.5, orbit_camera(a, e, 2.5, args.size, 49.1)) for a in (15.0, 105.0, 195.0, 285.0) for e in (-20.0, 25.0)]
    report = {
        "bench": "text_to_3d", "prior": "oracle SDS (true renders of a known object)", "steps": args.steps,
        "render_px": args.size, "splats": len(cloud), "seconds": round(seconds, 1), "steps_per_s": round(args.steps / seconds, 2),
        "gaussians_test_psnr_db": round(psnr(cloud_truth(cloud)(held_out), truth(held_out)), 2),
        "device": "cpu", "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
    }
    report["meets_26db_gaussians"] = report["gaussians_test_psnr_db"] >= 26.0
    report.update(mesh_report(mesh, config, held_out, truth, mesh_seconds))
    if mesh is not None and refined.is_textured:
        report["mesh"]["refined_test_psnr_db"] = round(mesh_psnr(refined, held_out, truth), 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
