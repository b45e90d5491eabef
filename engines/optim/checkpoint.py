"""The whole training state as one dict of tensors and plain values, and a file holding it.

``training_state`` gathers parameters, Adam moments, the strategy's state and the step; the
runtime's checkpoints (``RunContext.save_checkpoint``) take that dict as it is, and
:func:`save_training` / :func:`load_training` write and read it alone with ``torch.save`` and
``torch.load(weights_only=True)`` (no pickled code). Restoring it and going on gives the same
parameters as a run that never stopped: the CPU random state, which draws the offsets of split
Gaussians, is part of the state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engines.optim.model import GaussianModel
from scene.io.atomic import atomic_output


def training_state(model: GaussianModel, strategy_state: dict[str, Any], step: int) -> dict[str, Any]:
    """Everything needed to continue after ``step``: string-keyed, tensors and numbers only."""
    strategy = {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in strategy_state.items()}
    return {"step": int(step), "model": model.state_dict(), "strategy": strategy, "rng": torch.get_rng_state()}


def restore_training(model: GaussianModel, state: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Load ``state`` into ``model``; returns the strategy state and the step it was saved after.

    The global torch RNG is restored too, so later splits draw the same numbers.
    """
    model.load_state_dict(state["model"])
    device = model.params["means"].device
    strategy = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in state["strategy"].items()}
    torch.set_rng_state(state["rng"].to(torch.uint8).cpu())
    return strategy, int(state["step"])


def start_training(
    model: GaussianModel, strategy: Any, scene_scale: float, resume_state: dict[str, Any] | None
) -> tuple[dict[str, Any], int]:
    """The densification state and the first step of a run: fresh, or restored into ``model`` from
    ``resume_state`` (a checkpoint's ``training_state``) when the run resumes."""
    if resume_state is None:
        return strategy.initialize_state(scene_scale), 1
    strategy_state, done = restore_training(model, resume_state)
    return strategy_state, done + 1


def save_training(path: str | Path, state: dict[str, Any]) -> None:
    """Write a :func:`training_state` dict to ``path`` atomically."""
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


def load_training(path: str | Path) -> dict[str, Any]:
    """Read a file written by :func:`save_training` (tensors only, no code: weights_only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


__all__ = ["load_training", "restore_training", "save_training", "training_state"]
