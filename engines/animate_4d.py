"""Animate-4D: a moving splat object from a picture, a video or a prompt (DreamGaussian4D).

Read top to bottom, as diffusers' pipelines are:

1. the driving video: the image-to-video model (Stable Video Diffusion, :class:`ImageToVideo`) makes
   ``frames`` frames from the picture (cut out and centred on white, as image-to-3D prepares it; the
   first frame is the picture itself), from the text model's picture of the prompt, or they are the
   artist's own video resampled (:func:`engines.video_input.read_video`). Each frame's object is
   told from its plain backdrop and every frame is cut with the first frame's box
   (:func:`frame_references`), so the motion stays in the picture. Inputs that cannot serve say why
   before any model loads;
2. the static object: the image-to-3D engine's stage 1 on the first frame (:func:`static_object`:
   :func:`engines.object_stages.grow_object` under zero123's SDS and the reference anchor), or the
   splat file given as ``object``;
3. the motion (:func:`animate`): a deformation field (:class:`engines.deformation.Deformation`, a
   HexPlane grid and a small MLP) moves the static Gaussians to each frame's time; it learns from
   the frames on the reference camera (colour and outline errors) and from the novel-view model
   conditioned on each frame, looking from random orbit cameras (:class:`NovelViewSDS`), with 4D
   Gaussian Splatting's smoothness regularizers; the clip streams into the viewport as it learns;
4. the clip: the field sampled at the frames' times (:func:`bake_clip`), written as a project with
   one clip layer (``out``), and, when asked, as a PLY sequence (``frames_dir``) and an animated GLB
   (``glb``).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from engines.deformation_settings import DeformationSettings
from engines.image_to_3d import MAX_ELEVATION, NOVEL_VIEW_SIZE, ImageTo3DConfig, on_orbit, reference_anchor
from engines.object_stages import ObjectCameras, grow_object, orbit_camera, orbit_views, render_side
from engines.reference_image import Reference, object_box, object_mask, prepare_reference, read_rgba
from engines.registry import register_engine
from engines.video_input import read_video

if TYPE_CHECKING:
    import torch

    from engines.deformation import Deformation
    from engines.priors.settings import SDSSettings
    from engines.priors.views import View
    from engines.runtime import Event, RunContext
    from scene import GaussianCloud
    from scene.clip import GaussianClip

ENGINE = "animate-4d"
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".gif")
"""What the artist's video may be (any format ffmpeg reads; these are the ones offered)."""
VIDEO_FPS = 7
"""The frame rate Stable Video Diffusion is told its clip plays at, and the rate a clip it made plays at."""
STAGE = "animate"
"""The checkpoint of the motion stage says so (the static stage's is :func:`grow_object`'s)."""


@dataclass(kw_only=True)
class Animate4DConfig:
    """Settings of an animate-4D run; the defaults are DreamGaussian4D's (14 frames, 500 + 500 steps)."""

    image: str = field(default="", metadata={"path": "image"})
    """The picture of the object to bring to life: a PNG with a transparent background, or a photo of
    it on a plain backdrop (the image-to-video model makes it move)."""
    video: str = field(default="", metadata={"path": "file", "extensions": VIDEO_EXTENSIONS})
    """Or your own video of the object moving, on a plain backdrop, seen from one fixed camera."""
    prompt: str = field(default="", metadata={"multiline": True})
    """Or say what to make: the text model draws it, then it is brought to life as a picture is."""
    object: str = field(default="", metadata={"path": "file", "extensions": (".ply", ".splat")})
    """A splat object to animate as it is (the first frame must show it from the front); empty: it
    is made from the first frame, as image-to-3D does."""
    out: str = field(metadata={"path": "save", "extensions": (".a4d",)})
    """Project to write at the end (.a4d), with the clip as its one layer."""
    frames_dir: str = ""
    """Folder to write the clip into as a PLY sequence (frame_0000.ply ...), created if missing; empty: none."""
    glb: str = field(default="", metadata={"path": "save", "extensions": (".glb",)})
    """Animated GLB to write at the end (a mesh moving with the clip); empty: none."""
    frames: int = field(default=14, metadata={"min": 2, "max": 64})
    """Frames of the clip (the video model's default is 14)."""
    steps: int = field(default=500, metadata={"min": 1})
    """Optimization steps of the motion."""
    static_steps: int = field(default=500, metadata={"min": 1})
    """Optimization steps of the static object (unless one is given)."""
    seed: int = field(default=0, metadata={"min": 0, "max": 2**31 - 1, "seed": True})
    """Random seed: the same seed gives the same clip."""
    video_model: str = field(default="", metadata={"model": "video"})
    """Image-to-video model (Stable Video Diffusion): a hub id or a folder; empty: the one chosen in Preferences > Models."""
    novel_view_model: str = field(default="", metadata={"model": "novel-view"})
    """Novel-view model (zero123): a hub id or a folder; empty: the one chosen in Preferences > Models."""
    text_model: str = field(default="", metadata={"model": "text"})
    """Text-to-image model, for a prompt: a hub id or a folder; empty: the one chosen in Preferences > Models."""
    elevation: float = field(default=0.0, metadata={"min": -MAX_ELEVATION, "max": MAX_ELEVATION})
    """Height the picture or video was taken from, in degrees above the object's equator."""
    motion: int = field(default=127, metadata={"min": 1, "max": 255})
    """How much the video model makes the object move (its motion bucket: 127 is its default)."""
    video_steps: int = field(default=25, metadata={"min": 1, "max": 200, "advanced": True})
    """Denoising steps of the video model."""
    video_size: int = field(default=512, metadata={"min": 64, "max": 1024, "advanced": True})
    """Side in pixels of the picture given to the video model (and of its frames)."""
    size: int = field(default=256, metadata={"min": 16, "max": 1024, "advanced": True})
    """Render side in pixels of the reference view (the novel views ramp up to it)."""
    init_points: int = field(default=5000, metadata={"min": 1, "advanced": True})
    """Gaussians the static object starts from, in a sphere (unless one is given)."""
    frames_per_step: int = field(default=4, metadata={"min": 1, "advanced": True})
    """Frames scored in each step of the motion, each from the reference camera and one orbit camera."""
    guidance: float = field(default=5.0, metadata={"min": 0.0, "advanced": True})
    """How hard the novel-view model pulls the unseen sides (classifier-free guidance; zero123 is trained for 3-5)."""
    reference_weight: float = field(default=10000.0, metadata={"min": 0.0, "advanced": True})
    """Weight of the colour error from the reference camera."""
    mask_weight: float = field(default=1000.0, metadata={"min": 0.0, "advanced": True})
    """Weight of the outline error (rendered opacity against the frame's mask) from the reference camera."""
    smoothness: float = field(default=1.0, metadata={"min": 0.0, "advanced": True})
    """Weight of the motion's roughness along time (no jerks between frames)."""
    stillness: float = field(default=0.1, metadata={"min": 0.0, "advanced": True})
    """Weight of the motion's size (no motion where the frames show none)."""
    grid_lr: float = field(default=0.01, metadata={"min": 0.0, "advanced": True})
    """Adam's learning rate of the deformation grid."""
    mlp_lr: float = field(default=0.001, metadata={"min": 0.0, "advanced": True})
    """Adam's learning rate of the deformation MLP."""
    deformation: DeformationSettings = field(default_factory=DeformationSettings, metadata={"advanced": True})
    """The deformation field's grid and MLP."""
    cameras: ObjectCameras = field(default_factory=lambda: ObjectCameras(radius=2.0), metadata={"advanced": True})
    """The training cameras' orbit; the reference camera is on it, at the front."""
    timesteps: tuple[float, float, float] = field(default=(0.02, 0.98, 0.5), metadata={"min": 0.0, "max": 1.0, "advanced": True})
    """Noise levels of the novel-view SDS as fractions of the schedule: lowest, highest at the start, highest at the end."""
    snapshot_every: int = field(default=10, metadata={"min": 1, "advanced": True})
    """Steps between snapshots of the growing object and of the learning clip."""

    def __post_init__(self) -> None:
        from engines.fields import check_fields

        check_fields(self)
        sources = [name for name in ("image", "video", "prompt") if getattr(self, name).strip()]
        if len(sources) > 1:
            raise ValueError(f"{' and '.join(sources)}: give one of them, the picture, the video or the prompt")


@register_engine(ENGINE, Animate4DConfig)
def animate_4d(config: Animate4DConfig, ctx: "RunContext") -> Iterator["Event"]:
    """A moving splat object from a picture, a video or a prompt (or a splat object brought to life), learning live; writes a clip."""
    import torch

    from engines.priors.novel_view_sds import NovelViewSDS
    from engines.runtime.events import Log, Preparing

    if not (config.image.strip() or config.video.strip() or config.prompt.strip()):  # a run's check: a form starts empty
        raise ValueError("image, video or prompt: choose a picture or a video of the object, or say what to make")
    started = time.perf_counter()
    yield Preparing(None, "reading the inputs")
    resumed = motion_checkpoint(ctx)
    canonical = read_object(config.object) if config.object and resumed is None else None
    picture = read_picture(config.image, config.video_size) if config.image else None
    video = read_video(config.video, config.frames, name="video") if config.video else None
    masks = video_masks(video.frames) if video is not None else []
    check_models(config, ctx)
    if video is not None:
        frames, fps = video.frames, video.fps
    else:
        if picture is None:
            picture = yield from picture_of_prompt(config, ctx)
        yield Preparing(None, "loading the image-to-video model")
        frames, masks = yield from driving_video(config, picture, ctx)
        fps = float(VIDEO_FPS)
    anchored = frame_references(frames, masks, config.size)
    conditions = frame_references(frames, masks, NOVEL_VIEW_SIZE)
    yield Preparing(None, "loading the novel-view model")
    model = ctx.model("novel-view", source=config.novel_view_model)
    yield Log(f"novel-view model ready: {type(model.unet).__name__}")
    device = torch.device(model.unet.device.type)
    generator = torch.Generator().manual_seed(config.seed)
    settings = sds_settings(config)
    front = front_view(config)
    priors = [NovelViewSDS(model, torch.from_numpy(r.rgb).permute(2, 0, 1), settings, generator, front) for r in conditions]
    done = 0 if config.object else config.static_steps  # the static stage's steps come first in the progress
    total = done + config.steps
    if canonical is None and resumed is None:
        with tempfile.TemporaryDirectory(prefix="animate-4d-") as scratch:
            first = config.image or save_first_frame(anchored[0], Path(ctx.run_dir or scratch))
            canonical = yield from static_object(static_config(config, first), anchored[0], priors[0], ctx, device, total)
    deformation, canonical = yield from animate(config, canonical, anchored, priors, ctx, device, fps=fps, done=done, total=total)
    clip = bake_clip(deformation, canonical, config.frames, fps)
    yield from finish_clip(config, clip, ctx, started)


# --------------------------------------------------------------------- 1. the driving video
def model_roles(config: Animate4DConfig) -> dict[str, str]:
    """The roles of the models the run loads, each with the source its config names ("": the Preferences choice)."""
    roles = {} if config.video else {"video": config.video_model}
    if config.prompt and not config.image and not config.video:
        roles["text"] = config.text_model
    return {**roles, "novel-view": config.novel_view_model}


def check_models(config: Animate4DConfig, ctx: "RunContext") -> None:
    """Every model the run will load is on this machine and complete, or can be downloaded: one
    that is missing or broken says so now, before the first one loads (the video model may run for
    minutes before the novel-view model is needed)."""
    from engines.models import ModelSource, role_named
    from engines.models.folders import check_folder
    from engines.models.hub import downloads_off, fetch, locate

    for name, choice in model_roles(config).items():
        role = role_named(name)
        source = ModelSource.parse(choice or ctx.settings.model_choice(name, role.default))
        folder = locate(role, source, ctx.settings.model_folders)
        if folder is not None:
            check_folder(role, folder, name in ctx.settings.allow_pickle)
        elif downloads_off(ctx.settings.offline):
            fetch(role, source, model_folders=ctx.settings.model_folders, offline=True)  # says it is not here and how to get it


def read_object(path: str) -> "GaussianCloud":
    """The splat object of ``object``; ValueError saying why the file cannot serve."""
    from scene import GaussianCloud
    from scene.io import load

    try:
        cloud = load(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"object: {path} cannot be read as splats ({exc})") from None
    if not isinstance(cloud, GaussianCloud) or len(cloud) == 0:
        raise ValueError(f"object: {path} holds no splats")
    return cloud


def read_picture(path: str, side: int) -> Reference:
    """The picture's object cut out and centred on white in a ``side`` square (as image-to-3D
    prepares it: its transparency, or its plain backdrop removed)."""
    rgba = read_rgba(path)
    return prepare_reference(rgba[..., :3], side, mask=object_mask(rgba))


def video_masks(frames: np.ndarray) -> list[np.ndarray]:
    """The object's mask in each frame of the artist's video (its plain backdrop removed); ValueError
    when none stands out in the first frame."""
    masks = [object_mask(frame) for frame in frames]
    try:
        object_box(masks[0])
    except ValueError:
        raise ValueError("video: no object stands out from a plain backdrop in its first frame; film it against one") from None
    return masks


def picture_of_prompt(config: Animate4DConfig, ctx: "RunContext") -> Iterator["Event"]:
    """The text model's picture of the prompt, prepared as a picture is (its plain backdrop removed)."""
    from engines.priors.text_to_image import TextToImage
    from engines.runtime.events import Log, Preparing

    yield Preparing(None, "loading the text model")
    text = TextToImage(ctx.model("text", source=config.text_model))
    image = text(config.prompt, size=config.video_size, seed=config.seed)
    yield Log(f"the text model made the picture ({image.shape[1]}x{image.shape[0]} px)")
    try:
        return prepare_reference(image, config.video_size, mask=object_mask(image))
    except ValueError as exc:
        raise ValueError(f"prompt: the text model's picture cannot serve ({exc}); ask for the object on a plain background") from None


def driving_video(config: Animate4DConfig, picture: Reference, ctx: "RunContext") -> Iterator["Event"]:
    """``frames`` frames of the picture coming to life from the video model, the first the picture
    itself, and each frame's object mask (the picture's own for the first)."""
    from engines.priors.video import ImageToVideo
    from engines.runtime.events import Log

    to_video = ImageToVideo(ctx.model("video", source=config.video_model))
    yield Log(f"video model ready: {type(to_video.pipeline).__name__}")
    frames = to_video(picture.rgb, config.frames, steps=config.video_steps, fps=VIDEO_FPS, motion=config.motion, seed=config.seed)
    frames = frames.copy()
    frames[0] = picture.rgb
    yield Log(f"the video model made {len(frames)} frames ({frames.shape[2]}x{frames.shape[1]} px)")
    return frames, [picture.mask] + [object_mask(frame) for frame in frames[1:]]


def frame_references(frames: np.ndarray, masks: Sequence[np.ndarray], side: int) -> list[Reference]:
    """Each frame's object centred on white in a ``side`` square, all cut with the first frame's
    box (so the object moves within the picture as it moves in the video)."""
    box = object_box(masks[0])
    return [prepare_reference(frame, side, mask=mask, box=box) for frame, mask in zip(frames, masks)]


# --------------------------------------------------------------------- 2. the static object
def static_config(config: Animate4DConfig, image: str) -> ImageTo3DConfig:
    """The image-to-3D settings of the static stage (``image``: the picture it is made from)."""
    return ImageTo3DConfig(
        image=image, steps=config.static_steps, size=config.size, elevation=config.elevation, seed=config.seed,
        guidance=config.guidance, reference_weight=config.reference_weight, mask_weight=config.mask_weight,
        cameras=config.cameras, timesteps=config.timesteps, snapshot_every=config.snapshot_every, init_points=config.init_points,
    )


def front_view(config: Animate4DConfig) -> "View":
    """The reference camera's view: the front (azimuth 0) at the frames' elevation, on the orbit."""
    from engines.priors.views import View

    radius, side = config.cameras.radius, config.size
    return View(0.0, config.elevation, radius, orbit_camera(0.0, config.elevation, radius, side, config.cameras.fov_y))


def sds_settings(config: Animate4DConfig) -> "SDSSettings":
    """The novel-view SDS settings of both stages."""
    from engines.priors.sds import TimestepRange
    from engines.priors.settings import SDSSettings

    low, start_high, end_high = config.timesteps
    return SDSSettings(config.guidance, timesteps=TimestepRange(low, start_high, end_high), view_prompts=False)


def save_first_frame(reference: Reference, folder: Path) -> str:
    """The first frame as a PNG with its mask as alpha in ``folder``: the picture the static object is made from."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rgba = np.dstack([reference.rgb, reference.mask])
    path = folder / "first_frame.png"
    Image.fromarray((np.clip(rgba, 0.0, 1.0) * 255 + 0.5).astype(np.uint8), "RGBA").save(path)
    return str(path)


def static_object(
    static: ImageTo3DConfig, reference: Reference, prior: Any, ctx: "RunContext", device: "torch.device", total: int
) -> Iterator["Event"]:
    """Image-to-3D's stage 1 on the first frame: the object grown under ``prior`` (zero123 on the
    first frame) and held to ``reference`` from the front, streamed as a clip standing still (the
    run's layer is a clip from its first snapshot); returns the :class:`GaussianCloud`."""
    from engines.runtime.events import MAIN, Snapshot
    from scene.clip import GaussianClip

    stage = grow_object(on_orbit(static), prior, ctx, device, total=total, anchor=reference_anchor(static, reference, device))
    while True:
        try:
            event = next(stage)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, Snapshot) and event.key == MAIN:
            event = Snapshot(GaussianClip.still(event.payload.payload(), VIDEO_FPS))
        yield event


# --------------------------------------------------------------------- 3. the motion
def animate(
    config: Animate4DConfig, canonical: "GaussianCloud", references: Sequence[Reference], priors: Sequence[Any],
    ctx: "RunContext", device: "torch.device", *, fps: float = VIDEO_FPS, done: int = 0, total: int | None = None,
) -> Iterator["Event"]:
    """Learn the motion of ``canonical`` (kept as it is) from the frames: each step, ``frames_per_step``
    frames drawn at random, each rendered moved to its time from the reference camera (held to
    ``references[k]``: colour and outline) and from a random orbit camera (scored by ``priors[k]``,
    a novel-view prior conditioned on frame k), plus the smoothness regularizers. Yields progress
    (counted after ``done`` earlier steps, out of ``total``) and snapshots of the clip (at ``fps``);
    resumes from the run's checkpoint of this stage. Returns ``(deformation, canonical)``."""
    import torch

    from engines.deformation import Deformation, motion_regularization
    from engines.priors.oracle import frame_times
    from engines.rasterizer import camera_to_tensors, rasterize
    from engines.runtime.events import Log, Progress, Snapshot

    state = motion_checkpoint(ctx)
    if state is not None:
        canonical = cloud_from_state(state)
    torch.manual_seed(config.seed)
    deformation = Deformation(config.deformation, bound=motion_bound(canonical)).to(device)
    first = 1
    if state is not None:
        deformation.load_state_dict({k.removeprefix("field."): v.to(device) for k, v in state.items() if k.startswith("field.")})
        first = int(state["step"]) + 1
        yield Log(f"resumed the motion after step {first - 1}")
    heads = [p for name, p in deformation.named_parameters() if not name.startswith("grid.")]
    optimizer = torch.optim.Adam(
        [{"params": list(deformation.grid.parameters()), "lr": config.grid_lr}, {"params": heads, "lr": config.mlp_lr}]
    )
    gaussians = {name: torch.tensor(getattr(canonical, name), device=device) for name in ("means", "quats", "log_scales", "opacities", "sh")}
    side = references[0].rgb.shape[0]
    front = orbit_camera(0.0, config.elevation, config.cameras.radius, side, config.cameras.fov_y)
    ref_viewmats, ref_Ks, _, _ = camera_to_tensors([front], device=device)  # at the references' side
    colours = torch.from_numpy(np.stack([r.rgb for r in references])).to(device)  # [F, S, S, 3]
    outlines = torch.from_numpy(np.stack([r.mask for r in references])).to(device)[..., None]  # [F, S, S, 1]
    times = frame_times(len(references))
    white = torch.ones(3, device=device)
    total = total or config.steps

    def render(moved: tuple["torch.Tensor", ...], viewmats: "torch.Tensor", Ks: "torch.Tensor", width: int) -> Any:
        means, quats, log_scales = moved
        return rasterize(
            means, quats, log_scales.exp(), gaussians["opacities"], gaussians["sh"], viewmats, Ks, width, width,
            sh_degree=canonical.sh_degree, background=white,
        )

    for step in range(first, config.steps + 1):
        progress = (step - 1) / max(1, config.steps - 1)
        rng = np.random.default_rng([config.seed, step, 4])
        picked = rng.choice(len(references), size=min(config.frames_per_step, len(references)), replace=False)
        views = orbit_views(config.cameras, len(picked), render_side(config.size, progress), config.seed, step)
        fit, guided = 0.0, 0.0
        for k, view in zip(picked, views):
            moved = deformation(gaussians["means"], gaussians["quats"], gaussians["log_scales"], float(times[k]))
            out = render(moved, ref_viewmats, ref_Ks, side)
            colour = torch.nn.functional.mse_loss(out.rgb[0], colours[k])
            outline = torch.nn.functional.mse_loss(out.alpha[0], outlines[k])
            fit = fit + config.reference_weight * colour + config.mask_weight * outline
            viewmats, Ks, width, _ = camera_to_tensors([view.camera], device=device)
            novel = render(moved, viewmats, Ks, width)
            guided = guided + priors[k].loss(novel.rgb.permute(0, 3, 1, 2), [view], progress)
        rough, still = motion_regularization(deformation.grid)
        loss = (fit + guided) / len(picked) + config.smoothness * rough + config.stillness * still
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if ctx.should_checkpoint(done + step):
            ctx.save_checkpoint(done + step, motion_state(deformation, canonical, step))
        if step % config.snapshot_every == 0 and ctx.wants_snapshot():
            yield Snapshot(bake_clip(deformation, canonical, len(references), fps))
        yield Progress(done + step, total, {"loss": float(loss.item()), "reference": float(fit.item()) / len(picked)})
    return deformation, canonical


def motion_bound(canonical: "GaussianCloud") -> float:
    """Half the side of the box the deformation grid spans: the object's farthest centre, with room to move."""
    return max(1e-3, 1.5 * float(np.abs(canonical.means).max(initial=0.0)))


def motion_checkpoint(ctx: "RunContext") -> dict[str, Any] | None:
    """The run's checkpoint when it was taken in the motion stage (:func:`motion_state`), else None."""
    state = ctx.resume_state
    return state if state is not None and state.get("stage") == STAGE else None


def motion_state(deformation: "Deformation", canonical: "GaussianCloud", step: int) -> dict[str, Any]:
    """The motion stage's checkpoint: the static object, the field's weights, the stage's step
    (Adam's moments start afresh on resume)."""
    arrays = {f"canonical.{name}": getattr(canonical, name) for name in ("means", "log_scales", "quats", "opacity_logits", "sh")}
    weights = {f"field.{k}": v.detach().cpu().clone() for k, v in deformation.state_dict().items()}
    return {"stage": STAGE, "step": step, **arrays, **weights}


def cloud_from_state(state: dict[str, Any]) -> "GaussianCloud":
    """The static object saved in a :func:`motion_state`."""
    from scene import GaussianCloud

    names = ("means", "log_scales", "quats", "opacity_logits", "sh")
    return GaussianCloud(*(np.asarray(state[f"canonical.{name}"]) for name in names))


# --------------------------------------------------------------------- 4. the clip
def bake_clip(deformation: "Deformation", canonical: "GaussianCloud", frames: int, fps: float) -> "GaussianClip":
    """The clip of ``canonical`` moved by ``deformation`` to ``frames`` evenly spread times
    (centres, rotations and sizes per frame; colours and opacities stay the canonical's)."""
    import torch

    from engines.priors.oracle import frame_times
    from scene.clip import GaussianClip

    device = next(deformation.parameters()).device
    base = [torch.tensor(getattr(canonical, name), device=device) for name in ("means", "quats", "log_scales")]
    moved: list[list[np.ndarray]] = [[], [], []]
    with torch.no_grad():
        for t in frame_times(frames):
            for channel, values in zip(moved, deformation(*base, float(t))):
                channel.append(values.cpu().numpy())
    means, quats, log_scales = (np.stack(channel) for channel in moved)
    return GaussianClip(canonical, fps=fps, means=means, quats=quats, log_scales=log_scales)


def clip_document(clip: "GaussianClip", config: Animate4DConfig, ctx: "RunContext") -> Any:
    """A document with ``clip`` as its one layer, which remembers how it was made (for Run Again)."""
    from engines.models.roles import ROLES
    from engines.registry import config_to_dict
    from scene.document import Document, Layer, Provenance

    models = {role: source or ctx.settings.model_choice(role, ROLES[role].default) for role, source in model_roles(config).items()}
    document = Document()
    document.add_layer(Layer(ENGINE, clip, provenance=Provenance(ENGINE, config_to_dict(config), models)))
    return document


def finish_clip(config: Animate4DConfig, clip: "GaussianClip", ctx: "RunContext", started: float) -> Iterator["Event"]:
    """The end of the run: the clip streamed, saved as a project (``out``), a PLY sequence
    (``frames_dir``) and an animated GLB (``glb``) when asked, and the result."""
    from engines.runtime.context import Output
    from engines.runtime.events import MAIN, Result, Snapshot
    from scene.io.project import save_project

    yield Snapshot(clip)
    document = clip_document(clip, config, ctx)
    wanted = [Output(lambda path: save_project(document, path), config.out, "animation.a4d")]
    if config.frames_dir:
        from scene.io.ply_sequence import write_ply_sequence

        wanted.append(Output(lambda path: write_ply_sequence(clip, path), config.frames_dir, "frames"))
    if config.glb:
        from engines.meshing.animated import write_animated_glb

        wanted.append(Output(lambda path: write_animated_glb(clip, path), config.glb, "animation.glb"))
    written = ctx.save_outputs(wanted)  # one set: never this run's GLB beside an earlier run's project
    outputs = {} if written[0] is None else {MAIN: str(written[0])}
    paths = [str(path) for path in written if path is not None]
    summary = {
        "frames": clip.frame_count, "fps": clip.fps, "splats": clip.count, "steps": config.steps, "seed": config.seed,
        "seconds": time.perf_counter() - started,
    }
    yield Result(paths, summary, outputs)

