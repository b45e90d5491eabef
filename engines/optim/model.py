"""``GaussianModel``: a Gaussian cloud as torch parameters, each with its own Adam (gsplat style).

One optimizer per parameter tensor (``means``, ``log_scales``, ``quats``, ``opacity_logits``,
``sh_dc``, ``sh_rest``) lets a densification strategy resize a tensor together with its Adam
moments without touching the others. The learning rate of the means decays exponentially, and the
active SH degree grows by one band every ``sh_interval`` steps, as in 3DGS.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engines.optim_settings import LearningRates
from scene import GaussianCloud

PARAM_NAMES = ("means", "log_scales", "quats", "opacity_logits", "sh_dc", "sh_rest")
ADAM_EPS = 1e-15  # 3DGS: tiny epsilon, so small gradients still move parameters


class GaussianModel:
    """Trainable Gaussians: ``params`` (a ParameterDict) and ``optimizers`` (one Adam each)."""

    def __init__(
        self,
        params: dict[str, Tensor],
        sh_degree: int,
        lrs: LearningRates = LearningRates(),
        scene_scale: float = 1.0,
        steps: int = 30_000,
        sh_interval: int = 1000,
    ) -> None:
        self.params = torch.nn.ParameterDict({name: torch.nn.Parameter(params[name]) for name in PARAM_NAMES})
        self.sh_degree = sh_degree
        self.sh_interval = sh_interval
        self.scene_scale = scene_scale
        self._means_lr = (lrs.means * scene_scale, lrs.means_final * scene_scale)
        self._steps = max(1, steps)
        initial = {**{name: getattr(lrs, name) for name in PARAM_NAMES}, "means": self._means_lr[0]}
        self.optimizers = {
            name: torch.optim.Adam([self.params[name]], lr=initial[name], eps=ADAM_EPS) for name in PARAM_NAMES
        }

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_cloud(cls, cloud: GaussianCloud, sh_degree: int, device: str | torch.device = "cpu", **kw: Any) -> "GaussianModel":
        """Parameters initialized from ``cloud``, SH padded or truncated to ``sh_degree``."""
        sh = cloud.with_sh_degree(sh_degree).sh  # [N, K, 3]
        arrays = {
            "means": cloud.means,
            "log_scales": cloud.log_scales,
            "quats": cloud.quats,
            "opacity_logits": cloud.opacity_logits,
            "sh_dc": sh[:, :1],
            "sh_rest": sh[:, 1:],
        }
        params = {k: torch.tensor(v, dtype=torch.float32, device=device) for k, v in arrays.items()}  # copies
        return cls(params, sh_degree, **kw)

    def to_cloud(self) -> GaussianCloud:
        """The current Gaussians as an immutable ``scene.GaussianCloud`` (a copy: Adam updates the
        parameters in place, and on the CPU ``.numpy()`` would share their memory)."""
        p = {name: t.detach().cpu().numpy().copy() for name, t in self.params.items()}
        sh = np.concatenate([p["sh_dc"], p["sh_rest"]], axis=1)
        return GaussianCloud(p["means"], p["log_scales"], p["quats"], p["opacity_logits"], sh)

    def live_arrays(self) -> Any:
        """The current Gaussians as ``LiveArrays`` of kind "splats": the parameters themselves, no
        copy; a snapshot of them costs the engine one copy into shared memory, when the worker takes it."""
        from engines.runtime.stream import LiveArrays

        p = self.params
        arrays = {name: p[name] for name in ("means", "log_scales", "quats", "opacity_logits")}
        return LiveArrays("splats", {**arrays, "sh": (p["sh_dc"], p["sh_rest"])})

    # ----------------------------------------------------------------- activated values
    def __len__(self) -> int:
        return self.params["means"].shape[0]

    @property
    def scales(self) -> Tensor:  # [N, 3]
        return torch.exp(self.params["log_scales"])

    @property
    def opacities(self) -> Tensor:  # [N]
        return torch.sigmoid(self.params["opacity_logits"])

    @property
    def sh(self) -> Tensor:  # [N, K, 3]
        return torch.cat([self.params["sh_dc"], self.params["sh_rest"]], dim=1)

    def active_sh_degree(self, step: int) -> int:
        """SH bands in use at ``step``: one more every ``sh_interval`` steps, up to ``sh_degree``."""
        return min(self.sh_degree, step // max(1, self.sh_interval))

    # ----------------------------------------------------------------- optimization
    def means_lr(self, step: int) -> float:
        """Exponential decay from the initial to the final learning rate over ``steps``."""
        start, end = self._means_lr
        t = min(max(step / self._steps, 0.0), 1.0)
        return math.exp((1 - t) * math.log(start) + t * math.log(end))

    def zero_grad(self) -> None:
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)

    def step(self, step: int) -> None:
        """One Adam step of every group, with the means' learning rate for ``step``.

        SH bands not yet active get zero gradients, so their Adam moments stay zero and they stay put.
        """
        for group in self.optimizers["means"].param_groups:
            group["lr"] = self.means_lr(step)
        for opt in self.optimizers.values():
            opt.step()

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Parameters and Adam moments as a flat string-keyed dict of tensors and numbers."""
        state: dict[str, Any] = {"sh_degree": self.sh_degree, "scene_scale": self.scene_scale}
        for name in PARAM_NAMES:
            param = self.params[name]
            adam = self.optimizers[name].state.get(param, {})
            state[name] = param.detach().clone()
            for key in ("exp_avg", "exp_avg_sq", "step"):
                if key in adam:
                    state[f"{name}.{key}"] = adam[key].detach().clone()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore parameters (any count) and Adam moments saved by :meth:`state_dict`."""
        if int(state["sh_degree"]) != self.sh_degree:
            raise ValueError(f"checkpoint has SH degree {state['sh_degree']}, the model {self.sh_degree}")
        device = self.params["means"].device
        for name in PARAM_NAMES:
            param = torch.nn.Parameter(state[name].to(device).clone())
            self.params[name] = param
            opt = self.optimizers[name]
            opt.state.clear()
            opt.param_groups[0]["params"] = [param]
            keys = ("exp_avg", "exp_avg_sq", "step")
            if all(f"{name}.{k}" in state for k in keys):
                opt.state[param] = {k: state[f"{name}.{k}"].clone().to(device if k != "step" else "cpu") for k in keys}


__all__ = ["ADAM_EPS", "PARAM_NAMES", "GaussianModel", "LearningRates"]
