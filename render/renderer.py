"""``Renderer``: draws a whole ``Document`` into any moderngl framebuffer.

Per frame: meshes and points (writing depth), grid and axes, then every splat layer blended back
to front (depth-tested against the meshes, not writing depth). At reduced (adaptive) resolution,
or when the output has no depth buffer, that goes into an internal target which is then scaled
onto the output; otherwise straight into the output. While the camera moves at reduced
resolution, splats are drawn as point sprites (same falloff, cheaper vertices). The gizmo and
selection boxes are drawn last, at full resolution.

GPU state is cached per layer id and re-uploaded only when ``layer.data`` is a different object
(layer payloads are immutable). Splat depth sorting runs in a worker thread.

Progressive frames (the interactive viewport) keep each call within a time budget on slow GPUs:
a big cloud is uploaded a band of texture rows per call into new buffers while the old ones
still draw, and a still picture's splats are preprocessed and blended a chunk per call, back to
front into an internal target, so later calls continue the same picture (blending in order, in
chunks, is exactly blending all at once). Until it is whole, the output shows the last whole
picture. A moving view is always drawn whole, at the adaptive resolution.
"""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

import moderngl

from render.glutil import camera_uniforms, set_uniforms
from render.helpers import Gizmo, LineDrawer, axes_lines, box_lines, gizmo_lines, grid_lines
from render.meshes import MeshBuffers, MeshPipeline
from render.points import PointBuffers, PointPipeline
from render.quality import AdaptiveResolution
from render.sorting import DepthSorter
from render.splats import TEX_W, SplatBuffers, SplatDrawParams, SplatPipeline
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
    progressive: bool = False  # spend about refine_budget_ms per call; later calls finish the picture
    refine_budget_ms: float = 40.0

UPLOAD_ROWS = 32  # texture rows (32k splats, ~15 ms on a 2-core CPU) a staged upload writes per step
MIN_CHUNK = 8192  # fewest splats a progressive call blends, so every call makes progress


@dataclass
class FrameStats:
    """What one :meth:`Renderer.render` call did."""

    frame_ms: float
    scale: float  # resolution scale used (1 = full)
    sorts_started: int
    uploads: int
    needs_refine: bool  # a later frame would look better (reduced scale or a stale sort): repaint soon
    complete: bool = True  # the output shows the whole picture of all the data (False: call again soon)


@dataclass
class _Staging:
    """A big cloud on its way to the GPU a step per call, into buffers not drawn yet."""

    data: GaussianCloud
    buffers: SplatBuffers
    steps: Iterator[None]


@dataclass
class _LayerState:
    data: object  # what ``buffers`` hold (None until the first upload is complete)
    buffers: object
    sorter: DepthSorter | None = None
    has_order: bool = False
    staging: _Staging | None = None


@dataclass
class _Frame:
    """A progressive picture in the making: what it shows and how far its splats got."""

    key: tuple
    keep: tuple  # the objects whose ids are in ``key``, alive so that no id is reused meanwhile
    layers: list[tuple[str, SplatDrawParams]]  # splat layers, farthest first
    layer_index: int = 0
    slot: int = 0  # next draw slot of that layer
    spent_ms: float = 0.0


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
        # Internal targets (framebuffer, colour, depth): one being drawn, one holding the last whole picture.
        self._target: tuple[moderngl.Framebuffer, moderngl.Texture, moderngl.Renderbuffer] | None = None
        self._shown: tuple[moderngl.Framebuffer, moderngl.Texture, moderngl.Renderbuffer] | None = None
        self._shown_frame: _Frame | None = None  # the picture in _shown (its key, and the objects it names)
        self._last_view: bytes | None = None
        self._frame: _Frame | None = None
        self._splats_per_ms = 1000.0  # measured blending speed, sizes progressive chunks

    @property
    def is_idle(self) -> bool:
        """No picture being refined, no upload and no sort under way: a still view needs no further calls."""
        return self._frame is None and not any(
            state.staging or (state.sorter is not None and state.sorter.busy) for state in self._layers.values()
        )

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
        budget_end = start + settings.refine_budget_ms / 1000.0 if settings.progressive else math.inf
        progressive = settings.progressive and not moving  # a moving view's next call starts over anyway

        drawable = tuple(layer for layer in document.layers if _has_content(layer))
        visible = [layer for layer in drawable if layer.visible]
        self._sync_layers(drawable, stats, budget_end)
        selection = getattr(document, "splat_selection", None)  # a filtered view of a document may lack it
        splat_layers, reordered, sorting = self._prepare_splats(visible, selection, cam, settings, moving, stats)
        key, keep = self._frame_key(view_key, (width, height), visible, settings)
        has_depth = any(isinstance(self._layers[layer.id].buffers, (MeshBuffers, PointBuffers)) for layer in visible)
        # Straight into the output when a whole picture at full resolution can go there (saves a copy).
        direct = not settings.progressive and scale == 1.0 and framebuffer.depth_attachment is not None
        target = framebuffer if direct else self._internal_target(width, height)
        settled = not reordered and not sorting and self._frame is None
        drawn: _Frame | None = None  # the picture this call worked on
        if settings.progressive and settled and self._shown_frame is not None and key == self._shown_frame.key:
            whole = True  # the picture on show is still right (a repaint for the overlays, say)
        elif progressive and sorting:  # a still picture starts its splats once their order is there
            self._frame, whole = None, False
            self._draw_background(target, visible, cam, settings, has_depth)
        else:
            frame = self._frame if progressive and not reordered and self._frame is not None else None
            if frame is None or frame.key != key:
                frame = _Frame(key, keep, [(layer.id, params) for layer, params in splat_layers])
                # A whole picture preprocesses all its splats first: a preprocess pass after the
                # clear would make llvmpipe flush the target midway (30 ms at 100k splats).
                if not progressive:
                    for layer_id, params in frame.layers:
                        self._layers[layer_id].buffers.preprocess(camera_uniforms(cam), params)
                self._draw_background(target, visible, cam, settings, has_depth)
            point_px = 0.5 * settings.point_size_px if settings.point_mode else 0.0
            drawn = frame
            # Point sprites while moving at reduced resolution: cheaper vertices.
            whole = self._draw_splats(
                frame, target, has_depth, (width, height), point_px, scale < 1.0, camera_uniforms(cam),
                budget_end if progressive else math.inf,
            )
            self._frame = None if whole else frame
            if whole and not direct:
                self._target, self._shown, self._shown_frame = self._shown, self._target, frame  # the newest whole picture
        if not direct:
            self._blit(framebuffer, self._shown if self._fits(self._shown, width / height) else self._target)
        self._draw_overlays(framebuffer, document, camera, settings)
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
        for state in self._layers.values():
            _release_state(state)
        self._layers.clear()
        self._frame = None
        self._release_targets()
        for obj in (self.splats, self.meshes, self.points, self.lines, self._blit_vao, self._blit_program):
            obj.release()

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
            for state in self._layers.values():
                _release_state(state)
            self._layers.clear()
            self._frame, self._last_view = None, None
            for obj in (*framebuffer.color_attachments, framebuffer.depth_attachment, framebuffer):
                obj.release()

    # ----------------------------------------------------------------- layers
    def _sync_layers(self, layers: tuple[Layer, ...], stats: FrameStats, budget_end: float) -> None:
        """Drop state of removed layers; (re)upload layers whose data object changed.

        A cloud too big to upload within the budget goes up a band of rows per call into new
        buffers (the old ones keep drawing) and replaces them once it is all there.
        """
        ids = {layer.id for layer in layers}
        for gone in set(self._layers) - ids:
            _release_state(self._layers.pop(gone))
        for layer in layers:
            state = self._layers.get(layer.id)
            if state is not None and state.data is layer.data:
                if state.staging is not None:  # the layer went back to the data already drawn
                    state.staging.buffers.release()
                    state.staging = None
                continue
            if state is not None and not isinstance(state.buffers, _buffers_type(layer.data)):
                _release_state(self._layers.pop(layer.id))
                state = None
            if state is None:
                state = self._new_state(layer)
                self._layers[layer.id] = state
            if isinstance(layer.data, GaussianCloud) and budget_end < math.inf and layer.data.count > UPLOAD_ROWS * TEX_W:
                if not self._stage(state, layer.data, budget_end):
                    stats.needs_refine = True
                    continue
            else:
                state.has_order = (
                    state.has_order and isinstance(state.buffers, SplatBuffers) and state.buffers.count == len(layer.data.means)
                )  # an old order still fits the same count
                state.buffers.upload(layer.data)
            state.data = layer.data
            if state.sorter is not None:
                state.sorter.set_points(layer.data.means)
            stats.uploads += 1

    def _stage(self, state: _LayerState, cloud: GaussianCloud, budget_end: float) -> bool:
        """Go on uploading ``cloud`` until the budget is spent (one step at least); True once it is
        all there and its buffers have replaced the layer's."""
        staging = state.staging
        if staging is None or staging.data is not cloud:
            if staging is not None:
                staging.buffers.release()
            buffers = SplatBuffers(self.splats)
            staging = state.staging = _Staging(cloud, buffers, buffers.upload_steps(cloud, UPLOAD_ROWS))
        for _ in staging.steps:
            if time.perf_counter() >= budget_end:
                return False
        state.buffers.release()
        state.buffers, state.staging, state.has_order = staging.buffers, None, False
        return True

    def _new_state(self, layer: Layer) -> _LayerState:
        kind = _buffers_type(layer.data)
        if kind is SplatBuffers:
            return _LayerState(None, SplatBuffers(self.splats), DepthSorter(self._executor))
        return _LayerState(None, kind(self.meshes if kind is MeshBuffers else self.points))

    def _draw_opaque(self, layer: Layer, cam: Camera, view_proj: np.ndarray, settings: RenderSettings) -> None:
        state = self._layers[layer.id]
        if state.data is None:
            return
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
        moving: bool,
        stats: FrameStats,
    ) -> tuple[list[tuple[Layer, SplatDrawParams]], bool, bool]:
        """Sort (or reuse the order) of each drawn splat layer and set its selection tint.

        A whole-picture renderer waits for the sorts it needs (for every view, or with
        ``wait_for_sort`` off only for a layer's first order); a progressive one never waits:
        a layer without an order yet is left out, and a running sort is reported so that a
        still picture waits for it. Returns the layers farthest first with their draw
        parameters, whether an order changed, and whether a sort is still running.
        """
        block = not settings.progressive and (settings.wait_for_sort or not moving)
        view = cam.w2c()
        splat_layers = [
            layer for layer in layers
            if isinstance(self._layers[layer.id].buffers, SplatBuffers) and self._layers[layer.id].buffers.count
        ]
        splat_layers.sort(key=lambda layer: _layer_depth(layer, view))
        reordered = sorting = False
        out = []
        for layer in splat_layers:
            state = self._layers[layer.id]
            model = layer.transform.matrix()
            depth_row = (view @ model)[2]
            if state.sorter.request(depth_row):
                stats.sorts_started += 1
            order = state.sorter.poll(wait=block or not (state.has_order or settings.progressive))
            if order is None and not state.has_order and not settings.progressive:  # that sort was for older data
                state.sorter.request(depth_row)
                order = state.sorter.poll(wait=True)
            if order is not None:
                state.buffers.set_order(order)
                state.has_order = reordered = True
            if state.sorter.busy:
                sorting = stats.needs_refine = True
            if not state.has_order:
                continue
            mask = selection(layer.id) if selection is not None and state.data is layer.data else None
            state.buffers.set_selection(mask)
            degree = min(settings.max_sh_degree, state.data.sh_degree)
            out.append((layer, SplatDrawParams(model, degree, layer.display.splat_scale, layer.display.opacity_scale)))
        return out, reordered, sorting

    def _frame_key(
        self, view_key: bytes, size: tuple[int, int], visible: list[Layer], settings: RenderSettings
    ) -> tuple[tuple, tuple]:
        """What a picture depends on (overlays aside), and the objects whose ids that names."""
        keep = tuple((self._layers[layer.id].data, self._layers[layer.id].buffers) for layer in visible)
        layers = tuple(
            (layer.id, id(data), id(buffers), layer.transform.matrix().tobytes(), layer.display)
            for layer, (data, buffers) in zip(visible, keep)
        )
        drawn = dataclasses.replace(settings, selected=frozenset(), gizmo=None)
        return (view_key, size, layers, drawn), keep

    # ----------------------------------------------------------------- drawing
    def _draw_background(
        self, target: moderngl.Framebuffer, visible: list[Layer], cam: Camera, settings: RenderSettings, has_depth: bool
    ) -> None:
        """Start a picture: clear, then meshes and points (writing depth), grid and axes."""
        ctx = self.ctx
        target.use()
        target.clear(*settings.background, 1.0, depth=1.0)
        view_proj = cam.projection() @ cam.w2c()
        ctx.enable_only(moderngl.DEPTH_TEST)
        ctx.depth_func = "<"
        for layer in visible:
            self._draw_opaque(layer, cam, view_proj, settings)
        self._blend_state(target, has_depth)
        helpers = []
        if settings.show_grid:
            helpers.append(grid_lines(settings.grid_extent, settings.grid_step))
        if settings.show_axes:
            helpers.append(axes_lines(settings.grid_extent))
        self.lines.draw(helpers, view_proj)
        target.depth_mask = True

    def _blend_state(self, target: moderngl.Framebuffer, has_depth: bool) -> None:
        """Premultiplied "over" blending into ``target``; depth-tested (only when something opaque
        wrote depth: the test costs fill rate) but never written (moderngl: per framebuffer)."""
        ctx = self.ctx
        target.use()
        ctx.enable_only((moderngl.DEPTH_TEST if has_depth else moderngl.NOTHING) | moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        target.depth_mask = False

    def _draw_splats(
        self, frame: _Frame, target: moderngl.Framebuffer, has_depth: bool, size: tuple[int, int],
        point_px: float, sprites: bool, uniforms: dict, budget_end: float,
    ) -> bool:
        """Preprocess and blend the frame's splats, a chunk at a time, from where it stopped until
        the budget is spent (one chunk at least); True once all are drawn."""
        timed = budget_end < math.inf
        while frame.layer_index < len(frame.layers):
            layer_id, params = frame.layers[frame.layer_index]
            buffers = self._layers[layer_id].buffers
            while frame.slot < buffers.count:
                if timed:
                    left_ms = 1000.0 * (budget_end - time.perf_counter())
                    stop = frame.slot + max(MIN_CHUNK, int(self._splats_per_ms * left_ms))
                else:
                    stop = buffers.count
                stop = min(stop, buffers.count)
                chunk_start = time.perf_counter()
                buffers.preprocess(uniforms, params, until=stop)
                self._blend_state(target, has_depth)
                buffers.draw(size, point_px, sprites, frame.slot, stop)
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

    def _drawn_all(self, frame: _Frame) -> bool:
        return frame.layer_index == len(frame.layers) - 1 and frame.slot >= self._layers[frame.layers[-1][0]].buffers.count

    # ----------------------------------------------------------------- targets
    def _internal_target(self, width: int, height: int) -> moderngl.Framebuffer:
        """An RGBA8 colour + depth target of this size.

        8-bit blending rounds each splat's contribution, but stays within ~1/255 of float blending
        (PSNR > 40 dB in the tests) and is markedly faster than half floats on llvmpipe.
        """
        if self._target is not None and self._target[0].size == (width, height):
            return self._target[0]
        _release_target(self._target)
        color = self.ctx.texture((width, height), 4)
        color.filter = (moderngl.LINEAR, moderngl.LINEAR)
        depth = self.ctx.depth_renderbuffer((width, height))
        self._target = (self.ctx.framebuffer([color], depth), color, depth)
        return self._target[0]

    @staticmethod
    def _fits(target: tuple | None, aspect: float) -> bool:
        """Whether a target's picture can stand in for one of this aspect ratio."""
        if target is None:
            return False
        width, height = target[0].size
        return abs(width / height - aspect) <= 0.02 * aspect

    def _release_targets(self) -> None:
        for target in (self._target, self._shown):
            _release_target(target)
        self._target = self._shown = self._shown_frame = None

    def _blit(self, framebuffer: moderngl.Framebuffer, source: tuple) -> None:
        """Scale an internal target's picture onto ``framebuffer`` (bilinear)."""
        framebuffer.use()
        self.ctx.enable_only(moderngl.NOTHING)
        source[1].use(0)
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


def _buffers_type(data: object) -> type:
    """The GPU buffers class that draws ``data``."""
    if isinstance(data, GaussianCloud):
        return SplatBuffers
    return MeshBuffers if isinstance(data, MeshAsset) else PointBuffers


def _release_state(state: _LayerState) -> None:
    state.buffers.release()
    if state.staging is not None:
        state.staging.buffers.release()


def _release_target(target: tuple | None) -> None:
    if target is not None:
        for obj in target:
            obj.release()


def _has_content(layer: Layer) -> bool:
    """Whether a layer has anything to draw; an empty one (a job's layer before its first snapshot)
    gets no GPU buffers at all, since GL has no zero-sized textures."""
    data = layer.data
    return (data.face_count if isinstance(data, MeshAsset) else data.count) > 0


def _layer_depth(layer: Layer, view: np.ndarray) -> float:
    """Camera-space z of a layer's bounds centre (more negative = farther), for layer ordering."""
    lo, hi = layer.world_bounds()
    return float((view @ np.append(0.5 * (lo + hi), 1.0))[2])
