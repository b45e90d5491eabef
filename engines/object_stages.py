"""The two stages every object generator shares (DreamGaussian): splats grown on an orbit, then a textured mesh.

An object generator (text-to-3D, image-to-3D) is its prior plus these stages:

1. :func:`grow_object`: Gaussians in a small sphere (:func:`sphere_init`), each step random cameras
   on an orbit around the object (:func:`orbit_views`), renders at a side that ramps up over the run
   (:func:`render_side`) on a white or black background, the prior's loss on them (plus, for a
   generator with a reference picture, an ``anchor`` loss of its own), Adam and densification on the
   same optimizer core as reconstruct, snapshots streamed;
2. :func:`make_mesh`: a mesh from the Gaussians' density (:mod:`engines.meshing.extract`), its UV
   atlas and a base-colour texture baked from renders of the Gaussians (:mod:`engines.meshing.uv_bake`),
   then, for a generator with a refiner, that texture refined (:func:`refine_texture`), streamed
   into a mesh layer of its own under :data:`MESH`.

Their settings are :class:`ObjectStages`, the base of each generator's config: the generator's own
fields (its prompt or picture) lead its form and its ``--help``, these follow.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal

import numpy as np

from engines.fields import check_fields
from engines.meshing.settings import MeshingSettings
from engines.meshing.uv_bake import BakeSettings
from engines.optim_settings import DensifySettings, LearningRates
from scene import Camera, GaussianCloud

MESH = "mesh"
"""The output key of the textured mesh (the splats are the main output)."""
STAGE_2_STEPS = 2
"""Progress steps of stage 2 without refinement: the mesh, then its texture (refinement adds one,
see :func:`stage_2_steps`)."""

if TYPE_CHECKING:
    import torch

    from engines.meshing.uv_bake import BakeView
    from engines.optim import GaussianModel
    from engines.priors.views import View
    from engines.runtime import Event, RunContext
    from scene.mesh import MeshAsset

Anchor = Callable[["GaussianModel", int, float], "torch.Tensor"]
"""A loss of the model at (step, progress) added to the prior's: image-to-3D's reference view."""


@dataclass
class ObjectCameras:
    """Where the training cameras are: on an orbit around the origin, looking at it."""

    radius: float = field(default=2.5, metadata={"min": 0.1})
    """Distance of the cameras from the object's centre (the object fits in a unit sphere)."""
    fov_y: float = field(default=49.1, metadata={"min": 1.0, "max": 170.0})
    """Vertical field of view in degrees."""
    elevation: tuple[float, float] = field(default=(-30.0, 30.0), metadata={"min": -89.0, "max": 89.0})
    """Lowest and highest elevation in degrees."""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.elevation[0] > self.elevation[1]:
            raise ValueError("elevation: the lowest must not be above the highest")


@dataclass
class TextureRefinement:
    """DreamGaussian's texture refinement: each bake view, composited on white, goes through the
    refiner model (image-to-image towards the prompt) and the texture is baked again from the results."""

    strength: float = field(default=0.3, metadata={"min": 0.0, "max": 1.0})
    """How far the refiner may change each view (0: no refinement; 1: a new picture). Each view is
    refined on its own, so high strengths invent details that disagree between views and blur."""
    steps: int = field(default=30, metadata={"min": 1, "max": 200})
    """Denoising steps of the refiner over its whole schedule (it runs ``strength`` of them)."""
    model: str = field(default="", metadata={"model": "refiner"})
    """Image-to-image model: a hub id or a folder; empty: the generator's own model when one is
    given, else the one chosen in Preferences > Models."""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(kw_only=True)
class ObjectStages:
    """Settings of both stages: outputs, steps, render size, guidance and seed, then the advanced ones
    (the defaults are DreamGaussian's: 500 steps)."""

    out: str = field(default="", metadata={"path": "save", "extensions": (".glb",)})
    """Textured mesh (GLB) to write at the end; empty: object.glb in the run folder."""
    ply: str = field(default="", metadata={"path": "save", "extensions": (".ply", ".splat")})
    """Splat file to write at the end; empty: object.ply in the run folder."""
    steps: int = field(default=500, metadata={"min": 1})
    """Optimization steps."""
    size: int = field(default=256, metadata={"min": 16, "max": 1024})
    """Render side in pixels at the end of the run (it ramps up from a quarter)."""
    guidance: float = field(default=100.0, metadata={"min": 0.0})
    """How hard the prior pulls towards the prompt or the picture (classifier-free guidance)."""
    seed: int = field(default=0, metadata={"min": 0, "max": 2**31 - 1, "seed": True})
    """Random seed: the same seed gives the same object."""
    background: Literal["random", "white", "black"] = field(default="random", metadata={"advanced": True})
    """What the renders are composited on: white or black at random each step (so the object
    carries no background colour), or always one."""
    init_points: int = field(default=5000, metadata={"min": 1, "advanced": True})
    """Gaussians to start from, in a sphere."""
    init_radius: float = field(default=0.5, metadata={"min": 0.01, "advanced": True})
    """Radius of the starting sphere."""
    views_per_step: int = field(default=1, metadata={"min": 1, "advanced": True})
    """Cameras rendered and scored in each step."""
    cameras: ObjectCameras = field(default_factory=ObjectCameras, metadata={"advanced": True})
    """The training cameras' orbit."""
    timesteps: tuple[float, float, float] = field(default=(0.02, 0.98, 0.5), metadata={"min": 0.0, "max": 1.0, "advanced": True})
    """Noise levels as fractions of the schedule: lowest, highest at the start, highest at the end."""
    snapshot_every: int = field(default=10, metadata={"min": 1, "advanced": True})
    """Steps between snapshots of the growing object."""
    densify: DensifySettings = field(
        default_factory=lambda: DensifySettings(
            grow_grad2d=2e-4, grow_scale3d=0.01, prune_opa=0.01, prune_scale3d=0.1, refine_start=100, refine_stop=300,
            refine_every=50, reset_every=0, max_splats=30000,
        ),
        metadata={"advanced": True},
    )
    """When and how Gaussians are cloned, split and pruned."""
    learning_rates: LearningRates = field(
        default_factory=lambda: LearningRates(
            means=4e-4, means_final=8e-6, log_scales=5e-3, quats=5e-3, opacity_logits=5e-2, sh_dc=1e-2, sh_rest=5e-4
        ),
        metadata={"advanced": True},
    )
    """Adam's learning rate of each kind of parameter (DreamGaussian's, the centres' in orbit-radius units)."""
    meshing: MeshingSettings = field(default_factory=MeshingSettings, metadata={"advanced": True})
    """How the splats become a mesh (stage 2)."""
    texture_size: int = field(default=1024, metadata={"min": 16, "max": 4096, "advanced": True})
    """Side of the mesh's baked base-colour texture in pixels."""
    bake_views: int = field(default=8, metadata={"min": 1, "advanced": True})
    """Renders of the splats the texture is baked from (spread around the object)."""
    bake: BakeSettings = field(default_factory=BakeSettings, metadata={"advanced": True})
    """How texels are matched with the renders and how the texture is finished."""
    refine: TextureRefinement = field(default_factory=TextureRefinement, metadata={"advanced": True})
    """How the baked texture is refined by the refiner model (for generators with a prompt)."""

    def __post_init__(self) -> None:
        check_fields(self)


def finish_object(
    config: ObjectStages, cloud: GaussianCloud, ctx: "RunContext", started: float, *, refiner: Any = None,
    prompt: str = "", negative: str = "",
) -> Iterator["Event"]:
    """The end of an object run: the final splats streamed and saved as a standard PLY (``ply``),
    stage 2's textured mesh as GLB (``out``), its texture refined by ``refiner`` towards ``prompt``
    when one is given (see :func:`make_mesh`), and the result (``started``: the run's
    ``time.perf_counter()`` at its start)."""
    import time

    from engines.runtime.events import MAIN, Result, Snapshot
    from scene.io import save

    yield Snapshot(cloud)
    outputs = {}
    splats_path = ctx.save_output(lambda path: save(path, cloud), config.ply, "object.ply")
    if splats_path is not None:
        outputs[MAIN] = str(splats_path)
    mesh = yield from make_mesh(config, cloud, refiner=refiner, prompt=prompt, negative=negative)
    if mesh is not None:
        mesh_path = ctx.save_output(lambda path: save(path, mesh), config.out, "object.glb")
        if mesh_path is not None:
            outputs[MESH] = str(mesh_path)
    summary = {"steps": config.steps, "splats": len(cloud), "seconds": time.perf_counter() - started, "seed": config.seed}
    if mesh is not None:
        summary["faces"] = len(mesh.faces)
    yield Result(list(outputs.values()), summary, outputs)


def load_refiner(
    config: ObjectStages, ctx: "RunContext", loaded: tuple[str, str, Any] | None = None
) -> Iterator["Event"]:
    """The texture refiner (:class:`engines.priors.refine.Refiner`) when ``refine.strength`` is
    above 0, else None. ``loaded`` is ``(role, source, pipeline)`` of a Stable Diffusion pipeline
    the run already holds; its components are reused (no second copy in memory) when the refiner's
    model (``refine.model``, else the Preferences choice) is that same model, or when no refiner
    was chosen at all (the refiner's default is the text model's Stable Diffusion)."""
    from engines.models.roles import ROLES
    from engines.priors.refine import Refiner
    from engines.runtime.events import Log, Preparing

    if config.refine.strength <= 0:
        return None
    default = ROLES["refiner"].default
    wanted = config.refine.model or ctx.settings.model_choice("refiner", default)
    unchosen = not config.refine.model and wanted == default
    if loaded is not None and (unchosen or wanted == (loaded[1] or ctx.settings.model_choice(loaded[0], ROLES[loaded[0]].default))):
        from diffusers import StableDiffusionImg2ImgPipeline

        pipeline = StableDiffusionImg2ImgPipeline(**loaded[2].components)
    else:
        yield Preparing(None, "loading the refiner model")
        pipeline = ctx.model("refiner", source=config.refine.model)
    yield Log(f"refiner model ready: {type(pipeline).__name__}")
    return Refiner(pipeline)


def stage_2_steps(config: ObjectStages, refiner: Any = None) -> int:
    """Progress steps of stage 2: the mesh, its texture, and the refined texture when there is a
    ``refiner`` and a strength to run it at."""
    return STAGE_2_STEPS + int(refiner is not None and config.refine.strength > 0)


def make_mesh(
    config: ObjectStages, cloud: GaussianCloud, *, refiner: Any = None, prompt: str = "", negative: str = ""
) -> Iterator["Event"]:
    """Stage 2: the splats' mesh with its texture baked from their renders, then refined by
    ``refiner`` (a :class:`engines.priors.refine.Refiner` or an oracle one) towards ``prompt`` at
    ``config.refine.strength`` when given; streamed under "mesh" as it gets ready. Returns the mesh
    (untextured when nothing could be baked), or None when the splats hold no surface (the reason
    goes to the log either way)."""
    from engines.meshing.extract import mesh_from_gaussians
    from engines.meshing.uv_bake import bake_cameras, render_views, textured_mesh
    from engines.runtime.events import Log, Progress, Snapshot

    total = config.steps + stage_2_steps(config, refiner)
    try:
        mesh = mesh_from_gaussians(cloud.means, cloud.quats, cloud.scales, cloud.opacities, **dataclasses.asdict(config.meshing))
    except ValueError as exc:
        yield Log(f"no mesh: {exc}", "warning")
        return None
    yield Snapshot(mesh, key=MESH)
    yield Progress(config.steps + 1, total, {"faces": float(len(mesh.faces))})
    cameras = bake_cameras(mesh, config.bake_views, resolution=max(64, config.texture_size // 2))
    views = render_views(cloud, cameras)
    try:
        textured = textured_mesh(mesh, views, config.texture_size, config.bake)
    except ValueError as exc:  # e.g. the splats are too faint for any render to cover the mesh
        yield Log(f"the mesh stays untextured: {exc}", "warning")
        return mesh
    yield Snapshot(textured, key=MESH)
    yield Progress(config.steps + 2, total, {"faces": float(len(textured.faces))})
    if total > config.steps + 2:
        textured = refine_texture(textured, views, refiner, prompt, negative, config)
        yield Snapshot(textured, key=MESH)
        yield Progress(total, total, {"faces": float(len(textured.faces))})
    return textured


def refine_texture(
    mesh: "MeshAsset", views: list["BakeView"], refiner: Any, prompt: str, negative: str, config: ObjectStages
) -> "MeshAsset":
    """DreamGaussian's texture refinement, done by baking again (there is no differentiable mesh
    rasterizer here to fit the texture to the refined images): each bake view composited on white
    goes through ``refiner`` at ``config.refine.strength`` (seeded per view), the white is taken out
    again with the view's alpha, and the texture of ``mesh`` (already unwrapped) is baked anew from
    the refined images with the same cameras, depth and alpha."""
    from engines.meshing.uv_bake import AtlasMesh, BakeView, bake_texture
    from scene.mesh import MeshAsset

    refined = []
    for index, view in enumerate(views):
        alpha = view.alpha[..., None]
        on_white = view.image * alpha + (1.0 - alpha)
        image = refiner(
            on_white.astype(np.float32), prompt, strength=config.refine.strength, negative_prompt=negative,
            steps=config.refine.steps, seed=config.seed + index, view=camera_view(view.camera),
        )
        colour = (np.asarray(image, dtype=np.float64) - (1.0 - alpha)) / np.maximum(alpha, 1e-6)
        refined.append(BakeView(view.camera, np.clip(colour, 0.0, 1.0), view.depth, view.alpha))
    atlas = AtlasMesh(mesh.vertices, mesh.faces, mesh.normals, mesh.uvs)
    texture = bake_texture(atlas, refined, config.texture_size, config.bake)
    return MeshAsset(mesh.vertices, mesh.faces, mesh.normals, uvs=mesh.uvs, texture=texture)


def camera_view(camera: Camera) -> "View":
    """The :class:`View` of a camera looking at the object (azimuth and elevation of its position as
    :func:`orbit_camera` places them)."""
    from engines.priors.views import View

    x, y, z = (float(v) for v in camera.position)
    radius = math.sqrt(x * x + y * y + z * z)
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, y / max(radius, 1e-12)))))
    return View(math.degrees(math.atan2(x, z)), elevation, radius, camera)


def grow_object(
    config: ObjectStages, prior: Any, ctx: "RunContext", device: "torch.device", total: int | None = None,
    anchor: Anchor | None = None,
) -> Iterator["Event"]:
    """Optimize Gaussians under ``prior`` (plus ``anchor``'s loss, when given) from random orbit
    cameras; yields progress (out of ``total`` steps, default the config's: a run with more stages
    after this one counts them too) and snapshots, returns the final :class:`GaussianCloud`.
    Resumes from the run's checkpoint when it has one."""
    import torch

    from engines.optim import DensifyStrategy, GaussianModel
    from engines.optim.checkpoint import start_training, training_state
    from engines.rasterizer import camera_to_tensors, rasterize
    from engines.runtime.events import Log, Progress, Snapshot

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    scene_scale = config.cameras.radius
    model = GaussianModel.from_cloud(
        sphere_init(config.init_points, config.init_radius, rng), 0, device, lrs=config.learning_rates,
        scene_scale=scene_scale, steps=config.steps,
    )
    strategy = DensifyStrategy(**dataclasses.asdict(config.densify))
    strategy_state, first = start_training(model, strategy, scene_scale, ctx.resume_state)
    if first > 1:
        yield Log(f"resumed after step {first - 1} with {len(model)} splats")
    for step in range(first, config.steps + 1):
        progress = (step - 1) / max(1, config.steps - 1)
        side = render_side(config.size, progress)
        views = orbit_views(config.cameras, config.views_per_step, side, config.seed, step)
        viewmats, Ks, width, height = camera_to_tensors([view.camera for view in views], device=device)
        background = torch.full((3,), background_level(config.background, config.seed, step), device=device)
        out = rasterize(
            model.params["means"], model.params["quats"], model.scales, model.opacities, model.sh, viewmats, Ks, width,
            height, sh_degree=0, background=background,
        )
        strategy.step_pre_backward(model.params, model.optimizers, strategy_state, step, out)
        loss = prior.loss(out.rgb.permute(0, 3, 1, 2), views, progress)
        if anchor is not None:
            loss = loss + anchor(model, step, progress)
        model.zero_grad()
        loss.backward()
        model.step(step)
        strategy.step_post_backward(model.params, model.optimizers, strategy_state, step, out)
        if ctx.should_checkpoint(step):
            ctx.save_checkpoint(step, training_state(model, strategy_state, step))
        if step % config.snapshot_every == 0 and ctx.wants_snapshot():
            yield Snapshot(model.live_arrays())
        yield Progress(step, total or config.steps, {"loss": loss.item(), "splats": float(len(model)), "render_px": float(side)})
    return model.to_cloud()


def background_level(choice: str, seed: int, step: int) -> float:
    """The grey level (0 black, 1 white) of ``step``'s background."""
    if choice == "random":
        return float(np.random.default_rng([seed, step, 1]).random() < 0.5)
    return 1.0 if choice == "white" else 0.0


def sphere_init(count: int, radius: float, rng: np.random.Generator) -> GaussianCloud:
    """``count`` Gaussians uniformly in a ball of ``radius``: random colours, opacity 0.1, sizes
    from the mean spacing (DreamGaussian's start)."""
    directions = rng.normal(size=(count, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    means = directions * radius * rng.uniform(size=(count, 1)) ** (1.0 / 3.0)
    spacing = (4.0 / 3.0 * math.pi * radius**3 / count) ** (1.0 / 3.0)
    return GaussianCloud.create(means, spacing / 2, rng.uniform(size=(count, 3)), opacities=0.1)


def render_side(size: int, progress: float) -> int:
    """The render side at ``progress`` (0-1) of the run: a quarter of ``size``, then a half, then
    all of it (DreamGaussian's ramp), a multiple of 8 for the diffusion model's latents."""
    fraction = 0.25 if progress < 0.3 else 0.5 if progress < 0.6 else 1.0
    return max(16, int(size * fraction) // 8 * 8)


def orbit_camera(azimuth: float, elevation: float, radius: float, side: int, fov_y: float) -> Camera:
    """A square camera at ``radius`` from the origin looking at it; azimuth 0 looks from +Z (the
    front), positive azimuth moves the camera towards +X; elevation lifts it towards +Y."""
    az, el = math.radians(azimuth), math.radians(elevation)
    eye = radius * np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
    return Camera.look_at(eye, np.zeros(3), width=side, height=side, fov_y_deg=fov_y, near=0.01, far=100.0)


def orbit_views(cameras: ObjectCameras, count: int, side: int, seed: int, step: int) -> list["View"]:
    """The ``count`` random cameras of ``step``: azimuth anywhere, elevation in the range; a function
    of (seed, step) alone, so a resumed run sees the cameras an uninterrupted one would."""
    from engines.priors.views import View

    rng = np.random.default_rng([seed, step])
    views = []
    for _ in range(count):
        azimuth = float(rng.uniform(-180.0, 180.0))
        elevation = float(rng.uniform(*cameras.elevation))
        camera = orbit_camera(azimuth, elevation, cameras.radius, side, cameras.fov_y)
        views.append(View(azimuth, elevation, cameras.radius, camera))
    return views
