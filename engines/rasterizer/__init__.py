"""Differentiable Gaussian-splat rasterizer: gsplat on CUDA, our tiled PyTorch version elsewhere.

Image formation (identical in both backends, and in the viewport's shaders: the constants below are
:mod:`scene.formation`'s, the one place they are written):

* 3D covariance ``R S S^T R^T`` from the normalized quaternion and linear scales, projected with
  the EWA Jacobian (OpenCV camera, +Z forward; taken at the centre clamped to ``1 + FOV_MARGIN``
  times the field of view); ``EPS2D`` px^2 added to the 2D covariance diagonal.
* ``alpha = min(ALPHA_MAX, opacity * exp(-d^T S^-1 d / 2))`` at pixel centres ``(x + 0.5, y + 0.5)``
  (gsplat 1.5's kernel); fragments with ``alpha < ALPHA_MIN`` are skipped.
* Colour: RGB as given, or ``SH(normalize(mean - camera centre)) + 0.5`` clamped at 0.
* Front-to-back in depth order of centres; a pixel stops before the fragment that would leave
  transmittance ``T <= T_MIN``; ``rgb = sum w_i c_i + T * background``, ``alpha = 1 - T``, and
  ``depth = sum w_i z_i / alpha`` (expected depth, gsplat's "ED").
* Culled: centres outside (near, far) or opacity < ``ALPHA_MIN``, and boxes of half-extent
  ``ceil(min(EXTEND, sqrt(2 ln(opacity / ALPHA_MIN))) * sqrt(diag S))`` that miss the image (gsplat
  1.5). The viewport draws each splat over the same reach, along its axes.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from engines.rasterizer.camera import camera_to_tensors
from engines.rasterizer.cpu import composite_tiles
from engines.rasterizer.cuda import gsplat_available, rasterize_gsplat
from engines.rasterizer.formation import RasterOutput, render

Backend = Literal["auto", "gsplat", "torch"]


def rasterize(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz, normalized here
    scales: Tensor,  # [N, 3] linear (activated)
    opacities: Tensor,  # [N] activated, 0-1
    colors: Tensor,  # [N, 3] RGB, or [N, K, 3] SH coefficients when sh_degree is given
    viewmats: Tensor,  # [C, 4, 4] world-to-camera, OpenCV (+Z forward, +Y down)
    Ks: Tensor,  # [C, 3, 3] pixel intrinsics
    width: int,
    height: int,
    sh_degree: int | None = None,  # use SH bands 0..sh_degree of colors
    background: Tensor | None = None,  # [C, 3] or [3]
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    backend: Backend = "auto",
) -> RasterOutput:
    """Render C views of N Gaussians, differentiably.

    ``"auto"`` uses gsplat when the tensors are on CUDA and its kernels load, else ``"torch"``.
    """
    _check_shapes(means, quats, scales, opacities, colors, viewmats, Ks, sh_degree)
    if backend == "auto":
        backend = "gsplat" if means.is_cuda and gsplat_available() else "torch"
    args = (means, quats, scales, opacities, colors, viewmats, Ks, width, height, sh_degree, background, near_plane, far_plane)
    if backend == "gsplat":
        return rasterize_gsplat(*args)
    if backend == "torch":
        return render(composite_tiles, *args)
    raise ValueError(f"rasterize: unknown backend {backend!r}")


def _check_shapes(means, quats, scales, opacities, colors, viewmats, Ks, sh_degree) -> None:
    n = means.shape[0]
    expected = {
        "means": (means, (n, 3)),
        "quats": (quats, (n, 4)),
        "scales": (scales, (n, 3)),
        "opacities": (opacities, (n,)),
        "Ks": (Ks, (viewmats.shape[0], 3, 3)),
        "viewmats": (viewmats, (Ks.shape[0], 4, 4)),
    }
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape:
            raise ValueError(f"rasterize: {name} has shape {tuple(tensor.shape)}, expected {shape}")
    want_sh = sh_degree is not None
    if colors.shape[0] != n or colors.shape[-1] != 3 or colors.dim() != (3 if want_sh else 2):
        raise ValueError(f"rasterize: colors has shape {tuple(colors.shape)} for sh_degree={sh_degree}")
    if want_sh and colors.shape[1] < (sh_degree + 1) ** 2:
        raise ValueError(f"rasterize: sh_degree {sh_degree} needs {(sh_degree + 1) ** 2} coefficients")


__all__ = ["Backend", "RasterOutput", "camera_to_tensors", "rasterize"]
