"""An independent numpy rasterizer of 3D Gaussians (the 3DGS image formation), as a test oracle.

Written from the formulas, not from render/ (only the constants are the shared ones of
scene/formation.py): covariance R S S^T R^T, EWA Jacobian, + EPS2D px^2,
alpha = min(ALPHA_MAX, o exp(-0.5 d^T S^-1 d)) dropped under ALPHA_MIN and beyond EXTEND sigma, SH
colour + 0.5 clamped at 0, front-to-back compositing in depth order of the centres, pixel centres at +0.5.
"""

from __future__ import annotations

import numpy as np

from scene import Camera, GaussianCloud
from scene.formation import ALPHA_MAX, ALPHA_MIN, EPS2D, EXTEND
from scene.sh import eval_sh


def rasterize(cloud: GaussianCloud, camera: Camera, background=(0.0, 0.0, 0.0)) -> np.ndarray:
    """The image ``[H, W, 3]`` float in 0-1 (not clamped above)."""
    view = camera.w2c_opencv()
    t = cloud.means.astype(np.float64) @ view[:3, :3].T + view[:3, 3]
    cov = view[:3, :3] @ cloud.covariances() @ view[:3, :3].T
    k = camera.intrinsics()
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    dirs = cloud.means - camera.position
    colors = eval_sh(cloud.sh, dirs / np.linalg.norm(dirs, axis=1, keepdims=True))
    ys, xs = np.mgrid[0 : camera.height, 0 : camera.width] + 0.5
    image = np.zeros((camera.height, camera.width, 3))
    transmittance = np.ones((camera.height, camera.width))
    for i in np.argsort(t[:, 2]):
        x, y, z = t[i]
        if z <= camera.near:
            continue
        jac = np.array([[fx / z, 0.0, -fx * x / z**2], [0.0, fy / z, -fy * y / z**2]])
        cov2d = jac @ cov[i] @ jac.T + EPS2D * np.eye(2)
        inv = np.linalg.inv(cov2d)
        dx, dy = xs - (fx * x / z + cx), ys - (fy * y / z + cy)
        power = 0.5 * (inv[0, 0] * dx * dx + 2 * inv[0, 1] * dx * dy + inv[1, 1] * dy * dy)
        alpha = np.minimum(ALPHA_MAX, cloud.opacities[i] * np.exp(-power))
        alpha[(alpha < ALPHA_MIN) | (power > 0.5 * EXTEND**2)] = 0.0
        image += (transmittance * alpha)[..., None] * colors[i]
        transmittance *= 1.0 - alpha
    return image + transmittance[..., None] * np.asarray(background)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two images in 0-1."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)
