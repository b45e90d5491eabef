"""EWA projection of 3D Gaussians to screen-space ellipses, as gsplat 1.5 does it (pinhole).

Every formula matches gsplat's ``fully_fused_projection`` (``ProjectionEWA3DGSFused.cu`` and its
PyTorch twin ``gsplat.cuda._torch_impl._fully_fused_projection``): the Jacobian is evaluated at the
centre clamped to 1.3x the field of view, ``eps2d`` is added to the diagonal of the 2D covariance,
and the bounding box is ``ceil(extend * sqrt(diag))`` with the opacity-aware ``extend``. The
constants are :mod:`scene.formation`'s, which the viewport's shaders share.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from scene.formation import ALPHA_MIN, EPS2D, EXTEND, FOV_MARGIN


@dataclass(frozen=True)
class Projection:
    """Screen-space Gaussians of C cameras; entries with ``radii == 0`` are culled."""

    means2d: Tensor  # [C, N, 2] pixel coordinates (x right, y down), differentiable
    conics: Tensor  # [C, N, 3] inverse 2D covariance (a, b, c) = (inv00, inv01, inv11), differentiable
    depths: Tensor  # [C, N] camera-space z, differentiable
    radii: Tensor  # [C, N, 2] int32 bounding-box half-extents in pixels, 0 when culled

    @property
    def visible(self) -> Tensor:  # [C, N] bool
        return (self.radii > 0).all(dim=-1)


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """Rotation matrices ``[N, 3, 3]`` of quaternions ``[N, 4]`` (wxyz, normalized here)."""
    w, x, y, z = F.normalize(quats, dim=-1).unbind(-1)
    rot = torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    )  # fmt: skip
    return rot.reshape(quats.shape[:-1] + (3, 3))


def covariances(quats: Tensor, scales: Tensor) -> Tensor:
    """World covariances ``R S S^T R^T`` ``[N, 3, 3]`` from quaternions ``[N, 4]`` and scales ``[N, 3]``."""
    m = quat_to_rotmat(quats) * scales[:, None, :]
    return m @ m.transpose(-1, -2)


def project(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz
    scales: Tensor,  # [N, 3] linear
    viewmats: Tensor,  # [C, 4, 4] world-to-camera, OpenCV
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    opacities: Tensor | None = None,  # [N]; tightens the box and culls the invisible, as gsplat
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = EPS2D,
) -> Projection:
    """Project Gaussians to every camera (differentiable in means2d, conics and depths)."""
    rot, trans = viewmats[:, :3, :3], viewmats[:, :3, 3]  # [C, 3, 3], [C, 3]
    means_c = torch.einsum("cij,nj->cni", rot, means) + trans[:, None, :]  # [C, N, 3]
    covars_c = rot[:, None] @ covariances(quats, scales)[None] @ rot[:, None].transpose(-1, -2)
    x, y, z = means_c.unbind(-1)  # [C, N]
    in_depth = (z > near_plane) & (z < far_plane)
    z = torch.where(in_depth, z, torch.ones_like(z))  # culled ones get a harmless depth (no NaN grads)

    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # [C, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    # The Jacobian is taken at the centre clamped to 1.3x the field of view (stabilizes the edges).
    margin_x, margin_y = FOV_MARGIN * 0.5 * width / fx, FOV_MARGIN * 0.5 * height / fy
    tx = z * torch.clamp(x / z, min=-(cx / fx + margin_x), max=(width - cx) / fx + margin_x)
    ty = z * torch.clamp(y / z, min=-(cy / fy + margin_y), max=(height - cy) / fy + margin_y)
    zero = torch.zeros_like(z)
    jac = torch.stack([fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2], dim=-1)
    jac = jac.reshape(z.shape + (2, 3))  # [C, N, 2, 3]
    cov2d = jac @ covars_c @ jac.transpose(-1, -2) + eps2d * torch.eye(2, dtype=z.dtype, device=z.device)
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)  # [C, N, 2]

    s00, s01, s11 = cov2d[..., 0, 0], 0.5 * (cov2d[..., 0, 1] + cov2d[..., 1, 0]), cov2d[..., 1, 1]
    det = (s00 * s11 - s01 * s01).clamp(min=1e-10)
    conics = torch.stack([s11 / det, -s01 / det, s00 / det], dim=-1)  # [C, N, 3]

    with torch.no_grad():
        extend = torch.full_like(z, EXTEND)
        keep = in_depth
        if opacities is not None:  # alpha < ALPHA_MIN beyond sqrt(2 ln(255 o)) sigmas
            o = opacities.detach()[None].expand_as(z)
            keep = keep & (o >= ALPHA_MIN)
            extend = torch.minimum(extend, torch.sqrt(2.0 * torch.log(o.clamp(min=ALPHA_MIN) / ALPHA_MIN)))
        radius = torch.ceil(extend[..., None] * torch.stack([s00, s11], dim=-1).sqrt())  # [C, N, 2]
        m = means2d.detach()
        inside = (
            (m[..., 0] + radius[..., 0] > 0)
            & (m[..., 0] - radius[..., 0] < width)
            & (m[..., 1] + radius[..., 1] > 0)
            & (m[..., 1] - radius[..., 1] < height)
        )
        keep = keep & inside & (radius > 0).any(dim=-1)
        radii = torch.where(keep[..., None], radius, torch.zeros_like(radius)).to(torch.int32)
    return Projection(means2d=means2d, conics=conics, depths=means_c[..., 2], radii=radii)


def camera_centres(viewmats: Tensor) -> Tensor:
    """World positions ``[C, 3]`` of rigid world-to-camera matrices ``[C, 4, 4]``: ``-R^T t``."""
    rot, trans = viewmats[:, :3, :3], viewmats[:, :3, 3]
    return -(rot.transpose(-1, -2) @ trans[..., None])[..., 0]


__all__ = ["ALPHA_MIN", "EPS2D", "EXTEND", "Projection", "camera_centres", "covariances", "project", "quat_to_rotmat"]
