"""What colour the demo's checker floor (a textured mesh) comes out in a headless render, pinned.

A textured mesh without vertex colours shows its texture's own colours, lit by the viewport's
headlight and sky fill (``shaders/mesh.frag``): ``0.25 + 0.15 * (0.5 + 0.5 * n.y) + 0.6 * cos``,
where ``cos`` is between the normal and the direction to the eye. Every pixel of a picture is
opaque, so the screen, a grab of the window and a PNG show the same colours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from assets.make_demo import build_demo
from render.settings import RenderSettings
from scene import Camera, GaussianCloud, Layer, MeshAsset

WARM_GREY, DARK_GREY = (92, 88, 84), (58, 56, 54)  # the demo floor's two squares


def floor(texture: np.ndarray, half: float = 3.0) -> MeshAsset:
    """A square at y = 0 facing up, with ``texture`` over it."""
    vertices = [[-half, 0.0, -half], [half, 0.0, -half], [half, 0.0, half], [-half, 0.0, half]]
    return MeshAsset(
        vertices, [[0, 2, 1], [0, 3, 2]], normals=np.tile([0.0, 1.0, 0.0], (4, 1)),
        uvs=[[0, 0], [1, 0], [1, 1], [0, 1]], texture=texture,
    )


def plain_texture(colour: tuple[int, ...]) -> np.ndarray:
    return np.tile(np.array(colour, np.uint8), (8, 8, 1))


def headlight(cos_to_eye: float) -> float:
    """The light an upward-facing surface gets, seen at this cosine (as ``shaders/mesh.frag``)."""
    return 0.25 + 0.15 + 0.6 * cos_to_eye


@pytest.mark.parametrize("eye", [(0.0, 5.0, 0.0), (0.0, 3.0, 3.0), (0.0, 1.0, 4.0)])
def test_a_textured_floor_shows_its_texture_under_the_headlight(offscreen, eye) -> None:
    camera = Camera.look_at(eye, (0.0, 0.0, 0.0), up=(0.0, 0.0, -1.0), width=64, height=64)
    centre = offscreen.render(floor(plain_texture(WARM_GREY)), camera)[32, 32].astype(float)
    cos_to_eye = eye[1] / math.hypot(*eye)  # the centre pixel looks at the origin
    np.testing.assert_allclose(centre, np.array(WARM_GREY) * headlight(cos_to_eye), atol=1.5)


@pytest.mark.parametrize("eye", [(0.0, 3.0, 3.0), (0.0, 1.0, 4.0)])
def test_unlit_meshes_show_their_texture_as_it_is_from_any_angle(offscreen, eye) -> None:
    camera = Camera.look_at(eye, (0.0, 0.0, 0.0), up=(0.0, 0.0, -1.0), width=64, height=64)
    image = offscreen.render(floor(plain_texture(WARM_GREY)), camera, RenderSettings(lit_meshes=False))
    np.testing.assert_allclose(image[32, 32], WARM_GREY, atol=1)


def test_seen_from_straight_above_a_floor_shows_exactly_its_texture(offscreen) -> None:
    camera = Camera.look_at((0.0, 5.0, 0.0), (0.0, 0.0, 0.0), up=(0.0, 0.0, -1.0), width=64, height=64)
    image = offscreen.render(floor(plain_texture((*WARM_GREY, 0))), camera)  # the texture's alpha is ignored
    np.testing.assert_allclose(image[24:40, 24:40], np.broadcast_to(WARM_GREY, (16, 16, 3)), atol=1)


def test_every_pixel_of_a_picture_is_opaque(offscreen, ctx) -> None:
    """The demo (a textured floor, a vertex-coloured pedestal, splats), a half-transparent mesh,
    faint splats and the grid leave the picture's alpha at 1. Before, the floor left 0.8: a grab of
    the window showed the window's light grey through it (the README's pale floor), the screen not."""
    document = build_demo()
    see_through = MeshAsset(
        [[-1, 0.5, -1], [1, 0.5, -1], [1, 0.5, 1]], [[0, 2, 1]], vertex_colors=np.tile([0.9, 0.3, 0.2, 0.5], (3, 1))
    )
    document.add_layer(Layer("see-through", see_through))
    document.add_layer(Layer("faint", GaussianCloud.create([[2.0, 1.0, 0.0]], 0.3, (1.0, 1.0, 1.0), 0.3)))
    size = (96, 64)
    camera = Camera.look_at((4.0, 3.0, 6.0), (0.0, 1.0, 0.0), width=size[0], height=size[1])
    framebuffer = ctx.framebuffer([ctx.renderbuffer(size, 4)], ctx.depth_renderbuffer(size))
    try:
        offscreen.renderer.render(document, camera, framebuffer, RenderSettings(show_grid=True, background=(0.1, 0.1, 0.1)))
        rgba = np.frombuffer(framebuffer.read(components=4, alignment=1), np.uint8).reshape(size[1], size[0], 4)
    finally:
        for obj in (*framebuffer.color_attachments, framebuffer.depth_attachment, framebuffer):
            obj.release()
    assert rgba[..., :3].max() > 60  # something was drawn
    assert (rgba[..., 3] == 255).all()


def test_the_demo_floor_from_above_shows_its_two_warm_greys(offscreen) -> None:
    """From far above through a narrow lens every pixel sees the floor head on (full light)."""
    camera = Camera.look_at((0.0, 40.0, 0.0), (0.0, 0.0, 0.0), up=(0.0, 0.0, -1.0), width=128, height=128, fov_y_deg=5.0)
    pixels = offscreen.render(build_demo().layers[0].data, camera).reshape(-1, 1, 3).astype(int)
    nearest = np.abs(pixels - np.array([WARM_GREY, DARK_GREY])).max(axis=2)  # [pixels, 2]
    assert (nearest[:, 0] <= 1).mean() > 0.2 and (nearest[:, 1] <= 1).mean() > 0.2
