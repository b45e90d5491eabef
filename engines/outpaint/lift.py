"""Lifting pixels with depth into 3D, and projecting 3D points back into a camera.

Conventions are the rasterizer's: a ``scene.Camera`` seen through its OpenCV view matrix (+Z forward,
+Y down) and pixel intrinsics, pixel ``(row i, column j)`` has its centre at ``(j + 0.5, i + 0.5)``,
and depth is z-depth along the viewing axis (what the rasterizer renders), not distance to the eye.
The math is in torch so that it runs where the scene's tensors live (per view, on the GPU).
"""

from __future__ import annotations

import torch
from torch import Tensor

from engines.rasterizer import camera_to_tensors
from scene import Camera, GaussianCloud


def _view(camera: Camera, like: Tensor) -> tuple[Tensor, Tensor]:
    """``(w2c [4, 4] OpenCV, K [3, 3])`` of ``camera`` in ``like``'s dtype and device."""
    viewmats, Ks, _, _ = camera_to_tensors([camera], dtype=like.dtype, device=like.device)
    return viewmats[0], Ks[0]


def _check_image(name: str, tensor: Tensor, camera: Camera) -> None:
    if tuple(tensor.shape[:2]) != (camera.height, camera.width):
        raise ValueError(
            f"{name}: the picture is {tensor.shape[1]}x{tensor.shape[0]} pixels but the camera's is "
            f"{camera.width}x{camera.height}"
        )


def pixel_centres(camera: Camera, like: Tensor) -> Tensor:
    """Pixel coordinates ``[H, W, 2]`` (x right, y down) of every pixel centre of ``camera``'s image."""
    rows = torch.arange(camera.height, dtype=like.dtype, device=like.device) + 0.5
    cols = torch.arange(camera.width, dtype=like.dtype, device=like.device) + 0.5
    v, u = torch.meshgrid(rows, cols, indexing="ij")
    return torch.stack([u, v], dim=-1)


def unproject_depth(
    depth: Tensor,  # [H, W] z-depth
    camera: Camera,
) -> Tensor:  # [H, W, 3] world points
    """The world point seen at each pixel centre at its z-depth (the inverse of :func:`project_points`)."""
    _check_image("unproject_depth", depth, camera)
    w2c, K = _view(camera, depth)
    uv = pixel_centres(camera, depth)
    x = (uv[..., 0] - K[0, 2]) / K[0, 0] * depth
    y = (uv[..., 1] - K[1, 2]) / K[1, 1] * depth
    cam = torch.stack([x, y, depth], dim=-1)
    rot, trans = w2c[:3, :3], w2c[:3, 3]
    return (cam - trans) @ rot  # R^T (p - t): the view matrix's rotation is orthonormal


def project_points(
    points: Tensor,  # [..., 3] world
    camera: Camera,
) -> tuple[Tensor, Tensor]:  # ([..., 2] pixel coordinates x right y down, [...] z-depth)
    """Where world ``points`` land in ``camera``'s image, and their z-depth there (negative: behind it)."""
    w2c, K = _view(camera, points)
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    depth = cam[..., 2]
    safe = torch.where(depth.abs() > 1e-12, depth, torch.full_like(depth, 1e-12))
    u = K[0, 0] * cam[..., 0] / safe + K[0, 2]
    v = K[1, 1] * cam[..., 1] / safe + K[1, 2]
    return torch.stack([u, v], dim=-1), depth


def pixel_footprint(
    depth: Tensor,  # [H, W] z-depth
    camera: Camera,
) -> Tensor:  # [H, W]
    """The world-space width of one pixel at each pixel's depth: the spacing of lifted neighbours."""
    return depth / camera.fx


def lift_gaussians(
    image: Tensor,  # [H, W, 3] RGB 0-1
    depth: Tensor,  # [H, W] z-depth
    camera: Camera,
    mask: Tensor | None = None,  # [H, W] bool, the pixels to lift; None lifts them all
    *,
    size: float = 0.5,
    opacity: float = 0.99,
) -> GaussianCloud:
    """One round Gaussian per chosen pixel: at its world point, with its colour and a standard deviation
    of ``size`` times the pixel's footprint.

    At 0.5 neighbours meet at one standard deviation: seen from closer or aside they still cover the
    surface without gaps (LucidDreamer's point cloud, made splats), while seen from where they were
    lifted they blur the picture little (larger splats smear it over their neighbours). Opacity stays
    just under 1 so that the optimizer can still change it.
    """
    _check_image("lift_gaussians", image, camera)
    if image.dim() != 3 or image.shape[2] != 3:
        raise ValueError(f"lift_gaussians: the image must be [H, W, 3], got {tuple(image.shape)}")
    if mask is None:
        mask = torch.ones(depth.shape, dtype=torch.bool, device=depth.device)
    if tuple(mask.shape) != tuple(depth.shape):
        raise ValueError(f"lift_gaussians: the mask is {tuple(mask.shape)} but the depth is {tuple(depth.shape)}")
    chosen = depth[mask]
    bad = int((~torch.isfinite(chosen) | (chosen <= 0)).sum())
    if bad:
        raise ValueError(f"lift_gaussians: {bad} of the pixels to lift have no positive depth")
    points = unproject_depth(depth, camera)[mask]
    scales = (size * pixel_footprint(depth, camera)[mask])[:, None]
    return GaussianCloud.create(
        points.detach().cpu().numpy(),
        scales.detach().cpu().numpy(),
        image[mask].detach().clamp(0, 1).cpu().numpy(),
        opacity,
    )
