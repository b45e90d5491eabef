"""The draw passes of a picture: background (clear, opaque layers, grid), blended splats, overlays.

Opaque layers (meshes, points) write depth; splat layers are then blended back to front,
depth-tested against them but not writing depth; the gizmo and selection boxes go on top, at the
output's full resolution.
"""

from __future__ import annotations

import math
import time

import moderngl

from render.drawers import OpaqueView
from render.frame import Frame
from render.helpers import LineDrawer, axes_lines, box_lines, gizmo_lines, grid_lines
from render.layer_cache import LayerCache
from render.settings import RenderSettings
from scene.camera import Camera
from scene.document import Document, Layer

MIN_CHUNK = 8192  # fewest splats a progressive call blends, so every call makes progress


class DrawPasses:
    """The passes of one renderer, drawing the layers of its cache."""

    def __init__(self, ctx: moderngl.Context, cache: LayerCache) -> None:
        self.ctx = ctx
        self.cache = cache
        self.lines = LineDrawer(ctx)
        self._splats_per_ms = 1000.0  # measured blending speed, sizes progressive chunks

    def background(
        self, target: moderngl.Framebuffer, visible: list[Layer], cam: Camera, settings: RenderSettings, has_depth: bool
    ) -> None:
        """Start a picture: clear, then the opaque layers (writing depth), grid and axes."""
        ctx = self.ctx
        target.use()
        target.clear(*settings.background, 1.0, depth=1.0)
        view_proj = cam.projection() @ cam.w2c()
        ctx.enable_only(moderngl.DEPTH_TEST)
        ctx.depth_func = "<"
        for layer in visible:
            drawer = self.cache.drawer(layer.id)
            if not drawer.blended and self.cache.data(layer.id) is not None:
                drawer.draw(OpaqueView(view_proj, layer.transform.matrix(), cam, settings))
        self.blend_state(target, has_depth)
        helpers = []
        if settings.show_grid:
            helpers.append(grid_lines(settings.grid_extent, settings.grid_step))
        if settings.show_axes:
            helpers.append(axes_lines(settings.grid_extent))
        self.lines.draw(helpers, view_proj)
        target.depth_mask = True

    def blend_state(self, target: moderngl.Framebuffer, has_depth: bool) -> None:
        """Premultiplied "over" blending into ``target``; depth-tested (only when something opaque
        wrote depth: the test costs fill rate) but never written (moderngl: per framebuffer)."""
        ctx = self.ctx
        target.use()
        ctx.enable_only((moderngl.DEPTH_TEST if has_depth else moderngl.NOTHING) | moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        target.depth_mask = False

    def splats(
        self, frame: Frame, target: moderngl.Framebuffer, has_depth: bool, size: tuple[int, int],
        point_px: float, sprites: bool, uniforms: dict, budget_end: float,
    ) -> bool:
        """Preprocess and blend the frame's splats, a chunk at a time, from where it stopped until
        the budget is spent (one chunk at least); True once all are drawn."""
        timed = budget_end < math.inf
        while frame.layer_index < len(frame.layers):
            layer_id, params = frame.layers[frame.layer_index]
            drawer = self.cache.drawer(layer_id)
            while frame.slot < drawer.count:
                if timed:
                    left_ms = 1000.0 * (budget_end - time.perf_counter())
                    stop = frame.slot + max(MIN_CHUNK, int(self._splats_per_ms * left_ms))
                else:
                    stop = drawer.count
                stop = min(stop, drawer.count)
                chunk_start = time.perf_counter()
                drawer.preprocess(uniforms, params, until=stop)
                self.blend_state(target, has_depth)
                drawer.draw_slots(size, point_px, sprites, frame.slot, stop)
                target.depth_mask = True
                if timed:  # measure what the chunk really cost (GL runs behind the calls)
                    self.ctx.finish()
                    rate = (stop - frame.slot) / max(1000.0 * (time.perf_counter() - chunk_start), 1e-3)
                    self._splats_per_ms += 0.5 * (rate - self._splats_per_ms)
                frame.slot = stop
                if timed and time.perf_counter() >= budget_end and not self._drawn_all(frame):
                    return False
            frame.layer_index += 1
            frame.slot = 0
        return True

    def _drawn_all(self, frame: Frame) -> bool:
        return frame.layer_index == len(frame.layers) - 1 and frame.slot >= self.cache.drawer(frame.layers[-1][0]).count

    def overlays(self, framebuffer: moderngl.Framebuffer, document: Document, camera: Camera, settings: RenderSettings) -> None:
        """Selection boxes and the gizmo, at the output's full resolution, over everything."""
        overlays = []
        for layer in document.layers:
            if layer.id in settings.selected and layer.visible:
                overlays.append(box_lines(*layer.world_bounds(), color=(*settings.selection_color, 1.0)))
        out_cam = camera.resized(*framebuffer.size)
        if settings.gizmo is not None:
            overlays.append(gizmo_lines(settings.gizmo, out_cam))
        if overlays:
            framebuffer.use()
            self.ctx.enable_only(moderngl.BLEND)
            self.lines.draw(overlays, out_cam.projection() @ out_cam.w2c())

    def release(self) -> None:
        self.lines.release()
