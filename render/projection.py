"""EWA projection of 3D Gaussians to screen ellipses, in numpy: the maths ``shaders/projection.glsl``
runs on the GPU, kept here so it can be tested against gsplat's reference and against the shader.
The constants are :mod:`scene.formation`'s, shared with the shaders and the training rasterizer.

Pixel coordinates follow OpenCV and gsplat: x right, y down, origin at the top-left corner of the
image, pixel centres at +0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scene.camera import Camera
from scene.formation import ALPHA_MIN, EPS2D, EXTEND, FOV_MARGIN


@dataclass(frozen=True)
class Projection:
    """Screen-space ellipses of N Gaussians seen by one camera."""

    means2d: np.ndarray  # [N, 2] px
    depths: np.ndarray  # [N] distance along the optical axis
    covs2d: np.ndarray  # [N, 2, 2] px^2, low-pass (EPS2D) included
    conics: np.ndarray  # [N, 3] inverse covariance (a, b, c): a dx^2 + 2 b dx dy + c dy^2
    radii: np.ndarray  # [N, 2] int, gsplat's bounding half-sizes (0 = culled)
    valid: np.ndarray  # [N] bool: in front of the near plane, before the far plane, det > 0


def project_gaussians(means: np.ndarray, covs: np.ndarray, camera: Camera) -> Projection:
    """Project world-space ``means [N, 3]`` with covariances ``covs [N, 3, 3]`` (gsplat's rules)."""
    means = np.asarray(means, dtype=np.float64).reshape(-1, 3)
    covs = np.asarray(covs, dtype=np.float64).reshape(-1, 3, 3)
    view = camera.w2c_opencv()
    t = means @ view[:3, :3].T + view[:3, 3]
    tz = t[:, 2]
    fx, fy = camera.fx, camera.fy
    cx, cy = camera.principal_point
    w, h = camera.width, camera.height
    tan_x, tan_y = 0.5 * w / fx, 0.5 * h / fy
    margin_x, margin_y = FOV_MARGIN * tan_x, FOV_MARGIN * tan_y
    tx = tz * np.clip(t[:, 0] / tz, -(cx / fx + margin_x), (w - cx) / fx + margin_x)
    ty = tz * np.clip(t[:, 1] / tz, -(cy / fy + margin_y), (h - cy) / fy + margin_y)
    jac = np.zeros((len(t), 2, 3))
    jac[:, 0, 0] = fx / tz
    jac[:, 0, 2] = -fx * tx / tz**2
    jac[:, 1, 1] = fy / tz
    jac[:, 1, 2] = -fy * ty / tz**2
    cov_cam = view[:3, :3] @ covs @ view[:3, :3].T
    cov2d = jac @ cov_cam @ np.swapaxes(jac, 1, 2) + EPS2D * np.eye(2)
    det = cov2d[:, 0, 0] * cov2d[:, 1, 1] - cov2d[:, 0, 1] * cov2d[:, 1, 0]
    safe_det = np.maximum(det, 1e-10)
    conics = np.stack(
        [cov2d[:, 1, 1] / safe_det, -0.5 * (cov2d[:, 0, 1] + cov2d[:, 1, 0]) / safe_det, cov2d[:, 0, 0] / safe_det],
        axis=1,
    )
    means2d = np.stack([fx * t[:, 0] / tz + cx, fy * t[:, 1] / tz + cy], axis=1)
    radii = np.ceil(EXTEND * np.sqrt(np.stack([cov2d[:, 0, 0], cov2d[:, 1, 1]], axis=1)))
    valid = (det > 0) & (tz > camera.near) & (tz < camera.far)
    inside = (
        (means2d[:, 0] + radii[:, 0] > 0)
        & (means2d[:, 0] - radii[:, 0] < w)
        & (means2d[:, 1] + radii[:, 1] > 0)
        & (means2d[:, 1] - radii[:, 1] < h)
    )
    radii[~(valid & inside)] = 0
    return Projection(means2d, tz, cov2d, conics, radii.astype(np.int32), valid)


def quad_axes(cov2d: np.ndarray, opacities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The splat quads: half-axes ``[N, 2]`` x2 along the ellipse's eigenvectors and the extent in sigmas.

    The extent is the shared rule's reach, ``min(EXTEND, sqrt(2 ln(opacity / ALPHA_MIN)))`` sigmas
    (0 under ``ALPHA_MIN``): where alpha falls under ``ALPHA_MIN``, so quads hug what is visible.
    """
    a, b, c = cov2d[:, 0, 0], cov2d[:, 0, 1], cov2d[:, 1, 1]
    mid = 0.5 * (a + c)
    disc = np.sqrt(np.maximum(mid**2 - (a * c - b * b), 0.0))
    l1, l2 = mid + disc, np.maximum(mid - disc, 1e-6)
    v1 = np.stack([b, l1 - a], axis=1)
    norm = np.linalg.norm(v1, axis=1, keepdims=True)
    fallback = np.where((a >= c)[:, None], [[1.0, 0.0]], [[0.0, 1.0]])
    v1 = np.where(np.abs(b)[:, None] > 1e-12, v1 / np.maximum(norm, 1e-30), fallback)
    opacities = np.asarray(opacities, dtype=np.float64)
    reach = np.sqrt(2.0 * np.log(np.maximum(opacities, ALPHA_MIN) / ALPHA_MIN))
    extent = np.where(opacities >= ALPHA_MIN, np.minimum(EXTEND, reach), 0.0)
    axis1 = v1 * (extent * np.sqrt(l1))[:, None]
    axis2 = np.stack([-v1[:, 1], v1[:, 0]], axis=1) * (extent * np.sqrt(l2))[:, None]
    return axis1, axis2, extent
