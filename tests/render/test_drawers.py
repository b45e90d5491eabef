"""One drawer per payload kind: a kind from a test module draws once it registers a drawer, and a
kind without one fails with a message that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

from render.drawers import Drawer, drawer_for, register_drawer
from render.settings import RenderSettings
from scene import Camera, Document, Layer
from scene.kinds import dataclass_kind, register_kind
from tests.toy_kind import Markers, MarkersDrawer

CAMERA = Camera.look_at([0.0, 0.0, 4.0], [0.0, 0.0, 0.0], width=80, height=60)
COLORS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)


class _Undrawable(Markers):
    """Markers under a kind of their own, registered without a drawer."""


register_kind(dataclass_kind("test-undrawable", _Undrawable, "undrawable", describe=lambda p: f"{p.count} things"))


def test_markers_layer_draws_its_markers(offscreen) -> None:
    positions = np.array([[-1.0, 0.5, 0.0], [0.8, -0.4, 0.0], [0.0, 0.0, 0.5]], np.float32)
    document = Document()
    document.add_layer(Layer("markers", Markers(positions, COLORS)))
    image = offscreen.render(document, CAMERA, RenderSettings(point_size_px=5.0)).astype(int)
    pixels, _ = CAMERA.project(positions)
    for (x, y), color in zip(pixels, COLORS):
        assert image[int(y), int(x)].tolist() == (255 * color).astype(int).tolist(), (x, y)
    lit = image.max(axis=2) > 0
    assert 3 * 9 <= lit.sum() <= 3 * 36  # three squares of about 5 px, nothing else


def test_the_registry_finds_drawers_by_kind_name() -> None:
    assert drawer_for(Markers(np.zeros((1, 3)), np.zeros((1, 3)))) is MarkersDrawer
    with pytest.raises(ValueError, match="'markers' already has a drawer: MarkersDrawer"):
        register_drawer("markers", Drawer)


def test_a_kind_without_a_drawer_fails_clearly(offscreen) -> None:
    document = Document()
    document.add_layer(Layer("odd", _Undrawable(np.zeros((2, 3)), np.ones((2, 3)))))
    with pytest.raises(LookupError, match=r"no drawer for payload kind 'test-undrawable'.*register_drawer.*markers"):
        offscreen.render(document, CAMERA)
