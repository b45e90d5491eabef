"""View-dependent colour from spherical harmonics in PyTorch (the 3DGS / gsplat basis).

The constants and sign conventions are those of :mod:`scene.sh`, so a cloud's coefficients mean
the same colour here, in the viewport and in gsplat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from scene.sh import C0, C1, C2, C3, num_coeffs


def sh_basis(dirs: Tensor, degree: int) -> Tensor:
    """Basis values ``[..., (degree + 1) ** 2]`` at unit directions ``dirs [..., 3]``."""
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, C0)]
    if degree >= 1:
        out += [-C1 * y, C1 * z, -C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        out += [C2[0] * xy, C2[1] * yz, C2[2] * (2 * zz - xx - yy), C2[3] * xz, C2[4] * (xx - yy)]
    if degree >= 3:
        out += [
            C3[0] * y * (3 * xx - yy),
            C3[1] * xy * z,
            C3[2] * y * (4 * zz - xx - yy),
            C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            C3[4] * x * (4 * zz - xx - yy),
            C3[5] * z * (xx - yy),
            C3[6] * x * (xx - 3 * yy),
        ]
    return torch.stack(out, dim=-1)


def sh_colors(
    coeffs: Tensor,  # [N, K, 3], K >= (degree + 1) ** 2, DC first
    means: Tensor,  # [N, 3]
    centres: Tensor,  # [C, 3] camera positions
    degree: int,
) -> Tensor:  # [C, N, 3]
    """RGB seen by each camera: ``SH(normalize(mean - centre)) + 0.5`` clamped at 0 (gsplat's rule)."""
    dirs = F.normalize(means[None] - centres[:, None], dim=-1)  # [C, N, 3]
    basis = sh_basis(dirs, degree)  # [C, N, k]
    rgb = torch.einsum("cnk,nkd->cnd", basis, coeffs[:, : num_coeffs(degree)])
    return torch.clamp_min(rgb + 0.5, 0.0)
