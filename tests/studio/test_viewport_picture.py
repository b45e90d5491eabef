"""The viewport shows what ``atelier4d render`` shows, and a grab of the window (the README's
screenshots) shows what the screen shows: the demo's checker floor came out pale in the screenshot
(a translucent picture grabbed over the window's light grey) and dark on the screen and in renders."""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtGui import QImage

from assets.make_demo import build_demo
from render.offscreen import render_image
from render.settings import RenderSettings
from scene import Document, Layer
from studio.settings import Settings
from tests.studio.conftest import wait_drawn

FLOOR_GREYS = np.array([(92, 88, 84), (58, 56, 54)])  # the demo floor's two squares


def pixels(image: QImage) -> np.ndarray:
    """``[H, W, 3]`` int of a QImage."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def demo_meshes_window(make_window, qtbot, count: int = 2, **preferences):
    """A window showing the demo's first ``count`` layers (floor, pedestal; no splats, so the
    picture is exact), framed, grid off."""
    window = make_window()
    document = Document()
    for layer in build_demo().layers[:count]:
        document.add_layer(Layer(layer.name, layer.data))
    window.set_document(document)
    window.viewport.apply_settings(dataclasses.replace(Settings(), show_grid=False, **preferences))
    window.viewport.frame_all()
    wait_drawn(qtbot, window)
    return window


def test_a_grab_of_the_window_shows_the_floor_as_the_screen_does(make_window, qtbot):
    window = demo_meshes_window(make_window, qtbot)
    viewport = window.viewport
    shown = pixels(viewport.grabFramebuffer())
    corner = viewport.mapTo(window, viewport.rect().topLeft())
    grabbed = pixels(window.grab().toImage())[corner.y():corner.y() + viewport.height(), corner.x():corner.x() + viewport.width()]
    assert shown.shape == grabbed.shape
    assert np.abs(grabbed - shown).max() <= 8  # the test display may have 16-bit colour (5 bits: steps of 8)


def test_the_viewport_shows_what_a_headless_render_shows(make_window, qtbot):
    window = demo_meshes_window(make_window, qtbot)
    viewport = window.viewport
    background = Settings().viewport_background
    headless = render_image(window.document, viewport.camera(), RenderSettings(background=background)).astype(int)
    shown = pixels(viewport.grabFramebuffer())
    assert shown.shape == headless.shape
    floor = np.abs(headless - np.array(background) * 255).max(axis=-1) > 4
    assert floor.mean() > 0.1
    assert np.median(np.abs(shown - headless)[floor]) <= 1 and np.abs(shown - headless).mean() < 1.0


def test_the_floor_seen_from_above_in_the_viewport_is_its_texture(make_window, qtbot):
    window = demo_meshes_window(make_window, qtbot, count=1, home_view="top")
    window.viewport.reset_view()
    wait_drawn(qtbot, window)
    image = pixels(window.viewport.grabFramebuffer())
    h, w = image.shape[:2]
    middle = image[h // 2 - 30: h // 2 + 30, w // 2 - 30: w // 2 + 30].reshape(-1, 1, 3)
    nearest = np.abs(middle - FLOOR_GREYS).max(axis=2).min(axis=1)  # to the nearer of the two greys
    assert np.median(nearest) <= 2
