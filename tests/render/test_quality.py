"""Adaptive resolution: full resolution at rest, a reduced one that fits the budget while moving."""

from __future__ import annotations

import pytest

from render.quality import AdaptiveResolution


def test_full_resolution_until_frames_are_known_to_be_slow() -> None:
    quality = AdaptiveResolution(budget_ms=80.0)
    assert quality.scale(moving=True) == 1.0  # nothing measured yet
    quality.record(1.0, 40.0)
    assert quality.scale(moving=True) == 1.0  # within budget


def test_slow_frames_shrink_while_moving_and_recover_at_rest() -> None:
    quality = AdaptiveResolution(budget_ms=80.0, min_scale=0.25)
    quality.record(1.0, 320.0)
    moving = quality.scale(moving=True)
    assert 0.25 <= moving < 1.0
    assert moving**2 * 320.0 <= 80.0 + 1e-9  # predicted time fits the budget
    assert quality.scale(moving=False) == 1.0
    quality.record(moving, moving**2 * 320.0)  # consistent measurement: same choice
    assert quality.scale(moving=True) == moving


def test_scale_bounded_and_estimate_smoothed() -> None:
    quality = AdaptiveResolution(budget_ms=10.0, min_scale=0.25, smoothing=0.5)
    quality.record(1.0, 10_000.0)
    assert quality.scale(moving=True) == 0.25
    quality.record(0.5, 25.0)  # = 100 ms at full resolution
    assert quality.full_frame_ms == pytest.approx(0.5 * 10_000.0 + 0.5 * 100.0)


def test_renderer_drops_resolution_only_while_moving(offscreen, ctx) -> None:
    import numpy as np

    from render.offscreen import as_document
    from render.renderer import Renderer, RenderSettings
    from scene import Camera
    from tests.render.conftest import random_cloud

    renderer = Renderer(ctx)
    fbo = ctx.simple_framebuffer((64, 48))
    document = as_document(random_cloud(200))
    settings = RenderSettings(adaptive=True, frame_budget_ms=1e-3)  # every frame is over budget
    try:
        cams = [Camera.look_at([x, 0.5, 4.0], [0.0, 0.0, 0.0], width=64, height=48) for x in np.linspace(0, 1, 4)]
        first = renderer.render(document, cams[0], fbo, settings)
        moving = [renderer.render(document, cam, fbo, settings) for cam in cams[1:]]
        rest = renderer.render(document, cams[-1], fbo, settings)
    finally:
        renderer.release()
        fbo.release()
    assert first.scale == 1.0
    assert all(s.scale < 1.0 and s.needs_refine for s in moving)
    assert rest.scale == 1.0 and not rest.needs_refine
