"""The camera path overlay: its curve's pixels where the curve projects, the selected key lit, picking."""

from __future__ import annotations

import numpy as np

from render.path_drawer import KEY_COLOR, PATH_COLOR, CameraPathDrawer, PathOverlay, curve_lines, key_pixels, pick_key
from scene import Camera
from scene.camera_path import CameraKey, CameraPath

CAMERA = Camera.look_at([0.0, 6.0, 0.01], [0.0, 0.0, 0.0], width=160, height=120)  # looking down on the path
PATH = CameraPath(tuple(CameraKey.look_at((x, 0.0, z), (0.0, 0.0, 0.0), t) for t, (x, z) in enumerate(
    [(-2.0, 1.0), (0.0, -1.5), (2.0, 1.0)])))


def _draw(ctx, overlays) -> np.ndarray:
    fbo = ctx.framebuffer([ctx.renderbuffer((CAMERA.width, CAMERA.height), 4)])
    fbo.use()
    fbo.clear(0.0, 0.0, 0.0, 1.0)
    drawer = CameraPathDrawer(ctx)
    try:
        drawer.draw(fbo, overlays, CAMERA)
        data = fbo.read(components=3, alignment=1)
    finally:
        drawer.release()
        fbo.release()
    return np.frombuffer(data, np.uint8).reshape(CAMERA.height, CAMERA.width, 3)[::-1].astype(int)


def _is(image: np.ndarray, color: tuple) -> np.ndarray:
    return (np.abs(image - np.round(255 * np.array(color[:3]))) <= 2).all(axis=2)


def test_the_curve_is_drawn_where_it_projects(ctx) -> None:
    image = _draw(ctx, [PathOverlay(PATH, current=True)])
    lit = _is(image, PATH_COLOR)
    positions, _ = curve_lines(PATH)
    uv, _ = CAMERA.project(positions[::2])
    near = [lit[max(0, int(y) - 1): int(y) + 2, max(0, int(x) - 1): int(x) + 2].any() for x, y in uv[4:-4]]
    assert np.mean(near) > 0.9  # the curve's samples have its colour next to them
    assert lit[:10].sum() == 0 and lit[:, :10].sum() == 0  # nothing far from the path
    assert _is(image, KEY_COLOR).sum() == 0  # no key selected


def test_the_selected_key_is_highlighted(ctx) -> None:
    image = _draw(ctx, [PathOverlay(PATH, current=True, selected_key=1)])
    highlighted = np.argwhere(_is(image, KEY_COLOR))
    assert len(highlighted) > 20
    uv, _ = key_pixels(PATH, CAMERA)
    centroid = highlighted[:, ::-1].mean(axis=0)
    assert np.linalg.norm(uv - centroid, axis=1).argmin() == 1  # around key 1, not the others
    assert np.linalg.norm(highlighted[:, ::-1] - uv[1], axis=1).max() < 60


def test_pick_key_finds_the_key_under_the_mouse() -> None:
    uv, _ = key_pixels(PATH, CAMERA)
    assert pick_key(PATH, CAMERA, *uv[2]) == 2
    assert pick_key(PATH, CAMERA, uv[0][0] + 2, uv[0][1] - 1) == 0
    assert pick_key(PATH, CAMERA, 2.0, 2.0) is None
