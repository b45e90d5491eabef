"""Text-to-3D: a splat object grown from a prompt by score distillation, then a textured mesh (DreamGaussian).

Read top to bottom, as diffusers' pipelines are:

1. the text prior: the text model the artist chose (or ``model``), as :class:`TextSDS`, with the
   timestep range annealed down over the run;
2. stage 1 (:func:`engines.object_stages.grow_object`): Gaussians in a small sphere grown under the
   prior from random orbit cameras, the render side ramping up, snapshots streamed; the splats are
   saved as a standard 3DGS PLY;
3. stage 2 (:func:`engines.object_stages.make_mesh`): a mesh from the Gaussians' density, its UV
   atlas and a baked base-colour texture, refined by the refiner model towards the prompt (unless
   ``refine.strength`` is 0), written as GLB; it streams into a mesh layer of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from engines.object_stages import ObjectStages, finish_object, grow_object, load_refiner, stage_2_steps
from engines.registry import register_engine

if TYPE_CHECKING:
    from engines.runtime import Event, RunContext


@dataclass
class TextTo3DConfig(ObjectStages):
    """Settings of a text-to-3D run; the defaults are DreamGaussian's (500 steps)."""

    prompt: str = field(metadata={"multiline": True})
    """What to make: "a ceramic teapot with blue flowers"."""
    negative: str = field(default="", metadata={"multiline": True})
    """What it should not look like."""
    model: str = field(default="", metadata={"model": "text"})
    """Text-to-image model: a hub id or a folder; empty: the one chosen in Preferences > Models."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.prompt.strip():
            raise ValueError("prompt: say what to make")


@register_engine("text-to-3d", TextTo3DConfig)
def text_to_3d(config: TextTo3DConfig, ctx: "RunContext") -> Iterator["Event"]:
    """A splat object from a prompt, growing live, then its textured mesh; writes a standard PLY and a GLB."""
    import torch

    from engines.priors.sds import TimestepRange
    from engines.priors.settings import SDSSettings
    from engines.priors.text_sds import TextSDS
    from engines.runtime.events import Log, Preparing

    started = time.perf_counter()
    yield Preparing(None, "loading the text model")
    pipeline = ctx.model("text", source=config.model)
    low, start_high, end_high = config.timesteps
    settings = SDSSettings(config.guidance, config.negative, TimestepRange(low, start_high, end_high))
    prior = TextSDS(pipeline, config.prompt, settings, torch.Generator().manual_seed(config.seed))
    yield Log(f"text model ready: {type(pipeline).__name__}")
    refiner = yield from load_refiner(config, ctx, ("text", config.model, pipeline))
    total = config.steps + stage_2_steps(config, refiner)
    final = yield from grow_object(config, prior, ctx, torch.device(pipeline.device.type), total=total)
    yield from finish_object(config, final, ctx, started, refiner=refiner, prompt=config.prompt, negative=config.negative)

