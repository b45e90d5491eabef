"""Headless rendering to numpy images, for the CLI, tests, thumbnails and video export."""

from __future__ import annotations

import numpy as np

import moderngl

from render.context import current, shared_headless_context
from render.renderer import Renderer
from render.settings import RenderSettings
from scene.camera import Camera
from scene.document import Document, Layer, LayerData


class OffscreenRenderer:
    """A :class:`Renderer` drawing into its own framebuffer of a headless context (the process's
    shared one by default), which it makes current only while it works, so any thread may use it.

    Reuse one for many frames (a video): layer uploads and the target are kept between calls.
    """

    def __init__(self, ctx: moderngl.Context | None = None) -> None:
        self.ctx = ctx if ctx is not None else shared_headless_context()
        with current(self.ctx):
            self.renderer = Renderer(self.ctx)
        self._fbo: moderngl.Framebuffer | None = None

    def render(self, scene: Document | LayerData, camera: Camera, settings: RenderSettings = RenderSettings()) -> np.ndarray:
        """The image ``[H, W, 3] uint8`` (row 0 at the top) of ``scene`` seen by ``camera``."""
        document = as_document(scene)
        with current(self.ctx):
            fbo = self._framebuffer(camera.width, camera.height)
            self.renderer.render(document, camera, fbo, settings)
            data = fbo.read(components=3, alignment=1)
        image = np.frombuffer(data, np.uint8).reshape(camera.height, camera.width, 3)
        return np.ascontiguousarray(image[::-1])

    def release(self) -> None:
        with current(self.ctx):
            self.renderer.release()
            self._release_framebuffer()

    def _framebuffer(self, width: int, height: int) -> moderngl.Framebuffer:
        """Colour and depth renderbuffers of this size (with depth the renderer draws straight in)."""
        if self._fbo is None or self._fbo.size != (width, height):
            self._release_framebuffer()
            self._fbo = self.ctx.framebuffer(
                [self.ctx.renderbuffer((width, height), 4)], self.ctx.depth_renderbuffer((width, height))
            )
        return self._fbo

    def _release_framebuffer(self) -> None:
        if self._fbo is not None:
            for attachment in (*self._fbo.color_attachments, self._fbo.depth_attachment):
                attachment.release()
            self._fbo.release()
            self._fbo = None


def as_document(scene: Document | LayerData) -> Document:
    """``scene`` itself, or a one-layer document holding that payload (of any registered kind)."""
    if isinstance(scene, Document):
        return scene
    document = Document()
    document.add_layer(Layer(type(scene).__name__, scene))
    return document


def render_image(scene: Document | LayerData, camera: Camera, settings: RenderSettings = RenderSettings()) -> np.ndarray:
    """One headless render ``[H, W, 3] uint8``; for many frames keep an :class:`OffscreenRenderer`."""
    offscreen = OffscreenRenderer()
    try:
        return offscreen.render(scene, camera, settings)
    finally:
        offscreen.release()
