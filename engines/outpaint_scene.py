"""Outpaint-scene: an explorable splat scene grown around one picture, view by view along a camera path
(LucidDreamer).

Read top to bottom, as diffusers' pipelines are:

1. the inputs: the camera path (a preset or a saved path) and the picture, read and scaled down to
   ``resolution``, or made from the prompt by the text-to-image model; then the inpainting and
   depth models the artist chose (or the config's);
2. the first view: the picture seen from the path's first camera, its depth estimated and lifted into
   Gaussians, one per pixel, sized by the pixel's footprint (:func:`first_depth` says how a relative
   depth gets its scale; :func:`preset_path` how a preset is placed around the first camera);
3. each further camera along the path (:func:`dream_view`): the scene so far rendered (colour,
   opacity, depth), its holes masked (empty pixels and pixels stretched across depth jumps), painted
   in, their depth estimated, fitted to the rendered depth on the known pixels (a robust scale and
   shift) and stitched to it at the seams, and only the new pixels lifted and added; a snapshot
   after each view;
4. the final optimization (:func:`optimize_scene`): all Gaussians trained on all the dreamed views
   (3DGS's L1 + D-SSIM, on the same optimizer core as reconstruct), streamed; then a standard 3DGS
   PLY, and the camera path beside it (for a fly-through video of the scene).

Progress counts the views, then the optimization steps. torch and the models are imported inside the
functions, so listing engines stays light.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from engines.fields import check_fields
from engines.optim_settings import DensifySettings, LearningRates
from engines.registry import register_engine
from scene import Camera, GaussianCloud
from scene.camera_path import PRESETS, CameraPath, preset

if TYPE_CHECKING:
    import torch

    from engines.priors.depth import DepthMap
    from engines.runtime import Event, RunContext

DEPTH_SHRINK = 0.25
"""The scene's depth, which new depth is fitted and stitched to, is read from a render with the splats
this much smaller. Where lifted splats overlap, the expected depth leans towards the nearer ones (they
are composited first), so a blended render puts a slanted surface up to a few percent too near, and
every view fitted to it would add that error to the last; small splats give a pixel its own
surface's depth (where they leave it nearly empty, under 5% opacity, the blended depth is kept)."""


@dataclass(kw_only=True)
class OutpaintSceneConfig:
    """Settings of an outpainted scene; the defaults are a GPU's work: 10 views of 512 px, then 3000 optimization steps."""

    image: str = field(default="", metadata={"path": "image"})
    """The picture to grow the scene around (any aspect ratio); empty: the prompt makes one (one of them is needed)."""
    prompt: str = field(default="", metadata={"multiline": True})
    """What the scene is: it guides the painting of the unseen parts, and without a picture it makes the first one."""
    negative: str = field(default="", metadata={"multiline": True})
    """What the scene should not look like."""
    inpaint_model: str = field(default="", metadata={"model": "inpaint"})
    """Inpainting model: a hub id or a folder; empty: the one chosen in Preferences > Models."""
    depth_model: str = field(default="", metadata={"model": "depth", "depth_of": "image"})
    """Depth model: a hub id or a folder; empty: the one chosen in Preferences > Models."""
    text_model: str = field(default="", metadata={"model": "text"})
    """Text-to-image model, for a prompt without a picture: a hub id or a folder; empty: the Preferences choice."""
    trajectory: str = field(default="lookaround", metadata={"camera_path": True})
    """The camera path: a preset (lookaround, lookdown, rotate360, forward, backforth) placed so that
    its first camera is the picture's, or a saved camera path (.json) whose first camera is."""
    views: int = field(default=10, metadata={"min": 1})
    """Cameras taken along the path, evenly in time, the picture's first: each paints what the scene lacks."""
    steps: int = field(default=3000, metadata={"min": 0})
    """Optimization steps of all the Gaussians on all the views at the end (0: keep the lifted ones)."""
    fov_y: float = field(default=60.0, metadata={"min": 1.0, "max": 170.0})
    """Vertical field of view of the picture and of a preset path, in degrees (a saved path has its own)."""
    seed: int = field(default=0, metadata={"min": 0, "max": 2**31 - 1, "seed": True})
    """Random seed: the same seed gives the same scene."""
    out: str = field(metadata={"path": "save", "extensions": (".ply", ".splat")})
    """Splat file to write at the end (the camera path is written beside it, as NAME.path.json)."""
    resolution: int = field(default=512, metadata={"min": 16, "max": 2048})
    """Longest side of the views in pixels: the picture is scaled down to it, a prompt's picture is this square."""
    scene_depth: float = field(default=2.0, metadata={"min": 1e-3, "advanced": True})
    """For a relative depth model: how far away the middle of the picture's depth is put, in world
    units (the scale a relative depth lacks; a metric model's distances are kept)."""
    far_ratio: float = field(default=20.0, metadata={"min": 1.0, "advanced": True})
    """For a relative depth model: nothing in the picture is put farther than this many times the
    scene depth (the sky, which a relative model puts at infinity)."""
    min_alpha: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0, "advanced": True})
    """A rendered pixel less opaque than this is a hole to paint."""
    max_jump: float = field(default=0.05, metadata={"min": 0.0, "advanced": True})
    """A pixel whose depth differs from a neighbour's by more than this share is stretched across an edge: a hole too."""
    hole_grow: int = field(default=2, metadata={"min": 0, "max": 64, "advanced": True})
    """Pixels the holes are grown by, so the blurry rim around them is painted anew too."""
    seam_reach: float = field(default=24.0, metadata={"min": 1.0, "advanced": True})
    """Pixels over which new depth is bent to meet the old along a hole's border."""
    splat_size: float = field(default=0.5, metadata={"min": 0.01, "max": 4.0, "advanced": True})
    """Size of a lifted Gaussian (its standard deviation) in footprints of its pixel."""
    diffusion_steps: int = field(default=30, metadata={"min": 1, "advanced": True})
    """Denoising steps of the inpainting (and text-to-image) model per picture."""
    guidance: float = field(default=7.5, metadata={"min": 0.0, "advanced": True})
    """How closely the painting follows the prompt (classifier-free guidance)."""
    lambda_dssim: float = field(default=0.2, metadata={"min": 0.0, "max": 1.0, "advanced": True})
    """Weight of D-SSIM against L1 in the final optimization's loss (3DGS: 0.2)."""
    snapshot_every: int = field(default=50, metadata={"min": 1, "advanced": True})
    """Optimization steps between snapshots of the scene."""
    densify: DensifySettings = field(
        default_factory=lambda: DensifySettings(refine_start=0, refine_stop=0, reset_every=0), metadata={"advanced": True}
    )
    """When and how Gaussians are cloned, split and pruned in the final optimization (off: the lifted
    scene already has a Gaussian a pixel; set refine_stop above refine_start to turn it on)."""
    learning_rates: LearningRates = field(default_factory=LearningRates, metadata={"advanced": True})
    """Adam's learning rate of each kind of parameter (3DGS's; the centres' in units of the first view's depth)."""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.trajectory.lower().endswith(".json"):
            if not Path(self.trajectory).is_file():
                raise ValueError(f"trajectory: no camera path file at {self.trajectory!r}")
        elif self.trajectory not in PRESETS:
            raise ValueError(
                f"trajectory: no camera path preset called {self.trajectory!r}; choose one of "
                f"{', '.join(PRESETS)}, or a saved camera path (.json)"
            )


@dataclass(frozen=True)
class Dreamers:
    """The priors that dream the unseen: ``inpaint(image, mask, prompt, *, negative_prompt, steps,
    guidance_scale, seed, view)`` and ``depth(image, *, view) -> DepthMap`` (the models, or oracles)."""

    inpaint: Callable[..., np.ndarray]
    depth: Callable[..., "DepthMap"]


@dataclass(frozen=True)
class DreamedView:
    """One view of the scene as dreamed: its camera, its picture ``[H, W, 3]`` (the render of the
    scene so far, painted in where it lacked), its depth ``[H, W]`` (the scene's, stitched new depth
    in the holes) and ``new`` ``[H, W]`` bool, the pixels lifted into new Gaussians (tensors)."""

    camera: Camera
    image: "torch.Tensor"
    depth: "torch.Tensor"
    new: "torch.Tensor"


@dataclass(frozen=True)
class DreamedScene:
    """What the dreaming made: the lifted Gaussians, the views, and the path they were taken along."""

    cloud: GaussianCloud
    views: list[DreamedView]
    path: CameraPath


@register_engine("outpaint-scene", OutpaintSceneConfig)
def outpaint_scene(config: OutpaintSceneConfig, ctx: "RunContext") -> Iterator["Event"]:
    """An explorable splat scene grown around a picture (or a prompt's picture) along a camera path.

    Paints what each new camera lacks, lifts it with its depth, then optimizes all the views; writes a
    standard PLY and the camera path.
    """
    import torch

    from engines.priors.depth import DepthEstimator
    from engines.priors.inpaint import Inpainter
    from engines.priors.pictures import model_side
    from engines.priors.text_to_image import TextToImage
    from engines.priors.views import View
    from engines.runtime.context import Output
    from engines.runtime.events import MAIN, Log, Preparing, Result, Snapshot
    from scene.io import save

    if not config.image.strip() and not config.prompt.strip():  # a run's check: a form starts with both empty
        raise ValueError("image or prompt: choose a picture to grow the scene around, or say what the scene is")
    started = time.perf_counter()
    yield Preparing(None, "reading the camera path and the picture")
    path_for = path_maker(config)  # a broken path file fails here, before any model loads
    if config.image:
        picture = read_picture(config.image, config.resolution)
    else:
        yield Preparing(None, "loading the text model")
        text = TextToImage(ctx.model("text", source=config.text_model))
        side = model_side(config.resolution)
        picture = text(
            config.prompt, negative_prompt=config.negative, size=side, steps=config.diffusion_steps,
            guidance_scale=config.guidance, seed=config.seed, view=View(camera=first_camera(path_for, side, side)),
        )
        yield Log(f"the text model made the first picture ({side}x{side} px)")
    yield Preparing(None, "loading the inpainting model")
    inpaint = Inpainter(ctx.model("inpaint", source=config.inpaint_model))
    yield Preparing(None, "loading the depth model")
    depth = DepthEstimator(ctx.model("depth", source=config.depth_model))
    yield Log(f"models ready: {type(inpaint.pipeline).__name__}, {type(depth.model.model).__name__}")
    device = torch.device(ctx.device)
    scene = yield from dream_scene(config, picture, Dreamers(inpaint, depth), device)
    final = yield from optimize_scene(config, scene, ctx, device)
    yield Snapshot(final)
    summary = {"views": len(scene.views), "steps": config.steps, "splats": len(final), "seed": config.seed,
               "seconds": time.perf_counter() - started}
    path_name = Path(config.out).with_suffix(".path.json") if config.out else None  # the scene's path beside it
    out_path, path_file = ctx.save_outputs([
        Output(lambda target: save(target, final), config.out, "scene.ply"),
        Output(scene.path.save, path_name, "scene.path.json"),
    ])
    yield Result([str(out_path), str(path_file)], summary, {MAIN: str(out_path)})


# --------------------------------------------------------------------- inputs
def read_picture(path: str, resolution: int) -> np.ndarray:
    """The picture at ``path`` as ``[H, W, 3]`` float32 0-1, on white where it is transparent, scaled
    down (aspect kept) so its longest side is at most ``resolution``."""
    from PIL import Image

    from engines.priors.pictures import from_pil, to_pil
    from engines.reference_image import read_rgba

    rgba = read_rgba(path)
    rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])
    height, width = rgb.shape[:2]
    scale = resolution / max(height, width)
    if scale >= 1.0:
        return rgb.astype(np.float32)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return from_pil(to_pil(rgb).resize(size, Image.Resampling.LANCZOS))


def path_maker(config: OutpaintSceneConfig) -> Callable[[float], CameraPath]:
    """The camera path for a first view whose depth is about ``depth`` (world units): the saved path
    as it is, or the preset placed by :func:`preset_path`."""
    if config.trajectory.lower().endswith(".json"):
        saved = CameraPath.load(config.trajectory)
        return lambda depth: saved
    return lambda depth: preset_path(config.trajectory, depth, config.fov_y)


def preset_path(name: str, depth: float, fov_y: float) -> CameraPath:
    """The preset ``name`` for the box the first camera looks into, shifted so its first key stands
    at the origin: that key is the picture's camera.

    The box is ``depth`` deep and as wide and high, its front face's middle at the origin, so the
    presets that stand at the front (lookaround, lookdown) turn where the picture was taken, forward
    walks half the way to the scene's middle depth and backforth steps back as far; rotate360, which
    stands in the box's middle, turns where the picture was taken too. The presets' orientations do
    not depend on the box, so the first camera is the same for any ``depth``: it is known before the
    picture's depth is. The world is the presets': +Y up, the picture taken at its first key's yaw
    and pitch (lookaround's looks 60 degrees right and 22.5 up), never rolled.
    """
    lo, hi = np.array([-0.5 * depth, -0.5 * depth, -depth]), np.array([0.5 * depth, 0.5 * depth, 0.0])
    start = np.array(preset(name, lo, hi, fov_y_deg=fov_y).keys[0].position)
    return preset(name, lo - start, hi - start, fov_y_deg=fov_y)


def first_camera(path_for: Callable[[float], CameraPath], width: int, height: int) -> Camera:
    """The picture's camera: the path's first, the same whatever the first view's depth turns out to be."""
    return path_for(1.0).camera_at(0.0, width, height)


def path_cameras(path: CameraPath, views: int, width: int, height: int) -> list[Camera]:
    """``views`` cameras evenly in time along ``path``, from its start (the picture's camera) to its end."""
    return [path.camera_at(float(t), width, height) for t in np.linspace(0.0, path.duration, views)]


def first_depth(estimate: "DepthMap", scene_depth: float, far_ratio: float) -> tuple[np.ndarray, str]:
    """The z-depth ``[H, W]`` of the first view from the depth model's estimate, and a warning ("" if none).

    A metric estimate is kept as it is (a pixel without a positive depth is put at ``far_ratio``
    times the median depth). A relative one is disparity known up to a scale and a shift,
    and one view cannot tell either: the shift is taken as zero (Depth Anything's disparity is near
    zero for the sky, so inverse depth is close to proportional to it) and the scale puts the median
    disparity of the picture at ``scene_depth``; disparity under ``1 / far_ratio`` of that median
    (the sky, and whatever the model puts at or behind infinity) is put at ``far_ratio`` times
    ``scene_depth``. A picture without any positive depth becomes a flat wall at ``scene_depth``.
    """
    values = estimate.values.astype(np.float64)
    usable = values[np.isfinite(values) & (values > 0)]
    if usable.size == 0:
        flat = np.full(values.shape, scene_depth, np.float32)
        return flat, "the depth model sees no depth in the picture: it is lifted as a flat wall"
    middle = float(np.median(usable))
    if estimate.kind == "metric":
        return np.where(np.isfinite(values) & (values > 0), values, far_ratio * middle).astype(np.float32), ""
    floor = middle / far_ratio
    disparity = np.where(np.isfinite(values), np.maximum(values, floor), floor)
    return (scene_depth * middle / disparity).astype(np.float32), ""


# --------------------------------------------------------------------- dreaming the views
def dream_scene(
    config: OutpaintSceneConfig, picture: np.ndarray, dreamers: Dreamers, device: "torch.device"
) -> Iterator["Event"]:
    """Stages 2 and 3: the picture lifted from the path's first camera, then every further camera's
    holes painted, their depth placed and lifted; yields a snapshot and progress per view and
    returns the :class:`DreamedScene`."""
    import torch

    from engines.outpaint import lift_gaussians
    from engines.priors.views import View
    from engines.runtime.events import Log, Progress, Snapshot

    height, width = picture.shape[:2]
    path_for = path_maker(config)
    camera = first_camera(path_for, width, height)
    depth, warning = first_depth(dreamers.depth(picture, view=View(camera=camera)), config.scene_depth, config.far_ratio)
    if warning:
        yield Log(warning, "warning")
    path = path_for(float(np.median(depth)))
    cameras = path_cameras(path, config.views, width, height)
    total = config.views + config.steps
    image = torch.as_tensor(picture, dtype=torch.float32, device=device)
    depth_t = torch.as_tensor(depth, device=device)
    everything = torch.ones(depth_t.shape, dtype=torch.bool, device=device)
    cloud = lift_gaussians(image, depth_t, cameras[0], size=config.splat_size)
    views = [DreamedView(cameras[0], image, depth_t, everything)]
    yield Log(f"the picture ({width}x{height} px) lifted into {len(cloud)} Gaussians; {config.views} views along the path")
    yield Snapshot(cloud)
    yield Progress(1, total, {"splats": float(len(cloud)), "new": float(len(cloud))})
    for index, camera in enumerate(cameras[1:], start=1):
        view = yield from dream_view(config, cloud, camera, dreamers, config.seed + index, device)
        new = int(view.new.sum())
        if new:
            lifted = lift_gaussians(view.image, view.depth, camera, view.new, size=config.splat_size)
            cloud = GaussianCloud.concatenate([cloud, lifted])
        views.append(view)
        yield Snapshot(cloud)
        yield Progress(index + 1, total, {"splats": float(len(cloud)), "new": float(new)})
    return DreamedScene(cloud, views, path)


def dream_view(
    config: OutpaintSceneConfig, cloud: GaussianCloud, camera: Camera, dreamers: Dreamers, seed: int, device: "torch.device"
) -> Iterator["Event"]:
    """One new camera: the scene so far rendered, its holes painted, the painted pixels' depth fitted
    to the scene's depth (rendered with small splats, :data:`DEPTH_SHRINK`) on the known pixels and
    stitched to it at the seams; returns the :class:`DreamedView` (whose ``new`` pixels are the holes).
    Yields a warning when the new depth cannot be fitted."""
    import torch

    from engines.outpaint import align_depth, harmonic_fill, hole_mask, stitch_depth
    from engines.priors.views import View
    from engines.runtime.events import Log

    rgb, alpha, blended = render_cloud(cloud, camera, device)
    _, sharp_alpha, sharp = render_cloud(cloud, camera, device, shrink=DEPTH_SHRINK)
    holes = hole_mask(alpha, blended, min_alpha=config.min_alpha, max_jump=config.max_jump, grow=config.hole_grow)
    rendered = torch.where(sharp_alpha > 0.05, sharp, blended)
    if not bool(holes.any()):
        return DreamedView(camera, rgb, rendered, holes)
    view = View(camera=camera)
    painted = dreamers.inpaint(
        rgb.cpu().numpy(), holes.cpu().numpy(), config.prompt, negative_prompt=config.negative, steps=config.diffusion_steps,
        guidance_scale=config.guidance, seed=seed, view=view,
    )
    image = torch.as_tensor(painted, dtype=torch.float32, device=device)
    estimate = dreamers.depth(painted, view=view)
    known = ~holes
    if not bool(known.any()):  # the camera looks away from all of the scene: place the picture as the first one
        distance = float(np.median(np.linalg.norm(cloud.means - camera.position, axis=1)))
        depth, _ = first_depth(estimate, distance, config.far_ratio)
        yield Log("a camera sees nothing of the scene so far: its picture is put at the scene's typical distance", "warning")
        return DreamedView(camera, image, torch.as_tensor(depth, device=device), holes)
    try:
        aligned = align_depth(torch.as_tensor(estimate.values, device=device), estimate.kind, rendered, known)
        depth = stitch_depth(aligned.depth.float(), rendered, known, trusted=aligned.inliers, reach=config.seam_reach)
    except ValueError as exc:  # too little of the scene in view, or a flat estimate: nothing to fit it to
        yield Log(f"a view's new depth could not be fitted ({exc}); its holes continue the scene's depth", "warning")
        depth = harmonic_fill(rendered, known.to(rendered.dtype))
    near = 0.1 * float(rendered[known].clamp(min=1e-6).min())  # align_depth's nearest: the seams' bending stays in front
    return DreamedView(camera, image, depth.clamp(min=near), holes)


def render_cloud(
    cloud: GaussianCloud, camera: Camera, device: "torch.device", shrink: float = 1.0
) -> tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]:
    """The colour ``[H, W, 3]`` (on black), opacity ``[H, W]`` and z-depth ``[H, W]`` of ``cloud`` seen by
    ``camera``, its splats ``shrink`` times their size."""
    import torch

    from engines.rasterizer import camera_to_tensors, rasterize

    arrays = [
        torch.tensor(a, dtype=torch.float32, device=device)
        for a in (cloud.means, cloud.quats, cloud.scales * shrink, cloud.opacities, cloud.sh)
    ]
    viewmats, Ks, width, height = camera_to_tensors([camera], device=device)
    with torch.no_grad():
        out = rasterize(*arrays, viewmats, Ks, width, height, sh_degree=cloud.sh_degree, background=torch.zeros(3, device=device))
    return out.rgb[0], out.alpha[0, ..., 0], out.depth[0, ..., 0]


# --------------------------------------------------------------------- the final optimization
def optimize_scene(
    config: OutpaintSceneConfig, scene: DreamedScene, ctx: "RunContext", device: "torch.device"
) -> Iterator["Event"]:
    """Stage 4: every Gaussian trained on the dreamed views, one view a step in shuffled epochs (L1 +
    D-SSIM on black), densified as ``config.densify`` says; yields progress after the views' and
    snapshots, returns the final cloud. The centres' learning rate and the size thresholds are in
    units of the first view's median depth."""
    import torch

    from engines.optim import DensifyStrategy, GaussianModel, optimization_step, photometric_loss, psnr
    from engines.rasterizer import camera_to_tensors, rasterize
    from engines.reconstruct import view_schedule
    from engines.runtime.events import Progress, Snapshot

    if config.steps == 0:
        return scene.cloud
    torch.manual_seed(config.seed)
    scale = float(scene.views[0].depth.median())
    model = GaussianModel.from_cloud(scene.cloud, 0, device, lrs=config.learning_rates, scene_scale=scale, steps=config.steps)
    strategy = DensifyStrategy(**dataclasses.asdict(config.densify))
    strategy_state = strategy.initialize_state(scale)
    images = torch.stack([view.image for view in scene.views]).to(device)  # [V, H, W, 3]
    viewmats, Ks, width, height = camera_to_tensors([view.camera for view in scene.views], device=device)
    black = torch.zeros(3, device=device)
    for step in range(1, config.steps + 1):
        chosen = view_schedule(len(scene.views), 1, step, config.seed)
        out = rasterize(
            model.params["means"], model.params["quats"], model.scales, model.opacities, model.sh, viewmats[chosen], Ks[chosen],
            width, height, sh_degree=0, background=black,
        )
        loss = photometric_loss(out.rgb, images[chosen], config.lambda_dssim)
        optimization_step(model, strategy, strategy_state, step, out, loss)
        if step % config.snapshot_every == 0 and ctx.wants_snapshot():
            yield Snapshot(model.live_arrays())
        metrics = {"loss": loss.item(), "psnr": psnr(out.rgb, images[chosen]), "splats": float(len(model))}
        yield Progress(len(scene.views) + step, len(scene.views) + config.steps, metrics)
    return model.to_cloud()

