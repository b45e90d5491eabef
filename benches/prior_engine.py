"""A bench engine for ``benches/priors.py``: loads a role's model through ``ctx.model`` and steps it.

Registered as "bench_prior"; the spawned worker imports this module by name. Each step is one
use of the prior (one SDS loss and backward for the text and novel-view roles, one depth
estimate...), so the first Progress after Run marks when the model was ready and used once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from engines.registry import register_engine
from engines.runtime import Event, Log, Progress, Result, RunContext


@dataclass
class BenchPriorConfig:
    role: str = "depth"
    """The model role to load and use."""
    steps: int = 2


@register_engine("bench_prior", BenchPriorConfig)
def bench_prior(config: BenchPriorConfig, ctx: RunContext) -> Iterator[Event]:
    """Load the role's model (warm when a previous run in this worker did), then use it ``steps`` times."""
    started = time.monotonic()
    model = ctx.model(config.role)
    yield Log(f"load_s={time.monotonic() - started:.4f}")
    use = prior_step(config.role, model)
    for step in range(1, config.steps + 1):
        use()
        yield Progress(step, config.steps)
    yield Result()


def prior_step(role: str, model):
    """One use of ``role``'s prior built on ``model``, as a function of no arguments."""
    import numpy as np
    import torch

    from engines.priors.depth import DepthEstimator
    from engines.priors.inpaint import Inpainter
    from engines.priors.novel_view_sds import NovelViewSDS
    from engines.priors.refine import Refiner
    from engines.priors.text_sds import TextSDS
    from engines.priors.text_to_image import TextToImage
    from engines.priors.video import ImageToVideo
    from engines.priors.views import View

    picture = np.random.default_rng(0).uniform(size=(64, 64, 3)).astype(np.float32)
    views = [View(azimuth=30.0)]

    def sds(prior):
        def step() -> None:
            images = torch.rand(1, 3, 64, 64, requires_grad=True)
            prior.loss(images, views, 0.5).backward()

        return step

    if role == "text":
        return sds(TextSDS(model, "a red chair"))
    if role == "novel-view":
        return sds(NovelViewSDS(model, torch.rand(3, 64, 64)))
    if role == "inpaint":
        mask = np.zeros((64, 64), bool)
        mask[:, 32:] = True
        return lambda: Inpainter(model)(picture, mask, "a wall", steps=2)
    if role == "depth":
        return lambda: DepthEstimator(model)(picture)
    if role == "video":
        return lambda: ImageToVideo(model)(picture, frames=2, steps=2)
    if role == "refiner":
        return lambda: Refiner(model)(picture, "sharper", strength=0.5, steps=2)
    return TextToImage(model)
