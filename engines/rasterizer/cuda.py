"""The gsplat backend: ``gsplat.rasterization`` on CUDA, with outputs in our :class:`RasterOutput`."""

from __future__ import annotations

import functools

from torch import Tensor

from engines.rasterizer.formation import RasterOutput
from engines.rasterizer.projection import EPS2D


@functools.cache
def gsplat_available() -> bool:
    """True when gsplat imports and its CUDA kernels load (the first call may JIT-build them)."""
    try:
        from gsplat.cuda._backend import _C
    except Exception:  # ImportError, or a failed build
        return False
    return _C is not None


def rasterize_gsplat(
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
    """Rasterize with gsplat's fused CUDA kernels (tensors must be on a CUDA device)."""
    from gsplat import rasterization

    n_cams = viewmats.shape[0]
    render, alpha, info = rasterization(
        means,
        quats,
        scales,
        opacities,
        colors,
        viewmats,
        Ks,
        width,
        height,
        near_plane=near_plane,
        far_plane=far_plane,
        eps2d=EPS2D,
        sh_degree=sh_degree,
        packed=False,
        backgrounds=None if background is None else background.expand(n_cams, 3),
        render_mode="RGB+ED",
        rasterize_mode="classic",
    )
    means2d = info["means2d"]  # [C, N, 2]
    if means2d.requires_grad:
        means2d.retain_grad()
    return RasterOutput(
        rgb=render[..., :3],
        alpha=alpha,
        depth=render[..., 3:4],
        means2d=means2d,
        radii=info["radii"].amax(dim=-1),
        width=width,
        height=height,
    )
