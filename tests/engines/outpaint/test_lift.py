"""Lifting pixels with depth to world points and Gaussians, and projecting them back."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engines.outpaint import lift_gaussians, pixel_footprint, project_points, unproject_depth
from engines.rasterizer import camera_to_tensors, rasterize
from scene import Camera, GaussianCloud

F64 = torch.float64


def wavy_depth(height: int, width: int) -> torch.Tensor:
    v, u = torch.meshgrid(torch.arange(height, dtype=F64), torch.arange(width, dtype=F64), indexing="ij")
    return 2.0 + 0.5 * torch.sin(u / 5.0) * torch.cos(v / 7.0) + 0.01 * u


def pixel_grid(camera: Camera) -> np.ndarray:
    """Pixel-centre coordinates ``[H, W, 2]`` (x right, y down)."""
    v, u = np.meshgrid(np.arange(camera.height) + 0.5, np.arange(camera.width) + 0.5, indexing="ij")
    return np.stack([u, v], axis=-1)


def plane_depth(camera: Camera, uv: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    """Analytic z-depth ``[...]`` of the plane ``normal . x = offset`` seen at pixel coordinates ``uv``."""
    (fx, _, cx), (_, fy, cy), _ = camera.intrinsics()
    rays_cam = np.stack([(uv[..., 0] - cx) / fx, (uv[..., 1] - cy) / fy, np.ones(uv.shape[:-1])], -1)  # z = 1
    rays = rays_cam @ np.linalg.inv(camera.w2c_opencv())[:3, :3].T
    return (offset - normal @ camera.position) / (rays @ normal)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean()))


def render(cloud: GaussianCloud, camera: Camera):
    t = lambda a: torch.tensor(np.asarray(a), dtype=F64)  # noqa: E731
    viewmats, Ks, width, height = camera_to_tensors([camera], dtype=F64)
    return rasterize(
        t(cloud.means), t(cloud.quats), t(cloud.scales), t(cloud.opacities), t(cloud.base_colors),
        viewmats, Ks, width, height, backend="torch",
    )  # fmt: skip


CAMERAS = [
    Camera.look_at([0.3, 0.2, 3.0], [0, 0, 0], width=23, height=17, fov_y_deg=50),
    Camera.look_at([-2.0, 1.5, -1.0], [0.2, 0, 0.1], width=16, height=30, fov_y_deg=70, up=(0.3, 1, 0)),
]


@pytest.mark.parametrize("camera", CAMERAS)
def test_lift_then_project_into_the_same_camera_is_exact(camera):
    depth = wavy_depth(camera.height, camera.width)
    points = unproject_depth(depth, camera)
    uv, z = project_points(points, camera)
    np.testing.assert_allclose(uv.numpy(), pixel_grid(camera), atol=1e-9)
    np.testing.assert_allclose(z.numpy(), depth.numpy(), rtol=1e-12)
    # scene.Camera's own numpy projection agrees: the conventions are the viewport's
    uv_np, z_np = camera.project(points.reshape(-1, 3).numpy())
    np.testing.assert_allclose(uv_np, uv.reshape(-1, 2).numpy(), atol=1e-9)
    np.testing.assert_allclose(z_np, z.reshape(-1).numpy(), rtol=1e-12)


def test_lifted_plane_lands_where_another_camera_sees_the_plane():
    normal, offset = np.array([0.2, 1.0, 0.3]) / np.linalg.norm([0.2, 1.0, 0.3]), -0.4
    source = Camera.look_at([0.5, 2.0, 3.0], [0, -0.4, 0], width=40, height=30, fov_y_deg=60)
    other = Camera.look_at([-1.0, 1.5, 2.0], [0.3, -0.4, 0.2], width=40, height=30, fov_y_deg=45)
    depth = plane_depth(source, pixel_grid(source), normal, offset)
    points = unproject_depth(torch.tensor(depth), source)
    np.testing.assert_allclose(points.numpy() @ normal, offset, atol=1e-12)  # on the plane
    uv, z = project_points(points, other)
    assert (z.numpy() > 0).all()
    np.testing.assert_allclose(z.numpy(), plane_depth(other, uv.numpy(), normal, offset), rtol=1e-9)


def textured_plane(camera: Camera) -> tuple[torch.Tensor, torch.Tensor]:
    """A tilted plane's depth and a smooth texture (periods of 40 pixels and more) on it."""
    u, v = torch.tensor(pixel_grid(camera)).unbind(-1)
    depth = 1.0 / (0.4 + 0.002 * u + 0.003 * v)
    k = 2 * math.pi / 40
    image = 0.5 + torch.stack([0.4 * torch.sin(k * u), 0.4 * torch.cos(k * v), 0.3 * torch.sin(k * (u + v) / 1.4)], -1)
    return depth, image


def test_rendering_lifted_gaussians_gives_the_image_back():
    camera = Camera.look_at([0.3, 0.2, 3.0], [0, 0, 0], width=48, height=32, fov_y_deg=50)
    depth, image = textured_plane(camera)
    cloud = lift_gaussians(image, depth, camera)
    assert len(cloud) == 48 * 32
    np.testing.assert_allclose(cloud.scales[:, 0], 0.5 * depth.numpy().ravel() / camera.fx, rtol=1e-5)
    out = render(cloud, camera)
    assert psnr(out.rgb[0], image) >= 30.0
    assert float(out.alpha.min()) > 0.99
    np.testing.assert_allclose(out.depth[0, ..., 0].numpy(), depth.numpy(), rtol=0.02)


def test_lifted_gaussians_leave_no_gaps_seen_from_closer():
    camera = Camera.look_at([0.0, 0.0, 3.0], [0, 0, 0], width=32, height=24, fov_y_deg=50)
    depth = torch.full((24, 32), 3.0, dtype=F64)
    cloud = lift_gaussians(torch.full((24, 32, 3), 0.5, dtype=F64), depth, camera)
    closer = Camera.look_at([0.0, 0.0, 1.0], [0, 0, 0], width=32, height=24, fov_y_deg=50)  # 3x as near
    assert float(render(cloud, closer).alpha.min()) > 0.8
    tiny = cloud.replace(log_scales=cloud.log_scales - np.log(5.0))  # a fifth of a footprint: gaps open
    assert float(render(tiny, closer).alpha.min()) < 0.5


def test_mask_selects_the_pixels_to_lift_and_bad_depth_is_refused():
    camera = CAMERAS[0]
    depth = wavy_depth(camera.height, camera.width)
    image = torch.rand(camera.height, camera.width, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(camera.height, camera.width, dtype=torch.bool)
    mask[3:9, 5:12] = True
    cloud = lift_gaussians(image, depth, camera, mask)
    assert len(cloud) == 42
    np.testing.assert_allclose(cloud.means, unproject_depth(depth, camera)[mask].numpy(), rtol=1e-6)
    np.testing.assert_allclose(cloud.base_colors, image[mask].numpy(), atol=1e-5)
    np.testing.assert_allclose(cloud.scales[:, 0], pixel_footprint(depth, camera)[mask].numpy() * 0.5, rtol=1e-5)
    depth[4, 6] = 0.0
    with pytest.raises(ValueError, match="no positive depth"):
        lift_gaussians(image, depth, camera, mask)
    lift_gaussians(image, depth, camera, mask & (depth > 0))  # a bad pixel left out is fine
    with pytest.raises(ValueError, match="pixels but the camera"):
        lift_gaussians(image[:-1], depth[:-1], camera)
