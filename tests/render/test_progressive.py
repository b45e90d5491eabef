"""Progressive frames: a budget per call, chunks that add up to the whole picture, staged uploads."""

from __future__ import annotations

import time

import numpy as np

from render.offscreen import as_document
from render.passes import MIN_CHUNK
from render.renderer import Renderer, RenderSettings
from render.splat_drawer import UPLOAD_ROWS
from render.splats import TEX_W
from scene import Camera, Layer
from tests.render.conftest import random_cloud

CAMERA = Camera.look_at((0.0, 0.6, 3.2), (0.0, 0.0, 0.0), width=96, height=72)
WHOLE = RenderSettings(background=(0.1, 0.1, 0.15), max_sh_degree=1)
TINY_BUDGET = RenderSettings(background=(0.1, 0.1, 0.15), max_sh_degree=1, progressive=True, refine_budget_ms=1e-3)


def _read(fbo) -> np.ndarray:
    return np.frombuffer(fbo.read(components=3), np.uint8).reshape(fbo.size[1], fbo.size[0], 3).astype(int)


def _calls_until_whole(renderer, document, fbo, settings, timeout_s: float = 20.0) -> tuple[int, list[np.ndarray]]:
    """Render until the picture is whole, giving the sort thread a turn between calls as an event
    loop would (back to back, 200 calls could pass before a starved sort finished)."""
    pictures = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = renderer.render(document, CAMERA, fbo, settings)
        pictures.append(_read(fbo))
        if stats.complete:
            assert renderer.is_idle and not stats.needs_refine
            return len(pictures), pictures
        assert stats.needs_refine
        time.sleep(0.001)
    raise AssertionError("the picture never became whole")


def test_a_picture_in_chunks_equals_the_picture_at_once(ctx):
    document = as_document(random_cloud(5 * MIN_CHUNK, seed=3, spread=0.8))
    fbo = ctx.simple_framebuffer((CAMERA.width, CAMERA.height))
    whole = Renderer(ctx)
    progressive = Renderer(ctx)
    try:
        whole.render(document, CAMERA, fbo, WHOLE)
        expected = _read(fbo)
        calls, pictures = _calls_until_whole(progressive, document, fbo, TINY_BUDGET)
        assert calls >= 5  # an upload in two bands, then a chunk of MIN_CHUNK splats a call
        assert np.abs(pictures[-1] - expected).max() <= 1
        # with no earlier whole picture to show, the output shows the one growing
        assert np.abs(pictures[-2] - expected).max() > 10
        # a repaint of the same scene shows the whole picture at once, without drawing it again
        assert progressive.render(document, CAMERA, fbo, TINY_BUDGET).complete
        np.testing.assert_array_equal(_read(fbo), pictures[-1])
    finally:
        whole.release()
        progressive.release()


def test_until_the_new_picture_is_whole_the_last_whole_one_stays_on_screen(ctx):
    count = (UPLOAD_ROWS + 8) * TEX_W  # more than one band: a staged upload
    document = as_document(random_cloud(count, seed=1, spread=0.8))
    fbo = ctx.simple_framebuffer((CAMERA.width, CAMERA.height))
    renderer = Renderer(ctx)
    try:
        _, before = _calls_until_whole(renderer, document, fbo, TINY_BUDGET)
        layer = document.layers[0]
        document.replace_data_live(layer.id, random_cloud(count, seed=2, spread=0.8))
        calls, during = _calls_until_whole(renderer, document, fbo, TINY_BUDGET)
        assert calls > 2
        for picture in during[:-1]:  # the upload and the chunks: the old picture, unchanged
            np.testing.assert_array_equal(picture, before[-1])
        assert np.abs(during[-1] - before[-1]).max() > 10
        renderer.render(document, CAMERA, fbo, WHOLE)  # the same scene drawn at once agrees
        assert np.abs(_read(fbo) - during[-1]).max() <= 1
    finally:
        renderer.release()


def test_a_change_restarts_the_picture(ctx):
    document = as_document(random_cloud(3 * MIN_CHUNK, seed=4, spread=0.8))
    fbo = ctx.simple_framebuffer((CAMERA.width, CAMERA.height))
    renderer = Renderer(ctx)
    try:
        assert not renderer.render(document, CAMERA, fbo, TINY_BUDGET).complete
        document.add_layer(Layer("more", random_cloud(1000, seed=5, spread=0.3)))
        _, pictures = _calls_until_whole(renderer, document, fbo, TINY_BUDGET)
        renderer.render(document, CAMERA, fbo, WHOLE)
        assert np.abs(_read(fbo) - pictures[-1]).max() <= 1
    finally:
        renderer.release()


def test_no_gl_allocation_is_bigger_than_16_bytes_a_splat(ctx):
    """Software GL zero-fills what it allocates, on the calling thread: one big texture for a big
    cloud's SH would stall the frame that allocates it."""
    from render.splats import SplatBuffers, SplatPipeline, texture_rows

    cloud = random_cloud(3000, seed=2, sh_degree=3)
    pipeline = SplatPipeline(ctx)
    buffers = SplatBuffers(pipeline)
    try:
        buffers.upload(cloud)
        slots = texture_rows(cloud.count) * TEX_W
        # moderngl names texel types "f2", "u4", "f1" (normalized bytes), ...: the digits are bytes
        sizes = [t.width * t.height * t.components * int(t.dtype[1:]) for t in buffers._textures]
        sizes += [b.size for b in buffers._attributes]
        assert max(sizes) <= 16 * slots and len(sizes) == 3 + 6 + 3 + 2 + 3
    finally:
        buffers.release()
        pipeline.release()


def test_adaptive_resolution_learns_what_whole_frames_cost(ctx):
    """The controller must see a frame's whole cost, GL work included, not just the calls' time."""
    document = as_document(random_cloud(20_000, seed=4, spread=0.8))
    fbo = ctx.simple_framebuffer((CAMERA.width, CAMERA.height))
    renderer = Renderer(ctx)
    try:
        stats = renderer.render(document, CAMERA, fbo, RenderSettings(adaptive=True))
        assert stats.scale == 1.0 and renderer.quality.full_frame_ms == stats.frame_ms
    finally:
        renderer.release()
