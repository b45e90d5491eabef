"""The viewport preferences of ``Settings`` change what the viewport does: background, selection
colour, grid, zoom step and home view (``Viewport.apply_settings``)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import get_args

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent

from render.controllers import HOME_VIEWS, HomeView, MAX_PITCH
from scene import Document, GaussianCloud, Layer
from studio.settings import Settings
from studio.viewport import Viewport
from tests.studio.conftest import wait_drawn


@pytest.fixture
def make_viewport(qtbot):
    def make(document: Document | None = None) -> Viewport:
        viewport = Viewport(document or Document())
        viewport.resize(320, 240)
        qtbot.addWidget(viewport)
        with qtbot.waitExposed(viewport):
            viewport.show()
        return viewport

    return make


def _frame(qtbot, viewport: Viewport) -> np.ndarray:
    """The viewport's whole picture ``[H, W, 3]`` int."""
    wait_drawn(qtbot, SimpleNamespace(viewport=viewport))
    image = viewport.grabFramebuffer().convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def _near(image: np.ndarray, colour: tuple[float, float, float], tolerance: int = 12) -> np.ndarray:
    return np.abs(image - np.array(colour) * 255).max(axis=-1) <= tolerance


def test_background_colour(make_viewport, qtbot):
    viewport = make_viewport()
    viewport.apply_settings(dataclasses.replace(Settings(), show_grid=False))
    assert _near(_frame(qtbot, viewport), Settings().viewport_background, 2).all()
    viewport.apply_settings(dataclasses.replace(Settings(), show_grid=False, viewport_background=(0.8, 0.1, 0.3)))
    assert _near(_frame(qtbot, viewport), (0.8, 0.1, 0.3), 2).all()


def test_grid_on_and_off(make_viewport, qtbot):
    viewport = make_viewport()
    background = Settings().viewport_background
    with_grid = ~_near(_frame(qtbot, viewport), background, 6)
    assert with_grid.mean() > 0.01  # the ground grid is drawn by default
    viewport.apply_settings(dataclasses.replace(Settings(), show_grid=False))
    assert not (~_near(_frame(qtbot, viewport), background, 6)).any()


def test_selection_colour(make_viewport, qtbot):
    rng = np.random.default_rng(0)
    document = Document()
    layer = Layer("cloud", GaussianCloud.create(rng.uniform(-1, 1, (400, 3)), 0.01, (0.5, 0.5, 0.5)))
    document.add_layer(layer)
    document.set_current(layer.id)
    document.select_splats(layer.id, np.arange(400) < 200)
    viewport = make_viewport(document)
    viewport.frame_all()
    orange, green = Settings().selection_color, (0.0, 1.0, 0.0)
    plain = dataclasses.replace(Settings(), show_grid=False)
    viewport.apply_settings(plain)
    image = _frame(qtbot, viewport)
    assert _near(image, orange).sum() > 50 and not _near(image, green).any()
    viewport.apply_settings(dataclasses.replace(plain, selection_color=green))
    image = _frame(qtbot, viewport)
    assert _near(image, green).sum() > 50 and not _near(image, orange).any()
    assert viewport.render_settings().selection_color == green  # the outline and splat tint follow too


@pytest.mark.parametrize("step", [0.5, 0.9])
def test_zoom_step(make_viewport, step):
    viewport = make_viewport()
    viewport.apply_settings(dataclasses.replace(Settings(), zoom_step=step))
    before = viewport.controller.distance
    centre = QPointF(160, 120)
    wheel = QWheelEvent(
        centre, viewport.mapToGlobal(centre), QPoint(), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    viewport.wheelEvent(wheel)
    assert viewport.controller.distance == pytest.approx(before * step)


def test_home_view(make_viewport):
    viewport = make_viewport()
    assert set(get_args(HomeView)) == set(HOME_VIEWS)  # every choice has a direction
    for name, forward in (("front", (0.0, 0.0, -1.0)), ("top", (0.0, -1.0, 0.0)), ("side", (-1.0, 0.0, 0.0))):
        viewport.apply_settings(dataclasses.replace(Settings(), home_view=name))
        viewport.controller.orbit(200.0, 50.0)  # look from elsewhere, then Home
        viewport.reset_view()
        np.testing.assert_allclose(viewport.camera().forward, forward, atol=np.radians(90.0 - MAX_PITCH))  # top: 89 deg
