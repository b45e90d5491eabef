"""Selected splats read clearly: tinted strongly, faint ones shown, and redrawn as soon as the
selection changes (also in the studio's progressive frames); unselected splats look as before."""

from __future__ import annotations

import time

import numpy as np

from render.helpers import SELECTION_COLOR
from render.renderer import Renderer, RenderSettings
from scene import Camera, Document, GaussianCloud, Layer

W, H = 64, 48
CAMERA = Camera.look_at([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], width=W, height=H)
BLUE = (0.2, 0.2, 1.0)
TINT = np.array(SELECTION_COLOR[:3]) * 255


def _two_splats(opacity: float) -> tuple[Document, Layer]:
    """A left and a right blue splat of ``opacity`` on a black background."""
    cloud = GaussianCloud.create([[-0.6, 0.0, 0.0], [0.6, 0.0, 0.0]], 0.2, [BLUE] * 2, opacity)
    document = Document()
    return document, document.add_layer(Layer("pair", cloud))


def _pixels(image: np.ndarray, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """The colours at the left and right splat's centres."""
    (left, right), _ = CAMERA.project(layer.data.means)
    return tuple(image[int(v), int(u)].astype(float) for u, v in (left, right))


def test_a_selected_splat_moves_most_of_the_way_to_the_tint_an_unselected_one_not_at_all(offscreen) -> None:
    document, layer = _two_splats(0.99)
    left_before, right_before = _pixels(offscreen.render(document, CAMERA), layer)
    document.select_splats(layer.id, np.array([False, True]))
    left_after, right_after = _pixels(offscreen.render(document, CAMERA), layer)
    np.testing.assert_array_equal(left_after, left_before)
    before, after = np.abs(right_before - TINT).max(), np.abs(right_after - TINT).max()
    assert after < 0.25 * before, (right_before, right_after)  # clearly the selection colour, not a blend


def test_a_faint_selected_splat_shows_in_the_tint(offscreen) -> None:
    """A floater an artist selects to delete must be seen, though it is nearly transparent."""
    document, layer = _two_splats(0.08)
    document.select_splats(layer.id, np.array([False, True]))
    left, right = _pixels(offscreen.render(document, CAMERA), layer)
    assert left.max() < 40  # unselected: still faint
    assert right[0] > 0.4 * TINT[0] and right[0] > right[2] + 40, right  # selected: plainly orange


def test_a_progressive_picture_is_redrawn_when_the_selection_changes(ctx) -> None:
    """The studio's viewport keeps a whole picture on screen until something it shows changes:
    a new selection must count as such a change."""
    document, layer = _two_splats(0.99)
    fbo = ctx.simple_framebuffer((W, H))
    renderer = Renderer(ctx)
    settings = RenderSettings(progressive=True)

    def settled_picture() -> np.ndarray:
        deadline = time.monotonic() + 20
        while not renderer.render(document, CAMERA, fbo, settings).complete:
            assert time.monotonic() < deadline, "the picture never became whole"
            time.sleep(0.001)
        image = np.frombuffer(fbo.read(components=3), np.uint8).reshape(H, W, 3)
        return np.ascontiguousarray(image[::-1])

    try:
        _, right_before = _pixels(settled_picture(), layer)
        document.select_splats(layer.id, np.array([False, True]))
        _, right_selected = _pixels(settled_picture(), layer)
        assert right_selected[0] > right_before[0] + 100, (right_before, right_selected)
        document.select_splats(layer.id, None)
        _, right_cleared = _pixels(settled_picture(), layer)
        np.testing.assert_allclose(right_cleared, right_before, atol=1)
    finally:
        renderer.release()
