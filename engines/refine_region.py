"""Refine a region by prompt: only the splats in a box change, pulled by text SDS towards the prompt.

Read top to bottom:

1. the scene's splats and the region: the splats whose centres lie in the box, or the splats a
   selection file numbers (the studio writes one from the viewport's selection);
2. the text prior, as text-to-3D's;
3. each step: cameras on an orbit around the region (so they see it), renders of the whole scene,
   the SDS loss, and Adam on the region's splats only: every other splat gets no gradient, so
   Adam never moves it (no densification, so none is added or removed);
4. the refined splats as a standard PLY; every splat outside the region is bit-identical.

:func:`refine_splats` is the optimization itself, for any prior: the tests run it with an oracle
that answers from a changed target.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Literal

import numpy as np

from engines.fields import check_fields
from engines.optim_settings import LearningRates
from engines.registry import register_engine
from engines.object_stages import background_level, orbit_camera
from scene import Camera, GaussianCloud

if TYPE_CHECKING:
    import torch

    from engines.priors.views import View
    from engines.runtime import Event, RunContext


@dataclass
class RefineRegionConfig:
    """Settings of a region refinement."""

    prompt: str = field(metadata={"multiline": True})
    """What the region should become."""
    input: str = field(default="", metadata={"path": "file", "extensions": (".ply", ".splat")})
    """The scene's splats (3DGS PLY or .splat). In the studio, when splats are selected in the
    viewport, those are refined in their layer instead."""
    selection: str = field(default="", metadata={"path": "file", "extensions": (".npy",), "gui": False})
    """The splats to refine instead of the box's: a .npy of their indices in the input (the studio
    writes one from the viewport's selection)."""
    box: tuple[float, float, float, float, float, float] = (-0.5, -0.5, -0.5, 0.5, 0.5, 0.5)
    """The region: the splats whose centres lie in this box (x0, y0, z0, x1, y1, z1; the default
    is around the origin, where text-to-3D makes its objects). A selection takes its place."""
    negative: str = field(default="", metadata={"multiline": True})
    """What it should not look like."""
    model: str = field(default="", metadata={"model": "text"})
    """Text-to-image model: a hub id or a folder; empty: the one chosen in Preferences > Models."""
    out: str = field(default="", metadata={"path": "save", "extensions": (".ply", ".splat")})
    """Splat file to write; empty: refined.ply in the run folder."""
    steps: int = field(default=300, metadata={"min": 1})
    """Optimization steps."""
    size: int = field(default=256, metadata={"min": 16, "max": 1024})
    """Render side in pixels."""
    guidance: float = field(default=100.0, metadata={"min": 0.0})
    """How hard the prior pulls towards the prompt."""
    seed: int = field(default=0, metadata={"min": 0, "max": 2**31 - 1, "seed": True})
    """Random seed."""
    distance: float = field(default=2.5, metadata={"min": 0.1, "advanced": True})
    """Camera distance from the region's centre, in region radii."""
    background: Literal["random", "white", "black"] = field(default="random", metadata={"advanced": True})
    """"random" (white or black each step), "white" or "black"."""
    learning_rates: LearningRates = field(
        default_factory=lambda: LearningRates(means=2e-4, means_final=2e-5, sh_dc=1e-2, sh_rest=5e-4),
        metadata={"advanced": True},
    )
    """Adam's learning rate of each kind of parameter (the centres' in region radii)."""

    def __post_init__(self) -> None:
        check_fields(self)
        lo, hi = np.array(self.box[:3]), np.array(self.box[3:])
        if not np.all(lo < hi):
            raise ValueError("box: each of x0, y0, z0 must be below its x1, y1, z1")
        if not self.prompt.strip():
            raise ValueError("prompt: say what the region should become")
        if self.selection and not self.input:
            raise ValueError("selection: give the input whose splats it numbers")


@register_engine("refine-region", RefineRegionConfig)
def refine_region(config: RefineRegionConfig, ctx: "RunContext") -> Iterator["Event"]:
    """The splats of a region (in ``box``, or numbered by ``selection``) refined towards ``prompt``; the rest left as they were."""
    import torch

    from engines.priors.settings import SDSSettings
    from engines.priors.text_sds import TextSDS
    from engines.runtime.events import MAIN, Log, Preparing, Result, Snapshot
    from scene.io import load, save

    started = time.perf_counter()
    if not config.input:
        raise ValueError("input: give the scene's splats (a PLY or .splat file), or select splats in the studio")
    cloud = load(config.input)
    if not isinstance(cloud, GaussianCloud):
        raise ValueError(f"input: {config.input} holds no splats")
    if config.selection:
        mask = selection_mask(len(cloud), config.selection)
    else:
        mask = region_mask(cloud, config.box)
        if not mask.any():
            raise ValueError(f"box: none of the {len(cloud):,} splats has its centre in the box")
    yield Log(f"{int(mask.sum()):,} of {len(cloud):,} splats are in the region")
    yield Preparing(None, "loading the text model")
    pipeline = ctx.model("text", source=config.model)
    prior = TextSDS(pipeline, config.prompt, SDSSettings(config.guidance, config.negative), torch.Generator().manual_seed(config.seed))
    refined = yield from refine_splats(config, cloud, mask, prior, ctx, torch.device(pipeline.device.type))
    yield Snapshot(refined)
    out_path = ctx.save_output(lambda path: save(path, refined), config.out, "refined.ply")
    outputs = {} if out_path is None else {MAIN: str(out_path)}
    yield Result(list(outputs.values()), {"region": int(mask.sum()), "seconds": time.perf_counter() - started}, outputs)


def region_mask(cloud: GaussianCloud, box: tuple[float, ...]) -> np.ndarray:
    """``[N]`` bool: the splats whose centres lie in ``box`` (x0, y0, z0, x1, y1, z1)."""
    lo, hi = np.asarray(box[:3]), np.asarray(box[3:])
    return np.all((cloud.means >= lo) & (cloud.means <= hi), axis=1)


def selection_mask(count: int, path: str) -> np.ndarray:
    """``[count]`` bool: the splats whose indices the .npy file ``path`` holds; ValueError saying
    what is wrong with a file that holds no indices, or indices of splats the input does not have."""
    try:
        indices = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"selection: {path} is not a .npy file of splat indices ({exc})") from None
    if indices.ndim != 1 or not (np.issubdtype(indices.dtype, np.integer) or indices.size == 0):
        raise ValueError(
            f"selection: {path} must hold a list of splat indices, not a {indices.dtype} array of shape {indices.shape}"
        )
    if indices.size == 0:
        raise ValueError("selection: no splats are selected")
    outside = indices[(indices < 0) | (indices >= count)]
    if outside.size:
        raise ValueError(f"selection: there is no splat {int(outside[0])}: the input has {count:,} (0 to {count - 1:,})")
    mask = np.zeros(count, dtype=bool)
    mask[indices] = True
    return mask


def region_views(cloud: GaussianCloud, mask: np.ndarray, distance: float, side: int, seed: int, step: int) -> list["View"]:
    """One camera of ``step`` on an orbit around the region (any azimuth, elevation -20 to 40
    degrees), ``distance`` region radii from its centre; a function of (seed, step) alone."""
    from engines.priors.views import View

    points = cloud.means[mask]
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    radius = max(float(np.linalg.norm(points - centre, axis=1).max()), 1e-3)
    rng = np.random.default_rng([seed, step])
    azimuth, elevation = float(rng.uniform(-180.0, 180.0)), float(rng.uniform(-20.0, 40.0))
    camera = orbit_camera(azimuth, elevation, distance * radius, side, 49.1)
    moved = camera.c2w.copy()
    moved[:3, 3] += centre
    return [View(azimuth, elevation, distance * radius, Camera(moved, side, side, camera.fov_y_deg, near=0.01, far=100.0))]


def refine_splats(
    config: RefineRegionConfig, cloud: GaussianCloud, mask: np.ndarray, prior: Any, ctx: "RunContext", device: "torch.device"
) -> Iterator["Event"]:
    """Adam on the splats of ``mask`` under ``prior``; returns the cloud with only those changed."""
    import torch

    from engines.optim import GaussianModel
    from engines.rasterizer import camera_to_tensors, rasterize
    from engines.runtime.events import Progress, Snapshot

    torch.manual_seed(config.seed)
    radius = float(np.linalg.norm(np.ptp(cloud.means[mask], axis=0))) / 2 or 1.0
    model = GaussianModel.from_cloud(cloud, cloud.sh_degree, device, lrs=config.learning_rates, scene_scale=radius, steps=config.steps)
    keep = torch.as_tensor(mask, device=device)
    for step in range(1, config.steps + 1):
        views = region_views(cloud, mask, config.distance, config.size, config.seed, step)
        viewmats, Ks, width, height = camera_to_tensors([view.camera for view in views], device=device)
        background = torch.full((3,), background_level(config.background, config.seed, step), device=device)
        out = rasterize(
            model.params["means"], model.params["quats"], model.scales, model.opacities, model.sh, viewmats, Ks, width,
            height, sh_degree=cloud.sh_degree, background=background,
        )
        loss = prior.loss(out.rgb.permute(0, 3, 1, 2), views, (step - 1) / max(1, config.steps - 1))
        model.zero_grad()
        loss.backward()
        for param in model.params.values():  # outside the region: no gradient, so Adam never moves it
            if param.grad is not None:
                param.grad[~keep] = 0
        model.step(step)
        if ctx.wants_snapshot() and step % 10 == 0:
            yield Snapshot(model.live_arrays())
        yield Progress(step, config.steps, {"loss": loss.item()})
    refined = model.to_cloud()
    return GaussianCloud(  # the untouched splats exactly as given (no float round trip can move them)
        *(np.where(_rows(mask, a), a_new, a) for a, a_new in zip(_arrays(cloud), _arrays(refined)))
    )


def _arrays(cloud: GaussianCloud) -> tuple[np.ndarray, ...]:
    return cloud.means, cloud.log_scales, cloud.quats, cloud.opacity_logits, cloud.sh


def _rows(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return mask.reshape((-1,) + (1,) * (like.ndim - 1))
