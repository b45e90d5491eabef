"""Adaptive density control as a strategy object (gsplat's ``DefaultStrategy``, 3DGS's rules).

The strategy is a dataclass of thresholds (:class:`engines.optim_settings.DensifySettings`, which
configs nest without importing torch); its run-time state is a plain dict the caller keeps
(and checkpoints). The training loop calls::

    out = rasterize(...)
    strategy.step_pre_backward(params, optimizers, state, step, out)
    loss.backward()
    strategy.step_post_backward(params, optimizers, state, step, out)

Every ``refine_every`` steps between ``refine_start`` and ``refine_stop``, Gaussians whose mean
screen-space gradient exceeds ``grow_grad2d`` are cloned (small ones) or split in two (large ones),
and nearly transparent or huge ones are removed. Every ``reset_every`` steps opacities are lowered,
so floaters have to earn their opacity back or be pruned. ``max_splats`` caps the count: when more
would grow, the ones with the highest gradients win.

Differences from gsplat 1.5: the cap; and the opacity reset runs (gsplat 1.5.3's condition
``step % reset_every == 0 & step > 0`` is always false through operator precedence).
The operations are plain PyTorch, so the same code runs on the CPU and on CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from engines.optim_settings import DensifySettings
from engines.rasterizer import RasterOutput
from engines.rasterizer.projection import quat_to_rotmat

Params = torch.nn.ParameterDict | dict[str, torch.nn.Parameter]
Optimizers = dict[str, torch.optim.Optimizer]


@dataclass
class DensifyStrategy(DensifySettings):
    """Clone, split, prune and reset opacities with the thresholds of :class:`DensifySettings`."""

    def initialize_state(self, scene_scale: float = 1.0) -> dict[str, Any]:
        """The run-time state: gradient sums and visibility counts, filled on the first step."""
        return {"grad2d": None, "count": None, "scene_scale": float(scene_scale)}

    def step_pre_backward(self, params: Params, optimizers: Optimizers, state: dict, step: int, info: RasterOutput) -> None:
        """Keep the gradient of the projected centres, which the statistics read."""
        if info.means2d.requires_grad:
            info.means2d.retain_grad()

    def step_post_backward(self, params: Params, optimizers: Optimizers, state: dict, step: int, info: RasterOutput) -> None:
        """Accumulate statistics; grow, prune and reset opacities on schedule."""
        with torch.no_grad():
            if step >= self.refine_stop:
                return
            self._accumulate(state, info, len(params["means"]))
            if step > self.refine_start and step % self.refine_every == 0:
                grow(params, optimizers, state, self._grow_masks(params, state))
                prune(params, optimizers, state, self._prune_mask(params, state, step))
                state["grad2d"].zero_()
                state["count"].zero_()
            if self.reset_every > 0 and step > 0 and step % self.reset_every == 0:
                reset_opacity(params, optimizers, 2.0 * self.prune_opa)

    def _accumulate(self, state: dict, info: RasterOutput, n: int) -> None:
        grads = info.screen_grad_norms()  # [C, N]
        if state["grad2d"] is None:
            state["grad2d"] = grads.new_zeros(n)
            state["count"] = grads.new_zeros(n)
        visible = info.visible  # [C, N]
        ids = visible.nonzero()[:, 1]
        state["grad2d"].index_add_(0, ids, grads[visible])
        state["count"].index_add_(0, ids, torch.ones_like(ids, dtype=grads.dtype))

    def _grow_masks(self, params: Params, state: dict) -> tuple[Tensor, Tensor]:
        """``(clone [N], split [N])``, limited to the highest gradients when the cap binds."""
        grads = state["grad2d"] / state["count"].clamp_min(1)  # [N]
        high = grads > self.grow_grad2d
        budget = max(0, self.max_splats - len(grads))  # clone and split both add one each
        if int(high.sum()) > budget:
            keep = torch.zeros_like(high)
            keep[torch.topk(torch.where(high, grads, -1.0), budget).indices] = True
            high = keep
        small = params["log_scales"].exp().amax(dim=-1) <= self.grow_scale3d * state["scene_scale"]
        return high & small, high & ~small

    def _prune_mask(self, params: Params, state: dict, step: int) -> Tensor:  # [N]
        prune_mask = torch.sigmoid(params["opacity_logits"]) < self.prune_opa
        if step > self.reset_every > 0:  # 3DGS prunes huge ones once opacities were reset
            prune_mask |= params["log_scales"].exp().amax(dim=-1) > self.prune_scale3d * state["scene_scale"]
        return prune_mask


# --------------------------------------------------------------------- operations on params + Adam
def _update(
    params: Params,
    optimizers: Optimizers,
    param_fn: Callable[[str, Tensor], Tensor],
    moment_fn: Callable[[Tensor], Tensor],
    names: tuple[str, ...] | None = None,
) -> None:
    """Replace parameters by ``param_fn(name, p)`` and their Adam moments by ``moment_fn(m)``."""
    with torch.no_grad():
        for name in names or tuple(params.keys()):
            old = params[name]
            new = torch.nn.Parameter(param_fn(name, old), requires_grad=old.requires_grad)
            params[name] = new
            opt = optimizers[name]
            adam = opt.state.pop(old, {})
            for key, value in adam.items():
                if key != "step":
                    adam[key] = moment_fn(value)
            opt.param_groups[0]["params"] = [new]
            if adam:
                opt.state[new] = adam


def _update_state(state: dict, fn: Callable[[Tensor], Tensor]) -> None:
    for key, value in state.items():
        if isinstance(value, Tensor):
            state[key] = fn(value)


def grow(params: Params, optimizers: Optimizers, state: dict, masks: tuple[Tensor, Tensor]) -> None:
    """Append a copy of each cloned Gaussian; replace each split one by two smaller samples of it.

    New entries start with zero Adam moments (3DGS).
    """
    with torch.no_grad():
        clone, split = masks  # [N], [N] bool
        if not bool(clone.any() or split.any()):
            return
        split_ids, clone_ids = split.nonzero().squeeze(1), clone.nonzero().squeeze(1)
        keep = ~split
        scales = params["log_scales"][split_ids].exp()  # [S, 3]
        rot = quat_to_rotmat(F.normalize(params["quats"][split_ids], dim=-1))  # [S, 3, 3]
        noise = torch.randn(2, len(split_ids), 3).to(scales.device)  # [2, S, 3] from the CPU RNG, which checkpoints hold
        offsets = torch.einsum("sij,sj,bsj->bsi", rot, scales, noise)  # [2, S, 3]

        def children(name: str, p: Tensor) -> Tensor:  # [2S, ...]
            if name == "means":
                return (p[split_ids] + offsets).reshape(-1, 3)
            if name == "log_scales":
                return torch.log(scales / 1.6).repeat(2, 1)
            return p[split_ids].repeat(2, *[1] * (p.dim() - 1))

        def param_fn(name: str, p: Tensor) -> Tensor:
            return torch.cat([p[keep], p[clone_ids], children(name, p)])

        n_new = len(clone_ids) + 2 * len(split_ids)
        _update(params, optimizers, param_fn, lambda m: torch.cat([m[keep], m.new_zeros(n_new, *m.shape[1:])]))
        _update_state(state, lambda v: torch.cat([v[keep], v[clone_ids], v[split_ids].repeat(2, *[1] * (v.dim() - 1))]))


def prune(params: Params, optimizers: Optimizers, state: dict, mask: Tensor) -> None:
    """Remove the Gaussians where ``mask [N]`` is True (with their Adam moments and statistics)."""
    with torch.no_grad():
        if not bool(mask.any()):
            return
        keep = ~mask
        _update(params, optimizers, lambda name, p: p[keep], lambda m: m[keep])
        _update_state(state, lambda v: v[keep])


def reset_opacity(params: Params, optimizers: Optimizers, value: float) -> None:
    """Clamp every opacity to at most ``value`` and zero the opacity moments (3DGS's reset)."""
    with torch.no_grad():
        limit = torch.logit(torch.tensor(value)).item()
        _update(params, optimizers, lambda name, p: p.clamp(max=limit), torch.zeros_like, names=("opacity_logits",))


__all__ = ["DensifyStrategy", "grow", "prune", "reset_opacity"]
