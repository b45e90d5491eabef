"""Image formation shared by the PyTorch rasterizers: projection, colour, compositing, background.

A *compositor* turns screen-space Gaussians into per-pixel sums; :func:`render` wraps one with
everything else, so the tiled rasterizer (:mod:`.cpu`) and the dense reference (:mod:`.reference`)
differ only in how they composite. The constants are :mod:`scene.formation`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from engines.rasterizer.projection import camera_centres, project
from engines.rasterizer.sh import sh_colors
from scene.formation import ALPHA_MAX, T_MIN  # noqa: F401  (the compositors' constants, named here for them)


@dataclass
class RasterOutput:
    """Rendered images of C cameras plus what densification needs."""

    rgb: Tensor  # [C, H, W, 3] composited colour, background included
    alpha: Tensor  # [C, H, W, 1] accumulated opacity 1 - T
    depth: Tensor  # [C, H, W, 1] expected z-depth sum(w z) / max(alpha, 1e-10) (gsplat's "ED")
    means2d: Tensor  # [C, N, 2] projected centres; after backward ``.grad`` holds dL/dmeans2d (px)
    radii: Tensor  # [C, N] int32 screen radius in pixels (larger box half-extent), 0 = culled
    width: int
    height: int

    @property
    def visible(self) -> Tensor:  # [C, N] bool
        return self.radii > 0

    def screen_grad_norms(self) -> Tensor:  # [C, N]
        """``|dL/dmeans2d|`` in half-image units (gsplat's densification statistic)."""
        grad = self.means2d.grad
        if grad is None:
            raise RuntimeError("RasterOutput.screen_grad_norms: run backward first")
        scale = grad.new_tensor([0.5 * self.width, 0.5 * self.height]) * grad.shape[0]
        return (grad * scale).norm(dim=-1)


class Compositor(Protocol):
    def __call__(
        self,
        means2d: Tensor,  # [C, N, 2]
        conics: Tensor,  # [C, N, 3]
        opacities: Tensor,  # [C, N]
        features: Tensor,  # [C, N, D]
        radii: Tensor,  # [C, N, 2] int, 0 = culled
        depths: Tensor,  # [C, N] sort keys, front first
        width: int,
        height: int,
    ) -> Tensor:  # [C, H, W, D + 1]: sum_i w_i f_i, then sum_i w_i (= alpha)
        ...


def render(
    compositor: Compositor,
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [N, 3] or [N, K, 3]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    sh_degree: int | None = None,
    background: Tensor | None = None,  # [C, 3] or [3]
    near_plane: float = 0.01,
    far_plane: float = 1e10,
) -> RasterOutput:
    """Rasterize with the given compositor; see :func:`engines.rasterizer.rasterize`."""
    proj = project(means, quats, scales, viewmats, Ks, width, height, opacities, near_plane, far_plane)
    n_cams = viewmats.shape[0]
    if sh_degree is None:
        rgb = colors[None].expand(n_cams, -1, -1)  # [C, N, 3]
    else:
        rgb = sh_colors(colors, means, camera_centres(viewmats), sh_degree)
    features = torch.cat([rgb, proj.depths[..., None]], dim=-1)  # [C, N, 4]
    sums = compositor(
        proj.means2d,
        proj.conics,
        opacities[None].expand(n_cams, -1),
        features,
        proj.radii,
        proj.depths.detach(),
        width,
        height,
    )  # [C, H, W, 5]
    alpha = sums[..., 4:5]
    image = sums[..., :3]
    if background is not None:
        image = image + (1.0 - alpha) * background.expand(n_cams, 3)[:, None, None, :]
    if proj.means2d.requires_grad:
        proj.means2d.retain_grad()
    return RasterOutput(
        rgb=image,
        alpha=alpha,
        depth=sums[..., 3:4] / alpha.clamp(min=1e-10),
        means2d=proj.means2d,
        radii=proj.radii.amax(dim=-1),
        width=width,
        height=height,
    )
