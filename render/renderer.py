"""``Renderer``: draws a whole ``Document`` into any moderngl framebuffer.

Per frame: meshes and points (writing depth), grid and axes, then every splat layer blended back
to front (depth-tested against the meshes, not writing depth). At reduced (adaptive) resolution,
or when the output has no depth buffer, that goes into an internal target which is then scaled
onto the output; otherwise straight into the output. While the camera moves at reduced
resolution, splats are drawn as point sprites (same falloff, cheaper vertices). The gizmo and
selection boxes are drawn last, at full resolution.

GPU state is cached per layer id and re-uploaded only when ``layer.data`` is a different object
(layer payloads are immutable). Splat depth sorting runs in a worker thread.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

import moderngl

from render.glutil import camera_uniforms, set_uniforms
from render.helpers import Gizmo, LineDrawer, axes_lines, box_lines, gizmo_lines, grid_lines
from render.meshes import MeshBuffers, MeshPipeline
from render.points import PointBuffers, PointPipeline
from render.quality import AdaptiveResolution
from render.sorting import DepthSorter
from render.splats import SplatBuffers, SplatDrawParams, SplatPipeline
from scene.camera import Camera
from scene.document import Document, Layer
from scene.gaussians import GaussianCloud
from scene.mesh import MeshAsset
from shaders import load


@dataclass(frozen=True)
class RenderSettings:
    """How the viewport draws; the studio edits these, the CLI sets a few."""

    background: tuple[float, float, float] = (0.0, 0.0, 0.0)  # RGB 0-1
    max_sh_degree: int = 3  # cap on the SH degree evaluated (0 = flat colours)
    point_mode: bool = False  # splats drawn as their centres only
    point_size_px: float = 3.0  # for point mode and point-cloud layers
    wireframe: bool = False  # edges over meshes
    show_grid: bool = False
    show_axes: bool = False
    grid_extent: float = 10.0
    grid_step: float = 1.0
    selected: frozenset[str] = frozenset()  # layer ids outlined with their bounds
    gizmo: Gizmo | None = None
    adaptive: bool = False  # reduce resolution while the camera moves (interactive viewport)
    frame_budget_ms: float = 80.0  # adaptive target per frame
    wait_for_sort: bool = True  # block for a fresh depth order; False: draw the last order, sort behind


@dataclass
class FrameStats:
    """What one :meth:`Renderer.render` call did."""

    frame_ms: float
    scale: float  # resolution scale used (1 = full)
    sorts_started: int
    uploads: int
    needs_refine: bool  # a later frame would look better (reduced scale or a stale sort): repaint soon


@dataclass
class _LayerState:
    data: object
    buffers: object
    sorter: DepthSorter | None = None
    has_order: bool = False


class Renderer:
    """Draws documents with one moderngl context (EGL offscreen or Qt's); not thread-safe."""

    def __init__(self, ctx: moderngl.Context) -> None:
        if ctx.version_code < 330:
            raise RuntimeError(f"the viewport needs OpenGL 3.3, this context has {ctx.version_code}")
        self.ctx = ctx
        self.splats = SplatPipeline(ctx)
        self.meshes = MeshPipeline(ctx)
        self.points = PointPipeline(ctx)
        self.lines = LineDrawer(ctx)
        self.quality = AdaptiveResolution()
        self._blit_program = ctx.program(vertex_shader=load("fullscreen.vert"), fragment_shader=load("blit.frag"))
        self._blit_vao = ctx.vertex_array(self._blit_program, [])
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="splat-sort")
        self._layers: dict[str, _LayerState] = {}
        self._target: tuple[moderngl.Framebuffer, moderngl.Texture, moderngl.Renderbuffer] | None = None
        self._last_view: bytes | None = None

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
        stats = FrameStats(0.0, scale, 0, 0, scale < 1.0)

        drawable = tuple(layer for layer in document.layers if _has_content(layer))
        visible = [layer for layer in drawable if layer.visible]
        self._sync_layers(drawable, stats)
        selection = getattr(document, "splat_selection", None)  # a filtered view of a document may lack it
        splat_layers = self._prepare_splats(
            visible, selection, cam, settings, stats, wait=settings.wait_for_sort or not moving
        )
        # At full resolution draw straight into the output when it has a depth buffer (saves a copy).
        direct = scale == 1.0 and framebuffer.depth_attachment is not None
        target = framebuffer if direct else self._internal_target(width, height)
        ctx = self.ctx
        target.use()
        target.clear(*settings.background, 1.0, depth=1.0)
        view_proj = cam.projection() @ cam.w2c()
        ctx.enable_only(moderngl.DEPTH_TEST)
        ctx.depth_func = "<"
        for layer in visible:
            self._draw_opaque(layer, cam, view_proj, settings)
        # Splats are only depth-tested when something opaque wrote depth: the test costs fill rate.
        has_depth = any(isinstance(self._layers[layer.id].buffers, (MeshBuffers, PointBuffers)) for layer in visible)
        ctx.enable_only((moderngl.DEPTH_TEST if has_depth else moderngl.NOTHING) | moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        target.depth_mask = False  # splats and helpers test depth but never write it (moderngl: per framebuffer)
        helpers = []
        if settings.show_grid:
            helpers.append(grid_lines(settings.grid_extent, settings.grid_step))
        if settings.show_axes:
            helpers.append(axes_lines(settings.grid_extent))
        self.lines.draw(helpers, view_proj)
        point_px = 0.5 * settings.point_size_px if settings.point_mode else 0.0
        for layer in splat_layers:  # point sprites while moving at reduced resolution: cheaper vertices
            self._layers[layer.id].buffers.draw((width, height), point_px, sprites=scale < 1.0)
        target.depth_mask = True

        if not direct:
            self._blit(framebuffer)
        self._draw_overlays(framebuffer, document, camera, settings)
        if settings.adaptive:
            ctx.finish()
        stats.frame_ms = 1000.0 * (time.perf_counter() - start)
        if settings.adaptive:
            self.quality.record(scale, stats.frame_ms)
        return stats

    def release(self) -> None:
        """Free every GL object and stop the sort worker."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        for state in self._layers.values():
            state.buffers.release()
        self._layers.clear()
        self._release_target()
        for obj in (self.splats, self.meshes, self.points, self.lines, self._blit_vao, self._blit_program):
            obj.release()

    # ----------------------------------------------------------------- layers
    def _sync_layers(self, layers: tuple[Layer, ...], stats: FrameStats) -> None:
        """Drop state of removed layers; (re)upload layers whose data object changed."""
        ids = {layer.id for layer in layers}
        for gone in set(self._layers) - ids:
            self._layers.pop(gone).buffers.release()
        for layer in layers:
            state = self._layers.get(layer.id)
            if state is not None and state.data is layer.data:
                continue
            if state is not None and type(state.data) is not type(layer.data):
                self._layers.pop(layer.id).buffers.release()
                state = None
            if state is None:
                state = self._new_state(layer)
                self._layers[layer.id] = state
            same_count = isinstance(state.buffers, SplatBuffers) and state.buffers.count == len(layer.data.means)
            state.buffers.upload(layer.data)
            state.data = layer.data
            if state.sorter is not None:
                state.sorter.set_points(layer.data.means)
                state.has_order = state.has_order and same_count  # an old order still fits the same count
            stats.uploads += 1

    def _new_state(self, layer: Layer) -> _LayerState:
        if isinstance(layer.data, GaussianCloud):
            return _LayerState(None, SplatBuffers(self.splats), DepthSorter(self._executor))
        if isinstance(layer.data, MeshAsset):
            return _LayerState(None, MeshBuffers(self.meshes))
        return _LayerState(None, PointBuffers(self.points))

    def _draw_opaque(self, layer: Layer, cam: Camera, view_proj: np.ndarray, settings: RenderSettings) -> None:
        state = self._layers[layer.id]
        model = layer.transform.matrix()
        if isinstance(state.buffers, MeshBuffers):
            state.buffers.draw(view_proj, model, cam.position, settings.wireframe)
        elif isinstance(state.buffers, PointBuffers):
            state.buffers.draw(view_proj @ model, settings.point_size_px)

    def _prepare_splats(
        self,
        layers: list[Layer],
        selection: Callable[[str], np.ndarray | None] | None,
        cam: Camera,
        settings: RenderSettings,
        stats: FrameStats,
        wait: bool,
    ) -> list[Layer]:
        """Sort (or reuse the order) and preprocess each splat layer; returns them farthest first."""
        uniforms = camera_uniforms(cam)
        view = cam.w2c()
        splat_layers = [layer for layer in layers if isinstance(layer.data, GaussianCloud) and layer.data.count]
        splat_layers.sort(key=lambda layer: _layer_depth(layer, view))
        for layer in splat_layers:
            state = self._layers[layer.id]
            model = layer.transform.matrix()
            depth_row = (view @ model)[2]
            if state.sorter.request(depth_row):
                stats.sorts_started += 1
            order = state.sorter.poll(wait=wait or not state.has_order)
            if order is None and not state.has_order:  # the running sort was for older data
                state.sorter.request(depth_row)
                order = state.sorter.poll(wait=True)
            if order is not None:
                state.buffers.set_order(order)
                state.has_order = True
            elif not wait:
                stats.needs_refine = True
            params = SplatDrawParams(
                model,
                min(settings.max_sh_degree, layer.data.sh_degree),
                layer.display.splat_scale,
                layer.display.opacity_scale,
            )
            state.buffers.set_selection(selection(layer.id) if selection is not None else None)
            state.buffers.preprocess(uniforms, params)
        return splat_layers

    # ----------------------------------------------------------------- targets
    def _internal_target(self, width: int, height: int) -> moderngl.Framebuffer:
        """An RGBA8 colour + depth target of this size.

        8-bit blending rounds each splat's contribution, but stays within ~1/255 of float blending
        (PSNR > 40 dB in the tests) and is markedly faster than half floats on llvmpipe.
        """
        if self._target is not None and self._target[0].size == (width, height):
            return self._target[0]
        self._release_target()
        color = self.ctx.texture((width, height), 4)
        color.filter = (moderngl.LINEAR, moderngl.LINEAR)
        depth = self.ctx.depth_renderbuffer((width, height))
        self._target = (self.ctx.framebuffer([color], depth), color, depth)
        return self._target[0]

    def _release_target(self) -> None:
        if self._target is not None:
            for obj in self._target:
                obj.release()
            self._target = None

    def _blit(self, framebuffer: moderngl.Framebuffer) -> None:
        """Scale the internal image onto ``framebuffer`` (bilinear)."""
        framebuffer.use()
        self.ctx.enable_only(moderngl.NOTHING)
        self._target[1].use(0)
        set_uniforms(self._blit_program, u_image=0)
        self._blit_vao.render(moderngl.TRIANGLES, vertices=3)

    def _draw_overlays(self, framebuffer: moderngl.Framebuffer, document: Document, camera: Camera, settings: RenderSettings) -> None:
        """Selection boxes and the gizmo, at the output's full resolution, over everything."""
        overlays = []
        for layer in document.layers:
            if layer.id in settings.selected and layer.visible:
                overlays.append(box_lines(*layer.world_bounds()))
        out_cam = camera.resized(*framebuffer.size)
        if settings.gizmo is not None:
            overlays.append(gizmo_lines(settings.gizmo, out_cam))
        if overlays:
            framebuffer.use()
            self.ctx.enable_only(moderngl.BLEND)
            self.lines.draw(overlays, out_cam.projection() @ out_cam.w2c())


def _has_content(layer: Layer) -> bool:
    """Whether a layer has anything to draw; an empty one (a job's layer before its first snapshot)
    gets no GPU buffers at all, since GL has no zero-sized textures."""
    data = layer.data
    return (data.face_count if isinstance(data, MeshAsset) else data.count) > 0


def _layer_depth(layer: Layer, view: np.ndarray) -> float:
    """Camera-space z of a layer's bounds centre (more negative = farther), for layer ordering."""
    lo, hi = layer.world_bounds()
    return float((view @ np.append(0.5 * (lo + hi), 1.0))[2])
