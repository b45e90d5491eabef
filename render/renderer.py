"""``Renderer``: draws a whole ``Document`` into any moderngl framebuffer, at the document's time.

Per frame: opaque layers (meshes, points: writing depth), grid and axes, then every splat layer
blended back to front (depth-tested against the opaque ones, not writing depth). At reduced
(adaptive) resolution, or when the output has no depth buffer, that goes into an internal target
which is then scaled onto the output; otherwise straight into the output. While the camera moves
at reduced resolution, splats are drawn as point sprites (same falloff, cheaper vertices). The
gizmo and selection boxes are drawn last, at full resolution.

The parts: :mod:`render.layer_cache` keeps a drawer per layer (one drawer class per payload kind,
:mod:`render.drawers`), :mod:`render.frame` the progressive picture and its targets,
:mod:`render.passes` the draw passes. Splat depth sorting runs in a worker thread.

Progressive frames (the interactive viewport) keep each call within a time budget on slow GPUs:
a big cloud is uploaded a band of texture rows per call while the old one still draws, and a
still picture's splats are blended a chunk per call into an internal target. Until it is whole,
the output shows the last whole picture. A moving view is always drawn whole, at the adaptive
resolution.
"""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

import moderngl

from render.drawers import BlendedDrawer, DrawerResources
from render.frame import Frame, FrameTargets, frame_key
from render.glutil import camera_uniforms
from render.layer_cache import LayerCache
from render.passes import DrawPasses
from render.quality import AdaptiveResolution
from render.settings import RenderSettings
from render.splats import TEX_W, SplatDrawParams
from scene.camera import Camera
from scene.document import Document, Layer
from scene.gaussians import GaussianCloud
from scene.mesh import MeshAsset


@dataclass
class FrameStats:
    """What one :meth:`Renderer.render` call did."""

    frame_ms: float
    scale: float  # resolution scale used (1 = full)
    sorts_started: int
    uploads: int
    needs_refine: bool  # a later frame would look better (reduced scale or a stale sort): repaint soon
    complete: bool = True  # the output shows the whole picture of all the data (False: call again soon)


class Renderer:
    """Draws documents with one moderngl context (EGL offscreen or Qt's); not thread-safe."""

    def __init__(self, ctx: moderngl.Context) -> None:
        if ctx.version_code < 330:
            raise RuntimeError(f"the viewport needs OpenGL 3.3, this context has {ctx.version_code}")
        self.ctx = ctx
        self.quality = AdaptiveResolution()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="splat-sort")
        self.resources = DrawerResources(ctx, self._executor)
        self.layers = LayerCache(self.resources)
        self.passes = DrawPasses(ctx, self.layers)
        self.targets = FrameTargets(ctx)
        self._last_view: bytes | None = None
        self._frame: Frame | None = None  # the picture being refined

    @property
    def is_idle(self) -> bool:
        """No picture being refined, no upload and no sort under way: a still view needs no further calls."""
        return self._frame is None and not self.layers.busy

    # ----------------------------------------------------------------- public
    def render(
        self,
        document: Document,
        camera: Camera,
        framebuffer: moderngl.Framebuffer,
        settings: RenderSettings = RenderSettings(),
    ) -> FrameStats:
        """Draw ``document`` seen by ``camera`` into ``framebuffer`` (its full viewport)."""
        start = time.perf_counter()
        out_w, out_h = framebuffer.size
        view_key = camera.c2w.tobytes() + np.array([camera.fov_y_deg, out_w, out_h]).tobytes()
        moving = self._last_view is not None and view_key != self._last_view
        self._last_view = view_key
        self.quality.budget_ms = settings.frame_budget_ms
        scale = self.quality.scale(moving) if settings.adaptive else 1.0
        width, height = max(1, round(out_w * scale)), max(1, round(out_h * scale))
        cam = camera.resized(width, height)
        budget_end = start + settings.refine_budget_ms / 1000.0 if settings.progressive else math.inf
        progressive = settings.progressive and not moving  # a moving view's next call starts over anyway

        drawable = self.layers.drawable(document.layers)
        visible = [layer for layer in drawable if layer.visible]
        synced = self.layers.sync(drawable, budget_end)
        now = float(getattr(document, "time", 0.0))  # a view of a document without a time shows time 0
        for layer in visible:
            self.layers.drawer(layer.id).set_time(now)
        stats = FrameStats(0.0, scale, 0, synced.uploads, scale < 1.0 or synced.pending)
        selection = getattr(document, "splat_selection", None)  # a filtered view of a document may lack it
        splat_layers, reordered, sorting = self._prepare_splats(visible, selection, cam, settings, moving, stats)
        key, keep = frame_key(self.layers, view_key, (width, height), visible, settings)
        has_depth = any(not self.layers.drawer(layer.id).blended for layer in visible)
        # Straight into the output when a whole picture at full resolution can go there (saves a copy).
        direct = not settings.progressive and scale == 1.0 and framebuffer.depth_attachment is not None
        target = framebuffer if direct else self.targets.drawing(width, height)
        settled = not reordered and not sorting and self._frame is None
        shown = self.targets.shown_frame
        drawn: Frame | None = None  # the picture this call worked on
        if settings.progressive and settled and shown is not None and key == shown.key:
            whole = True  # the picture on show is still right (a repaint for the overlays, say)
        elif progressive and sorting:  # a still picture starts its splats once their order is there
            self._frame, whole = None, False
            self.passes.background(target, visible, cam, settings, has_depth)
        else:
            frame = self._frame if progressive and not reordered and self._frame is not None else None
            if frame is None or frame.key != key:
                frame = Frame(key, keep, [(layer.id, params) for layer, params in splat_layers])
                # A whole picture preprocesses all its splats first: a preprocess pass after the
                # clear would make llvmpipe flush the target midway (30 ms at 100k splats).
                if not progressive:
                    for layer_id, params in frame.layers:
                        self.layers.drawer(layer_id).preprocess(camera_uniforms(cam), params)
                self.passes.background(target, visible, cam, settings, has_depth)
            point_px = 0.5 * settings.point_size_px if settings.point_mode else 0.0
            drawn = frame
            # Point sprites while moving at reduced resolution: cheaper vertices.
            whole = self.passes.splats(
                frame, target, has_depth, (width, height), point_px, scale < 1.0, camera_uniforms(cam),
                budget_end if progressive else math.inf,
            )
            self._frame = None if whole else frame
            if whole and not direct:
                self.targets.show(frame)  # the newest whole picture
        if not direct:
            self.targets.blit(framebuffer, width / height)
        self.passes.overlays(framebuffer, document, camera, settings)
        if settings.adaptive:
            self.ctx.finish()  # the GL works asynchronously: the time below is the frame's whole cost
        stats.frame_ms = 1000.0 * (time.perf_counter() - start)
        if drawn is not None:
            drawn.spent_ms += stats.frame_ms
            if whole and settings.adaptive:
                self.quality.record(scale, drawn.spent_ms)
        stats.complete = whole and self.is_idle
        stats.needs_refine = stats.needs_refine or not stats.complete
        return stats

    def release(self) -> None:
        """Free every GL object and stop the sort worker."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.layers.clear()
        self._frame = None
        self.targets.release()
        self.passes.release()
        self.resources.release()

    def warm_up(self, settings: RenderSettings) -> None:
        """Draw a small scene of splats and a triangle once, so that the driver compiles the shader
        variants ``settings`` use now (a software GL takes ~0.5 s on a cold shader cache), not in
        the middle of the artist's first load.

        Sizes are not powers of two, as real ones mostly are not: llvmpipe compiles a separate
        variant for power-of-two textures.
        """
        document = Document()
        means = np.random.default_rng(0).uniform(-0.5, 0.5, (2 * TEX_W + 1, 3)).astype(np.float32)  # 3 texture rows
        document.add_layer(Layer("splats", GaussianCloud.create(means, 0.05, (0.5, 0.5, 0.5), sh_degree=3)))
        document.add_layer(Layer("triangle", MeshAsset(np.eye(3, dtype=np.float32), np.array([[0, 1, 2]], np.int32))))
        size = (37, 23)
        camera = Camera.look_at((1.0, 1.0, 3.0), (0.0, 0.0, 0.0), width=size[0], height=size[1])
        framebuffer = self.ctx.framebuffer([self.ctx.renderbuffer(size, 4)], self.ctx.depth_renderbuffer(size))
        settings = dataclasses.replace(settings, adaptive=False)
        try:
            for _ in range(200):  # a progressive renderer needs a few calls (the sort runs behind)
                if self.render(document, camera, framebuffer, settings).complete:
                    break
                time.sleep(0.002)
            self.ctx.finish()
        finally:
            self.layers.clear()
            self._frame, self._last_view = None, None
            for obj in (*framebuffer.color_attachments, framebuffer.depth_attachment, framebuffer):
                obj.release()

    # ----------------------------------------------------------------- splats
    def _prepare_splats(
        self,
        layers: list[Layer],
        selection: Callable[[str], np.ndarray | None] | None,
        cam: Camera,
        settings: RenderSettings,
        moving: bool,
        stats: FrameStats,
    ) -> tuple[list[tuple[Layer, SplatDrawParams]], bool, bool]:
        """Sort (or reuse the order) of each drawn blended layer and set its selection tint.

        A whole-picture renderer waits for the sorts it needs (for every view, or with
        ``wait_for_sort`` off only for a layer's first order); a progressive one never waits:
        a layer without an order yet is left out, and a running sort is reported so that a
        still picture waits for it. Returns the layers farthest first with their draw
        parameters, whether an order or a selection changed (the picture must start over),
        and whether a sort is still running.
        """
        wait = not settings.progressive and (settings.wait_for_sort or not moving)
        view = cam.w2c()
        blended: list[tuple[Layer, BlendedDrawer]] = [  # uploaded (a flipbook's empty frame still sorts)
            (layer, drawer) for layer in layers
            if (drawer := self.layers.drawer(layer.id)).blended and self.layers.data(layer.id) is not None
        ]
        blended.sort(key=lambda pair: _layer_depth(pair[0], view))
        reordered = sorting = False
        out = []
        for layer, drawer in blended:
            model = layer.transform.matrix()
            started, changed = drawer.sort((view @ model)[2], wait=wait, need_order=not settings.progressive)
            stats.sorts_started += started
            reordered = reordered or changed
            if drawer.sorting:
                sorting = stats.needs_refine = True
            if not drawer.has_order:
                continue
            data = self.layers.data(layer.id)
            mask = selection(layer.id) if selection is not None and data is layer.data else None
            reordered = drawer.set_selection(mask) or reordered
            out.append((layer, drawer.draw_params(model, layer.display, settings)))
        return out, reordered, sorting


def _layer_depth(layer: Layer, view: np.ndarray) -> float:
    """Camera-space z of a layer's bounds centre (more negative = farther), for layer ordering."""
    lo, hi = layer.world_bounds()
    return float((view @ np.append(0.5 * (lo + hi), 1.0))[2])


__all__ = ["FrameStats", "RenderSettings", "Renderer"]
