"""Reconstruction: fit Gaussians to posed photographs (3DGS on a NeRF-synthetic dataset).

Without a point cloud the run starts, as 3DGS does for synthetic scenes, from random Gaussians in a
cube around the point the cameras look at, sized to what every camera sees there, keeping those
inside every view's silhouette (the visual hull of the alpha masks). Each step renders
a few training views, takes 3DGS's L1 + D-SSIM loss, steps Adam and lets the densification
strategy clone, split and prune. The run yields Progress every step (loss, PSNR of the step's
views, splat count), a Snapshot of the cloud now and then, checkpoints when the runtime asks,
and at the end writes a standard 3DGS PLY, scores the held-out views when the dataset has a test
split, and yields Result.

torch is imported inside :func:`reconstruct`, so listing engines stays light.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterator, Literal

import numpy as np

from engines.fields import Preset, check_fields
from engines.optim_settings import DensifySettings, LearningRates
from engines.registry import register_engine
from scene import Camera, GaussianCloud

if TYPE_CHECKING:
    import torch

    from engines.data import Views
    from engines.optim import GaussianModel
    from engines.runtime.context import RunContext
    from engines.runtime.events import Event


@dataclass
class ReconstructConfig:
    """Settings of a reconstruction; the defaults (Balanced) suit ~64 px images on a CPU in a few minutes."""

    data: str = field(metadata={"path": "folder"})
    """Dataset folder in NeRF-synthetic layout (transforms_train.json, or transforms.json)."""
    out: str = field(default="", metadata={"path": "save", "extensions": (".ply", ".splat")})
    """Splat file (.ply or .splat) to write at the end; empty: reconstruction.ply in the run folder."""
    steps: int = field(default=600, metadata={"min": 1})
    """Optimization steps."""
    resolution: int = field(default=256, metadata={"min": 0})
    """Downscale images so the longer side is at most this many pixels (0: as stored)."""
    background: tuple[float, float, float] = field(default=(1.0, 1.0, 1.0), metadata={"min": 0.0, "max": 1.0})
    """RGB 0-1 the transparent parts of the images are composited on, and rendered over."""
    sh_degree: int = field(default=2, metadata={"min": 0, "max": 3, "advanced": True})
    """Spherical-harmonic degree of the colours (0: no view dependence)."""
    sh_interval: int = field(default=150, metadata={"min": 1, "advanced": True})
    """Steps between adding one more SH band (3DGS: 1000 of 30k)."""
    init_points: int = field(default=4000, metadata={"min": 1, "advanced": True})
    """Random Gaussians to start from, inside the silhouettes (fewer when the hull is tiny)."""
    init_extent: float = field(default=0.0, metadata={"min": 0.0, "advanced": True})
    """Half side of the start cube in world units (0: fitted to the cameras' common view)."""
    views_per_step: int = field(default=1, metadata={"min": 1, "advanced": True})
    """Training views rendered and compared in each step."""
    lambda_dssim: float = field(default=0.2, metadata={"min": 0.0, "max": 1.0, "advanced": True})
    """Weight of D-SSIM against L1 in the loss (3DGS: 0.2)."""
    snapshot_every: int = field(default=25, metadata={"min": 1, "advanced": True})
    """Steps between snapshots of the cloud."""
    seed: int = field(default=0, metadata={"min": 0, "max": 2**31 - 1, "seed": True, "advanced": True})
    """Random seed (start cloud, view order, splits)."""
    backend: Literal["auto", "gsplat", "torch"] = field(default="auto", metadata={"advanced": True})
    """Rasterizer: gsplat on CUDA, our PyTorch one elsewhere ("auto" picks)."""
    densify: DensifySettings = field(
        default_factory=lambda: DensifySettings(
            grow_grad2d=2e-4, refine_start=100, refine_stop=400, refine_every=50, reset_every=250, max_splats=5000
        ),
        metadata={"advanced": True},
    )
    """When and how Gaussians are cloned, split and pruned (scaled down from 3DGS's 30k steps)."""
    learning_rates: LearningRates = field(default_factory=LearningRates, metadata={"advanced": True})
    """Adam's learning rate of each kind of parameter (3DGS's)."""

    # Fast preview / Balanced / Quality: the steps, image size and splat budget chosen together. Balanced
    # is the defaults above. On one CPU core, 40 views of 64 px (benches/reconstruct.py's scene): fast
    # 19 s, 24.4 dB held-out PSNR; balanced 45 s, 28.4 dB (the former defaults, 800 steps of up to
    # 8000 splats of SH degree 3: 29.6 dB for three times the time).
    PRESETS: ClassVar[tuple[Preset, ...]] = (
        Preset("fast", "Fast preview", "a rough cloud in about a minute on a laptop CPU: fewer steps, smaller "
               "images, fewer splats, little view-dependent colour", {
                   "steps": 300, "resolution": 128, "sh_degree": 1, "sh_interval": 100, "init_points": 2000,
                   "densify.refine_start": 50, "densify.refine_stop": 200, "densify.refine_every": 25,
                   "densify.reset_every": 0, "densify.max_splats": 3000,
               }),
        Preset("balanced", "Balanced", "a clean object in a few minutes on a laptop CPU, from images of at most "
               "256 px (the defaults)"),
        Preset("quality", "Quality", "sharper detail from the full-size images, many more steps and splats: "
               "for a GPU, or a long wait on a CPU", {
                   "steps": 3000, "resolution": 0, "sh_degree": 3, "sh_interval": 500, "init_points": 8000,
                   "densify.refine_start": 300, "densify.refine_stop": 2000, "densify.refine_every": 100,
                   "densify.reset_every": 1000, "densify.max_splats": 40000,
               }),
    )

    def __post_init__(self) -> None:
        check_fields(self)


@register_engine("reconstruct", ReconstructConfig)
def reconstruct(config: ReconstructConfig, ctx: "RunContext") -> Iterator["Event"]:
    """Reconstruct a scene as Gaussians from posed images (NeRF-synthetic layout).

    Optimizes 3DGS's loss from random Gaussians inside the silhouettes and writes a standard PLY.
    """
    import torch

    from engines.data import has_split, load_views
    from engines.optim import DensifyStrategy, GaussianModel, optimization_step, photometric_loss, psnr
    from engines.optim.checkpoint import start_training, training_state
    from engines.runtime.events import MAIN, Log, Preparing, Progress, Result, Snapshot
    from scene.io import save

    started = time.perf_counter()
    yield Preparing(None, "loading the training views")
    train = load_views(config.data, "train", config.background, config.resolution or None)
    yield Log(f"{len(train)} training views of {train.images.shape[2]}x{train.images.shape[1]} px")
    device = torch.device(ctx.device)
    centre, half_extent, scene_scale = scene_bounds(train.cameras)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    cloud = hull_init(train, config.init_points, centre, config.init_extent or half_extent, config.sh_degree, rng)
    yield Log(f"started from {len(cloud)} Gaussians inside the views' silhouettes")
    model = GaussianModel.from_cloud(
        cloud, config.sh_degree, device, lrs=config.learning_rates, scene_scale=scene_scale, steps=config.steps,
        sh_interval=config.sh_interval,
    )
    strategy = DensifyStrategy(**dataclasses.asdict(config.densify))
    strategy_state, first = start_training(model, strategy, scene_scale, ctx.resume_state)
    if first > 1:
        yield Log(f"resumed after step {first - 1} with {len(model)} splats")

    images = torch.as_tensor(train.images, device=device)  # [V, H, W, 3]
    viewmats, Ks, width, height = _camera_tensors(train.cameras, device)
    background = torch.as_tensor(config.background, dtype=torch.float32, device=device)
    for step in range(first, config.steps + 1):
        views = view_schedule(len(train), config.views_per_step, step, config.seed)
        out = _render(model, viewmats[views], Ks[views], width, height, background, model.active_sh_degree(step), config.backend)
        loss = photometric_loss(out.rgb, images[views], config.lambda_dssim)
        optimization_step(model, strategy, strategy_state, step, out, loss)
        if ctx.should_checkpoint(step):
            ctx.save_checkpoint(step, training_state(model, strategy_state, step))
        if step % config.snapshot_every == 0 and ctx.wants_snapshot():
            yield Snapshot(model.live_arrays())  # copied before the next step; the view validates it
        metrics = {"loss": loss.item(), "psnr": psnr(out.rgb, images[views]), "splats": float(len(model))}
        yield Progress(step, config.steps, metrics)

    final = model.to_cloud()
    yield Snapshot(final)
    summary = {"steps": config.steps, "splats": len(model), "seconds": time.perf_counter() - started}
    summary["train_psnr"] = evaluate(model, train, background, config.backend, device)
    if has_split(config.data, "test"):
        test = load_views(config.data, "test", config.background, config.resolution or None)
        summary["test_psnr"] = evaluate(model, test, background, config.backend, device)
    out_path = ctx.save_output(lambda path: save(path, final), config.out, "reconstruction.ply")
    if out_path is None:
        yield Log("no output file: give `out` or run with a run folder", "warning")
    outputs = {} if out_path is None else {MAIN: str(out_path)}
    yield Result(list(outputs.values()), summary, outputs)


# --------------------------------------------------------------------- scene set-up
def scene_bounds(cameras: list[Camera]) -> tuple[np.ndarray, float, float]:
    """``(centre [3], half_extent, scene_scale)`` of a capture around an object.

    The centre is the point nearest (least squares) to every optical axis, where the cameras look.
    ``half_extent`` is the half-width every camera sees at that point (the object fits in a cube of
    that half side); ``scene_scale`` is 1.1 times the farthest camera's distance from the centre
    (3DGS's camera extent), the unit of the means' learning rate and of the size thresholds.
    """
    eyes = np.stack([c.position for c in cameras])  # [V, 3]
    dirs = np.stack([c.forward for c in cameras])  # [V, 3]
    proj = np.eye(3)[None] - dirs[:, :, None] * dirs[:, None, :]  # [V, 3, 3] onto each axis' normal
    a, b = proj.sum(axis=0), np.einsum("vij,vj->i", proj, eyes)
    centre = np.linalg.lstsq(a, b, rcond=None)[0] if len(cameras) > 1 else eyes[0] + dirs[0]
    dist = np.linalg.norm(eyes - centre, axis=1)  # [V]
    half_fov = np.array([min(c.width, c.height) / (2.0 * c.fx) for c in cameras])  # tan of the half angle
    return centre, float(np.min(dist * half_fov)), float(1.1 * dist.max())


def hull_init(
    views: "Views",
    count: int,
    centre: np.ndarray,  # [3]
    half_extent: float,
    sh_degree: int,
    rng: np.random.Generator,
    candidates: int = 8,
    opacity: float = 0.1,
) -> GaussianCloud:
    """Up to ``count`` random Gaussians inside the visual hull of the views' alpha masks.

    3DGS starts synthetic scenes from random points in a cube; carving them with the silhouettes
    first puts every Gaussian where some surface can be, so the few thousand a CPU can afford are
    not spent on empty space. ``candidates * count`` points are drawn in the cube; one is kept when
    every view that has it in frame shows the object there (alpha >= 0.5), and takes the mean
    colour of those pixels. Opaque images carve nothing: the plain random start. Scales are the
    mean spacing of the kept points; opacities start low, as in 3DGS.
    """
    points = centre + rng.uniform(-half_extent, half_extent, size=(count * candidates, 3))  # [M, 3]
    inside = np.ones(len(points), dtype=bool)  # [M]
    colour_sum = np.zeros((len(points), 3))  # [M, 3]
    seen = np.zeros(len(points))  # [M]
    for image, alpha, camera in zip(views.images, views.alphas, views.cameras):
        uv, depth = camera.project(points)
        px = np.floor(uv).astype(np.int64)  # [M, 2]
        in_frame = (depth > 0) & (px >= 0).all(axis=1) & (px[:, 0] < camera.width) & (px[:, 1] < camera.height)
        x, y = np.clip(px[:, 0], 0, camera.width - 1), np.clip(px[:, 1], 0, camera.height - 1)
        inside &= ~in_frame | (alpha[y, x] >= 0.5)
        colour_sum += image[y, x] * in_frame[:, None]
        seen += in_frame
    kept = np.flatnonzero(inside) if inside.any() else np.arange(len(points))
    chosen = rng.choice(kept, size=min(count, len(kept)), replace=False)
    hull_volume = (2.0 * half_extent) ** 3 * len(kept) / len(points)
    spacing = (hull_volume / len(chosen)) ** (1.0 / 3.0)
    colours = colour_sum[chosen] / np.maximum(seen[chosen], 1)[:, None]
    return GaussianCloud.create(points[chosen], spacing, np.clip(colours, 0, 1), opacities=opacity, sh_degree=sh_degree)


def view_schedule(n_views: int, per_step: int, step: int, seed: int) -> list[int]:
    """The training views of ``step`` (1-based): epochs of shuffled views, a function of the step
    alone so a resumed run sees the same views as an uninterrupted one."""
    per_step = min(per_step, n_views)
    per_epoch = n_views // per_step
    epoch, slot = divmod(step - 1, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n_views)
    return order[slot * per_step : (slot + 1) * per_step].tolist()


# --------------------------------------------------------------------- rendering and scoring
def _camera_tensors(cameras: list[Camera], device: "torch.device") -> tuple["torch.Tensor", "torch.Tensor", int, int]:
    from engines.rasterizer import camera_to_tensors

    return camera_to_tensors(cameras, device=device)


def _render(model: "GaussianModel", viewmats, Ks, width: int, height: int, background, sh_degree: int, backend: str):
    """Render the model from ``viewmats [C, 4, 4]`` / ``Ks [C, 3, 3]`` with the given SH bands."""
    from engines.rasterizer import rasterize

    return rasterize(
        model.params["means"],
        model.params["quats"],
        model.scales,
        model.opacities,
        model.sh,
        viewmats,
        Ks,
        width,
        height,
        sh_degree=sh_degree,
        background=background,
        backend=backend,
    )


def evaluate(model: "GaussianModel", views: "Views", background, backend: str, device, chunk: int = 8) -> float:
    """PSNR (dB) of the model over all ``views``, rendered with every SH band."""
    import torch

    from engines.optim import psnr

    viewmats, Ks, width, height = _camera_tensors(views.cameras, device)
    with torch.no_grad():
        renders = torch.cat([
            _render(model, viewmats[i : i + chunk], Ks[i : i + chunk], width, height, background, model.sh_degree, backend).rgb
            for i in range(0, len(views), chunk)
        ])
    return psnr(renders, torch.as_tensor(views.images, device=device))
