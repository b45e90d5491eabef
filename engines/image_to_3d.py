"""Image-to-3D: a splat object grown from one picture of it, then a textured mesh (DreamGaussian's image mode).

Read top to bottom, as diffusers' pipelines are:

1. the picture: read, its object's mask from a painted mask, its alpha or a removed plain backdrop
   (:func:`engines.reference_image.object_mask`), and cut out centred on white as zero123 expects
   (:func:`engines.reference_image.prepare_reference`); a picture that cannot serve says why before
   any model loads;
2. the novel-view prior: the novel-view model the artist chose (or ``model``), as
   :class:`NovelViewSDS`, which tells zero123 each orbit camera as its change from the reference
   camera (the picture's camera: the front, at ``elevation``);
3. stage 1 (:func:`engines.object_stages.grow_object`): Gaussians grown under the prior from random
   orbit cameras, plus the *anchor* (:func:`reference_anchor`): the render from the reference camera
   held to the picture and its mask, its weight warming up over the run; the splats are saved as a
   standard 3DGS PLY;
4. stage 2 (:func:`engines.object_stages.make_mesh`): a mesh from the Gaussians' density, its UV
   atlas and a baked base-colour texture (refined towards ``prompt`` when ``refine.strength`` is
   above 0), written as GLB.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Literal

import numpy as np

from engines.object_stages import (
    Anchor, ObjectCameras, ObjectStages, TextureRefinement, finish_object, grow_object, load_refiner, orbit_camera, stage_2_steps,
)
from engines.priors.views import View
from engines.reference_image import Reference, object_mask, prepare_reference, read_mask, read_rgba
from engines.registry import register_engine

if TYPE_CHECKING:
    import torch

    from engines.optim import GaussianModel
    from engines.runtime import Event, RunContext
    from scene import Camera

NOVEL_VIEW_SIZE = 256
"""Side of the reference image given to zero123 (its training renders' size)."""
MAX_ELEVATION = 80.0
"""Orbit cameras stay within this many degrees of the equator (DreamGaussian's bound: zero123 saw
few views from nearer the poles)."""


@dataclass(kw_only=True)
class ImageTo3DConfig(ObjectStages):
    """Settings of an image-to-3D run; the defaults are DreamGaussian's image mode (500 steps)."""

    image: str = field(metadata={"path": "image"})
    """The picture of the object: a PNG with a transparent background, or a photo of it on a plain backdrop."""
    mask: str = field(default="", metadata={"path": "image", "mask_of": "image"})
    """Painted mask of the object (white = object, same size as the picture); empty: the picture's
    transparency, or else its plain backdrop removed."""
    elevation: float = field(default=0.0, metadata={"min": -MAX_ELEVATION, "max": MAX_ELEVATION})
    """Height the picture was taken from, in degrees above the object's equator (30: from above)."""
    model: str = field(default="", metadata={"model": "novel-view"})
    """Novel-view model (zero123): a hub id or a folder; empty: the one chosen in Preferences > Models."""
    prompt: str = field(default="", metadata={"multiline": True})
    """What the object is, in words (optional): the texture refinement (Advanced > Refine, off by
    default) works towards it."""
    guidance: float = field(default=5.0, metadata={"min": 0.0})
    """How hard the novel-view model pulls the unseen sides (classifier-free guidance; zero123 is trained for 3-5)."""
    reference_weight: float = field(default=10000.0, metadata={"min": 0.0, "advanced": True})
    """Weight of the colour error from the picture's camera (it warms up linearly over the run)."""
    mask_weight: float = field(default=1000.0, metadata={"min": 0.0, "advanced": True})
    """Weight of the outline error (rendered opacity against the mask) from the picture's camera (it warms up too)."""
    background: Literal["random", "white", "black"] = field(default="white", metadata={"advanced": True})
    """What the renders are composited on: white, as zero123's training renders and the picture are;
    white or black at random each step; or always black."""
    cameras: ObjectCameras = field(default_factory=lambda: ObjectCameras(radius=2.0), metadata={"advanced": True})
    """The training cameras' orbit; the picture's camera is on it. The elevation range is covered
    both around the picture's elevation and absolutely, within 80 degrees of the equator."""

    refine: TextureRefinement = field(default_factory=lambda: TextureRefinement(strength=0.0), metadata={"advanced": True})
    """The texture refinement by the refiner model (off by default: zero123 saw the unseen sides,
    a text model knows the object only from ``prompt``)."""

    def __post_init__(self) -> None:
        if not self.image.strip():  # before the field checks, whose words for it are less helpful
            raise ValueError("image: choose the picture of the object to make")
        super().__post_init__()


@register_engine("image-to-3d", ImageTo3DConfig)
def image_to_3d(config: ImageTo3DConfig, ctx: "RunContext") -> Iterator["Event"]:
    """A splat object from a picture of it, growing live, then its textured mesh; writes a standard PLY and a GLB."""
    import torch

    from engines.priors.novel_view_sds import NovelViewSDS
    from engines.priors.sds import TimestepRange
    from engines.priors.settings import SDSSettings
    from engines.runtime.events import Log, Preparing

    started = time.perf_counter()
    yield Preparing(None, "reading the picture")
    rgb, mask = read_picture(config)
    picture = prepare_reference(rgb, NOVEL_VIEW_SIZE, mask=mask)
    anchored = prepare_reference(rgb, config.size, mask=mask)  # at the render side the anchor compares
    yield Preparing(None, "loading the novel-view model")
    model = ctx.model("novel-view", source=config.model)
    low, start_high, end_high = config.timesteps
    settings = SDSSettings(config.guidance, timesteps=TimestepRange(low, start_high, end_high), view_prompts=False)
    generator = torch.Generator().manual_seed(config.seed)
    prior = NovelViewSDS(model, torch.from_numpy(picture.rgb).permute(2, 0, 1), settings, generator, reference_view(config))
    yield Log(f"novel-view model ready: {type(model.unet).__name__}")
    refiner = yield from load_refiner(config, ctx)
    device = torch.device(model.unet.device.type)
    final = yield from grow_object(
        on_orbit(config), prior, ctx, device, total=config.steps + stage_2_steps(config, refiner),
        anchor=reference_anchor(config, anchored, device),
    )
    yield from finish_object(config, final, ctx, started, refiner=refiner, prompt=config.prompt)


def read_picture(config: ImageTo3DConfig) -> tuple[np.ndarray, np.ndarray]:
    """The picture's RGB ``[H, W, 3]`` and its object's mask ``[H, W]`` (0-1): the painted mask
    (its white, on black or transparent), else the picture's alpha or its backdrop removed."""
    rgba = read_rgba(config.image)
    if config.mask:
        return rgba[..., :3], read_mask(config.mask)
    return rgba[..., :3], object_mask(rgba)


def reference_view(config: ImageTo3DConfig) -> View:
    """Where the picture was taken from: the front (azimuth 0) at its elevation, on the orbit."""
    return View(0.0, config.elevation, config.cameras.radius, reference_camera(config, config.size))


def reference_camera(config: ImageTo3DConfig, side: int) -> "Camera":
    """The picture's camera with a ``side``-pixel square image."""
    return orbit_camera(0.0, config.elevation, config.cameras.radius, side, config.cameras.fov_y)


def on_orbit(config: ImageTo3DConfig) -> ImageTo3DConfig:
    """``config`` with the orbit's elevation range made absolute as DreamGaussian draws it: the
    range both around the picture's elevation and as it is, kept within :data:`MAX_ELEVATION`."""
    low, high = config.cameras.elevation
    elevation = (max(min(low, low + config.elevation), -MAX_ELEVATION), min(max(high, high + config.elevation), MAX_ELEVATION))
    return dataclasses.replace(config, cameras=dataclasses.replace(config.cameras, elevation=elevation))


def reference_anchor(config: ImageTo3DConfig, reference: Reference, device: "torch.device") -> Anchor:
    """The loss that holds the object to the picture: the render from the reference camera on white
    against ``reference`` (mean squared colour error times ``reference_weight``, opacity against the
    mask times ``mask_weight``), both warming up linearly over the run as DreamGaussian's."""
    import torch

    from engines.rasterizer import camera_to_tensors, rasterize

    side = reference.rgb.shape[0]
    viewmats, Ks, width, height = camera_to_tensors([reference_camera(config, side)], device=device)
    rgb = torch.from_numpy(reference.rgb).to(device)[None]  # [1, S, S, 3]
    mask = torch.from_numpy(reference.mask).to(device)[None, ..., None]  # [1, S, S, 1]
    white = torch.ones(3, device=device)

    def anchor(model: "GaussianModel", step: int, progress: float) -> "torch.Tensor":
        out = rasterize(
            model.params["means"], model.params["quats"], model.scales, model.opacities, model.sh, viewmats, Ks, width, height,
            sh_degree=0, background=white,
        )
        warmup = min(1.0, step / config.steps)
        colour = torch.nn.functional.mse_loss(out.rgb, rgb)
        outline = torch.nn.functional.mse_loss(out.alpha, mask)
        return warmup * (config.reference_weight * colour + config.mask_weight * outline)

    return anchor
