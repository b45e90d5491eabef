"""One optimization step of Gaussians on a loss of their render: the core every training loop shares.

A loop renders, computes its loss on the render, and then, in this order, lets the densification
strategy keep the projected centres' gradient, steps Adam on the loss's gradient and lets the
strategy clone, split and prune on its schedule. :func:`optimization_step` is that order, so the
loops (reconstruct, outpaint-scene) differ only in what they render and compare.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from engines.optim.model import GaussianModel
from engines.optim.strategy import DensifyStrategy
from engines.rasterizer import RasterOutput


def optimization_step(
    model: GaussianModel, strategy: DensifyStrategy, strategy_state: dict[str, Any], step: int, out: RasterOutput, loss: Tensor
) -> None:
    """Step ``model`` (1-based ``step``) down ``loss`` of its render ``out``, densifying as ``strategy`` says."""
    strategy.step_pre_backward(model.params, model.optimizers, strategy_state, step, out)
    model.zero_grad()
    loss.backward()
    model.step(step)
    strategy.step_post_backward(model.params, model.optimizers, strategy_state, step, out)


__all__ = ["optimization_step"]
