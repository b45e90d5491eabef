"""One image formation: the viewport's picture of a cloud is the training rasterizer's picture.

Both follow scene/formation.py (gsplat's rules). The comparison is fair as it stands: the viewport
blends premultiplied colour back to front over the cleared background, the rasterizer composites
front to back per tile and adds ``T * background``, which is the same sum; the one difference,
the rasterizer's early stop at ``T_MIN``, moves a pixel by less than that transmittance. What
remains is the viewport's 8-bit target (each blend rounds to 1/255) and its half-float SH, so a
float target is compared as well, much more tightly: it tells a drifted constant from rounding
(with the old 0.99 clamp and 3-sigma reach the float RMS was 1.3e-3 to 1.6e-3, now ~3e-5).
"""

from __future__ import annotations

import numpy as np
import pytest

from render.offscreen import as_document
from render.settings import RenderSettings
from scene import Camera, GaussianCloud
from tests.render.conftest import random_cloud

torch = pytest.importorskip("torch")

BACKGROUND = (0.1, 0.2, 0.3)
SETTINGS = RenderSettings(background=BACKGROUND)
NEARLY_OPAQUE = (0.2, 1.0)  # opacities up to 1, where the alpha clamp shows
CAMERA = Camera.look_at([0.4, 0.8, 3.5], [0.0, 0.0, 0.0], width=128, height=96, fov_y_deg=55)


def _cpu_rasterizer(cloud: GaussianCloud, camera: Camera) -> np.ndarray:
    """The training rasterizer's picture (PyTorch, CPU, float64) ``[H, W, 3]`` in 0-1."""
    from engines.rasterizer import camera_to_tensors, rasterize

    viewmats, Ks, width, height = camera_to_tensors([camera], dtype=torch.float64)
    tensor = lambda array: torch.as_tensor(np.asarray(array, np.float64))  # noqa: E731
    out = rasterize(
        tensor(cloud.means), tensor(cloud.quats), tensor(cloud.scales), tensor(cloud.opacities), tensor(cloud.sh),
        viewmats, Ks, width, height, sh_degree=cloud.sh_degree, background=tensor(BACKGROUND),
        near_plane=camera.near, far_plane=camera.far, backend="torch",
    )
    return np.clip(out.rgb[0].numpy(), 0.0, 1.0)


def _float_viewport(offscreen, ctx, cloud: GaussianCloud, camera: Camera) -> np.ndarray:
    """The viewport renderer's picture in a float32 target ``[H, W, 3]`` (row 0 at the top)."""
    size = (camera.width, camera.height)
    fbo = ctx.framebuffer([ctx.renderbuffer(size, 4, dtype="f4")], ctx.depth_renderbuffer(size))
    try:
        offscreen.renderer.render(as_document(cloud), camera, fbo, SETTINGS)
        data = fbo.read(components=3, dtype="f4")
    finally:
        for obj in (*fbo.color_attachments, fbo.depth_attachment, fbo):
            obj.release()
    return np.clip(np.frombuffer(data, np.float32).reshape(size[1], size[0], 3)[::-1], 0.0, 1.0)


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.mark.parametrize("seed,sh_degree", [(0, 3), (1, 1)])
def test_viewport_matches_the_cpu_rasterizer(offscreen, record_property, seed: int, sh_degree: int) -> None:
    cloud = random_cloud(300, seed, sh_degree, opacities=NEARLY_OPAQUE)
    expected = _cpu_rasterizer(cloud, CAMERA)
    assert (np.abs(expected - BACKGROUND).max(axis=2) > 0.05).mean() > 0.3  # the cloud covers much of the image
    viewport = offscreen.render(cloud, CAMERA, SETTINGS).astype(np.float64) / 255.0
    rms = _rms(viewport, expected)
    record_property("rms", rms)
    assert rms < 1e-2, f"viewport (8-bit) vs CPU rasterizer: RMS {rms:.2e}"


@pytest.mark.parametrize("seed,sh_degree", [(0, 3), (2, 2)])
def test_float_viewport_matches_the_cpu_rasterizer_closely(offscreen, ctx, record_property, seed: int, sh_degree: int) -> None:
    cloud = random_cloud(300, seed, sh_degree, opacities=NEARLY_OPAQUE)
    rms = _rms(_float_viewport(offscreen, ctx, cloud, CAMERA), _cpu_rasterizer(cloud, CAMERA))
    record_property("rms", rms)
    assert rms < 2e-4, f"viewport (float target) vs CPU rasterizer: RMS {rms:.2e}"


def test_the_shaders_get_the_shared_constants() -> None:
    from scene import formation
    from shaders import load

    for shader in ("splat_draw.frag", "splat_preprocess.frag"):  # the falloff; the projection and extent
        source = load(shader)
        for name, value in formation.constants().items():
            assert f"const float {name} = {float(value)!r};" in source, (shader, name)
