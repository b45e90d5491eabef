"""Splat rendering against an independent numpy rasterizer, and the projection against gsplat."""

from __future__ import annotations

import numpy as np
import pytest

from render.offscreen import as_document
from render.projection import project_gaussians, quad_axes
from render.renderer import RenderSettings
from scene import Camera, Document, GaussianCloud, Layer, Transform
from scene.document import LayerDisplay
from tests.render.conftest import random_cloud
from tests.render.reference import psnr, rasterize

W, H = 96, 72


def _to_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) / 255.0


@pytest.mark.parametrize("seed,degree", [(0, 3), (1, 2), (2, 1), (3, 0)])
def test_matches_reference_rasterizer(offscreen, seed: int, degree: int) -> None:
    cloud = random_cloud(60, seed=seed, sh_degree=degree)
    camera = Camera.look_at([0.4, 0.8, 3.5], [0.0, 0.0, 0.0], width=W, height=H, fov_y_deg=55)
    image = offscreen.render(cloud, camera, RenderSettings(background=(0.1, 0.2, 0.3)))
    expected = np.clip(rasterize(cloud, camera, background=(0.1, 0.2, 0.3)), 0, 1)
    assert psnr(_to_float(image), expected) >= 35.0


def test_off_centre_principal_point(offscreen) -> None:
    cloud = random_cloud(40, seed=4)
    base = Camera.look_at([0.0, 0.5, 3.0], [0.0, 0.0, 0.0], width=W, height=H)
    camera = Camera(base.c2w, W, H, 50.0, cx=40.0, cy=30.0)
    assert psnr(_to_float(offscreen.render(cloud, camera)), np.clip(rasterize(cloud, camera), 0, 1)) >= 35.0


def test_layer_transform_and_sliders(offscreen) -> None:
    """A rotated, scaled, moved layer draws like the cloud transformed on the CPU (SH rotated too)."""
    cloud = random_cloud(50, seed=5)
    transform = Transform([0.3, -0.2, 0.1], [0.9, 0.2, -0.3, 0.25], [1.3, 1.3, 1.3])
    document = Document()
    document.add_layer(Layer("a", cloud, transform=transform, display=LayerDisplay(splat_scale=0.8, opacity_scale=0.7)))
    camera = Camera.look_at([1.0, 0.8, 3.5], [0.0, 0.0, 0.0], width=W, height=H)
    moved = cloud.transformed(transform.matrix())
    moved = moved.replace(
        log_scales=moved.log_scales + np.log(0.8),
        opacity_logits=np.log(0.7 * moved.opacities / (1.0 - 0.7 * moved.opacities)),
    )
    assert psnr(_to_float(offscreen.render(document, camera)), np.clip(rasterize(moved, camera), 0, 1)) >= 35.0


def test_sh_degree_cap(offscreen) -> None:
    cloud = random_cloud(40, seed=6, sh_degree=3)
    camera = Camera.look_at([0.0, 0.5, 3.0], [0.0, 0.0, 0.0], width=W, height=H)
    image = offscreen.render(cloud, camera, RenderSettings(max_sh_degree=1))
    expected = rasterize(cloud.with_sh_degree(1), camera)
    assert psnr(_to_float(image), np.clip(expected, 0, 1)) >= 35.0


def test_point_mode_draws_only_centres(offscreen) -> None:
    cloud = GaussianCloud.create([[0.0, 0.0, 0.0]], 0.5, [1.0, 1.0, 1.0], 0.99)
    camera = Camera.look_at([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], width=W, height=H)
    full = offscreen.render(cloud, camera)
    points = offscreen.render(cloud, camera, RenderSettings(point_mode=True, point_size_px=4.0))
    assert (full.max(axis=2) > 10).sum() > 200
    assert 4 <= (points.max(axis=2) > 10).sum() <= 36


def test_projection_matches_gsplat() -> None:
    torch = pytest.importorskip("torch")
    impl = pytest.importorskip("gsplat.cuda._torch_impl")
    cloud = random_cloud(300, seed=7, spread=2.0)
    camera = Camera(
        Camera.look_at([0.5, 1.0, 3.0], [0.0, 0.0, 0.0]).c2w, 320, 200, 60.0, cx=150.0, cy=110.0, near=0.05
    )
    ours = project_gaussians(cloud.means, cloud.covariances(), camera)
    radii, means2d, depths, conics, _ = impl._fully_fused_projection(
        torch.tensor(cloud.means, dtype=torch.float64),
        torch.tensor(cloud.covariances(), dtype=torch.float64),
        torch.tensor(camera.w2c_opencv()[None], dtype=torch.float64),
        torch.tensor(camera.intrinsics()[None], dtype=torch.float64),
        camera.width,
        camera.height,
        near_plane=camera.near,
        far_plane=camera.far,
    )
    shown = radii[0].numpy().max(axis=1) > 0
    assert shown.sum() > 100 and (~shown).sum() > 0  # some culled, most not
    np.testing.assert_array_equal(ours.radii, radii[0].numpy())
    np.testing.assert_allclose(ours.means2d[shown], means2d[0].numpy()[shown], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.depths, depths[0].numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.conics[shown], conics[0].numpy()[shown], rtol=1e-7, atol=1e-9)


def test_shader_agrees_with_projection(offscreen) -> None:
    """Single splats: the drawn blob's centroid and orientation are the projection's."""
    rng = np.random.default_rng(8)
    camera = Camera.look_at([0.3, 0.4, 3.0], [0.0, 0.0, 0.0], width=160, height=120)
    for _ in range(4):
        cloud = GaussianCloud.create(
            rng.uniform(-0.4, 0.4, (1, 3)), rng.uniform(0.05, 0.3, (1, 3)), [1.0, 1.0, 1.0], 0.9,
            quats=rng.normal(size=(1, 4)),
        )
        proj = project_gaussians(cloud.means, cloud.covariances(), camera)
        axis1, _, _ = quad_axes(proj.covs2d, cloud.opacities)
        weight = offscreen.render(cloud, camera)[..., 0].astype(np.float64)
        ys, xs = np.mgrid[0 : camera.height, 0 : camera.width] + 0.5
        total = weight.sum()
        centre = np.array([(weight * xs).sum(), (weight * ys).sum()]) / total
        np.testing.assert_allclose(centre, proj.means2d[0], atol=0.15)
        dx, dy = xs - centre[0], ys - centre[1]
        cov = np.array([[(weight * dx * dx).sum(), (weight * dx * dy).sum()],
                        [(weight * dx * dy).sum(), (weight * dy * dy).sum()]]) / total
        major = np.linalg.eigh(cov)[1][:, 1]
        if abs(np.linalg.eigvalsh(proj.covs2d[0]) @ [-1, 1]) > 0.5:  # orientation is defined
            cos = abs(major @ axis1[0]) / np.linalg.norm(axis1[0])
            assert cos > 0.995


def test_interactive_sprites_match_quads(offscreen, ctx) -> None:
    """The point-sprite path used while the camera moves draws the same Gaussians as the quads."""
    import moderngl

    renderer = offscreen.renderer
    cloud = random_cloud(80, seed=9)
    camera = Camera.look_at([0.4, 0.8, 3.5], [0.0, 0.0, 0.0], width=W, height=H)
    document = as_document(cloud)
    quads = offscreen.render(document, camera)
    drawer = renderer.layers.drawer(document.layers[0].id)
    fbo = ctx.simple_framebuffer((W, H))
    try:
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 1.0)
        ctx.enable_only(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        drawer.draw_slots((W, H), 0.0, True, 0, drawer.count)
        sprites = np.frombuffer(fbo.read(components=3), np.uint8).reshape(H, W, 3)[::-1]
    finally:
        fbo.release()
    assert psnr(_to_float(sprites), _to_float(quads)) >= 45.0
