"""Whole documents: meshes against splats in depth, the selection tint, uploads only on new data."""

from __future__ import annotations

import numpy as np

from render.renderer import RenderSettings
from scene import Camera, Document, GaussianCloud, Layer, MeshAsset

W, H = 64, 48
RED = [1.0, 0.0, 0.0]


def _plane(z: float, half: float = 2.0) -> MeshAsset:
    """A grey square facing +Z at depth ``z``."""
    vertices = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]], np.float32)
    return MeshAsset(vertices, np.array([[0, 1, 2], [0, 2, 3]], np.int32), vertex_colors=np.full((4, 4), 0.5, np.float32))


def _red_splat() -> GaussianCloud:
    return GaussianCloud.create([[0.0, 0.0, 0.0]], 0.4, RED, 0.99)


def _centre(image: np.ndarray) -> np.ndarray:
    return image[H // 2, W // 2].astype(int)


def test_mesh_in_front_hides_splats_mesh_behind_does_not(offscreen) -> None:
    camera = Camera.look_at([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], width=W, height=H)
    for plane_z, splat_visible in ((1.0, False), (-1.0, True)):
        document = Document()
        document.add_layer(Layer("splat", _red_splat()))
        document.add_layer(Layer("plane", _plane(plane_z)))
        r, g, b = _centre(offscreen.render(document, camera))
        if splat_visible:
            assert r > 200 and g < 60, (plane_z, r, g, b)
        else:
            assert abs(r - g) < 10 and g > 40, (plane_z, r, g, b)  # the grey plane


def test_wireframe_overlay_draws_edges(offscreen) -> None:
    camera = Camera.look_at([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], width=W, height=H)
    plane = _plane(0.0, half=1.0)
    plain = offscreen.render(plane, camera)
    wire = offscreen.render(plane, camera, RenderSettings(wireframe=True))
    assert (np.abs(plain.astype(int) - wire).max(axis=2) > 30).sum() > 20


def test_selected_splats_are_tinted(offscreen) -> None:
    cloud = GaussianCloud.create([[-0.6, 0.0, 0.0], [0.6, 0.0, 0.0]], 0.2, [[0.2, 0.2, 1.0]] * 2, 0.99)
    document = Document()
    layer = document.add_layer(Layer("a", cloud))
    camera = Camera.look_at([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], width=W, height=H)
    before = offscreen.render(document, camera)
    document.select_splats(layer.id, np.array([False, True]))
    after = offscreen.render(document, camera)
    left, right = camera.project(cloud.means)[0].astype(int)
    assert np.array_equal(before[left[1], left[0]], after[left[1], left[0]])
    assert after[right[1], right[0], 0] > before[right[1], right[0], 0] + 50  # orange over blue


def test_hidden_layers_are_not_drawn(offscreen) -> None:
    document = Document()
    layer = document.add_layer(Layer("a", _red_splat()))
    camera = Camera.look_at([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], width=W, height=H)
    assert _centre(offscreen.render(document, camera))[0] > 200
    document.set_layer(layer.id, visible=False)
    assert _centre(offscreen.render(document, camera)).max() == 0


def test_uploads_only_when_data_changes(offscreen, ctx) -> None:
    from render.renderer import Renderer

    renderer = Renderer(ctx)
    fbo = ctx.simple_framebuffer((W, H))
    try:
        document = Document()
        layer = document.add_layer(Layer("a", _red_splat()))
        document.add_layer(Layer("plane", _plane(-1.0)))
        camera = Camera.look_at([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], width=W, height=H)
        assert renderer.render(document, camera, fbo).uploads == 2
        assert renderer.render(document, camera, fbo).uploads == 0
        document.set_layer(layer.id, visible=False)  # display changes are not data changes
        assert renderer.render(document, camera, fbo).uploads == 0
        document.replace_data_live(layer.id, GaussianCloud.create([[0.1, 0.0, 0.0]], 0.3, RED, 0.9))
        assert renderer.render(document, camera, fbo).uploads == 1
        assert renderer.render(document, camera, fbo).uploads == 0
    finally:
        renderer.release()
        fbo.release()


def test_empty_layers_draw_nothing_and_do_not_break_the_frame():
    """A job's layer exists before its first snapshot: an empty cloud must not stop the others drawing."""
    from render import render_image
    from scene import Camera, Document, GaussianCloud, Layer

    document = Document()
    document.add_layer(Layer("job", GaussianCloud.empty(3)))
    document.add_layer(Layer("dot", GaussianCloud.create([[0.0, 0.0, 0.0]], 0.2, [1.0, 1.0, 1.0], 0.99)))
    image = render_image(document, Camera.look_at([0, 0, 3], [0, 0, 0], width=64, height=48))
    assert image[24, 32].min() > 200 and image[0, 0].max() == 0
