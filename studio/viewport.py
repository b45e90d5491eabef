"""The central viewport: a ``QOpenGLWidget`` that draws the document with ``render/``.

moderngl attaches to the context Qt made (``initializeGL``) and draws into Qt's framebuffer
(``paintGL``). Pointer input goes to the current :class:`ViewportTool` (box select, brush...);
what it does not use goes to the navigation tool (orbit LMB, pan MMB or Shift+LMB, zoom wheel).
Selected splats are drawn tinted with the selection colour, and the document's camera paths over the
picture (:mod:`render.path_drawer`), the current one bright with its selected key lit. The artist's
viewport preferences (background, selection colour, grid, zoom step, home view) are fields of
:class:`studio.settings.Settings`, applied with :meth:`Viewport.apply_settings`.

Frames use the renderer's progressive mode: a big layer uploads, and a still picture of many
splats builds up, a slice per frame within ``REFINE_BUDGET_MS``, with the events handled between
slices, so the window keeps answering while the last whole picture stays on screen.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Literal, NamedTuple, Protocol

import moderngl
import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QWidget

from render import FrameStats, Renderer, RenderSettings
from render.controllers import HOME_VIEWS, OrbitController
from render.path_drawer import CameraPathDrawer, PathOverlay
from scene import Camera, Document, Layer
from scene.bounds import dense_box, document_dense_box, layer_dense_box
from scene.edits import selected_centres
from scene.events import DocumentEvent, UndoChanged
from studio.settings import Settings

Shading = Literal["splats", "mesh", "both", "points"]
SHADINGS: tuple[Shading, ...] = ("splats", "mesh", "both", "points")
BACKGROUND = Settings().viewport_background  # until apply_settings says otherwise
REFINE_DELAY_MS = 40
REFINE_BUDGET_MS = 15.0  # splat work per frame while a still picture builds up; Qt's compositing comes on top
_SHOWN_KINDS = {"splats": ("splats", "clip", "points"), "mesh": ("mesh", "points"), "both": None, "points": None}


class _ShadedView(NamedTuple):
    """The part of a document a shading mode shows, its splat selections (which the renderer tints)
    and its time (which clips are drawn at)."""

    layers: tuple[Layer, ...]
    splat_selection: Callable[[str], np.ndarray | None]
    time: float


class ViewportTool(Protocol):
    """Receives the viewport's pointer events; returns True when it used the event."""

    def press(self, viewport: "Viewport", event: QMouseEvent) -> bool: ...

    def move(self, viewport: "Viewport", event: QMouseEvent) -> bool: ...

    def release(self, viewport: "Viewport", event: QMouseEvent) -> bool: ...


class NavigateTool:
    """Orbit with the left button, pan with the middle one or Shift+left."""

    def __init__(self) -> None:
        self._last: QPointF | None = None
        self._mode: str | None = None

    def press(self, viewport: "Viewport", event: QMouseEvent) -> bool:
        button, shift = event.button(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and shift):
            self._mode = "pan"
        elif button == Qt.MouseButton.LeftButton:
            self._mode = "orbit"
        else:
            return False
        self._last = event.position()
        return True

    def move(self, viewport: "Viewport", event: QMouseEvent) -> bool:
        if self._mode is None or self._last is None:
            return False
        delta = event.position() - self._last
        self._last = event.position()
        if self._mode == "orbit":
            viewport.controller.orbit(delta.x(), delta.y())
        else:
            viewport.controller.pan(delta.x(), delta.y(), viewport.height())
        viewport.camera_changed()
        return True

    def release(self, viewport: "Viewport", event: QMouseEvent) -> bool:
        used = self._mode is not None
        self._mode = self._last = None
        return used


class Viewport(QOpenGLWidget):
    """Draws ``document`` from the controller's camera in one of the :data:`SHADINGS`."""

    frame_drawn = Signal(float)  # seconds the frame took

    def __init__(
        self,
        document: Document,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 240)
        self.preferences = Settings()  # the viewport fields of the artist's settings
        self.controller = self._home_controller()
        self.navigate = NavigateTool()
        self.tool: ViewportTool = self.navigate
        self.shading: Shading = "both"
        self.ctx: moderngl.Context | None = None
        self.renderer: Renderer | None = None
        self.gl_error = ""
        self.last_stats: FrameStats | None = None  # of the newest frame
        self._frame_times: deque[float] = deque(maxlen=60)
        self.show_paths = True  # draw the document's camera paths
        self.path_selection: tuple[str | None, int | None] = (None, None)  # the current path and its selected key
        self._path_drawer: CameraPathDrawer | None = None
        self.document = document
        document.events.connect(self._on_event)

    def set_document(self, document: Document) -> None:
        self.document.events.disconnect(self._on_event)
        self.document = document
        document.events.connect(self._on_event)
        self.update()

    # ----------------------------------------------------------------- view commands
    def set_tool(self, tool: ViewportTool | None) -> None:
        """Make ``tool`` receive the left button first; None goes back to navigating only."""
        self.tool = tool or self.navigate

    def apply_settings(self, settings: Settings) -> None:
        """Take the viewport preferences of ``settings`` (background, selection colour, grid, zoom
        step, home view); the next frame shows them, the next Reset View looks from the new home view."""
        self.preferences = settings
        self.update()

    def set_shading(self, shading: Shading) -> None:
        if shading not in SHADINGS:
            raise ValueError(f"shading must be one of {SHADINGS}, got {shading!r}")
        self.shading = shading
        self.update()

    def set_path_selection(self, path_id: str | None, key: int | None = None) -> None:
        """Draw the path ``path_id`` as the current one, with its key ``key`` lit."""
        self.path_selection = (path_id, key)
        self.update()

    def set_show_paths(self, shown: bool) -> None:
        self.show_paths = shown
        self.update()

    def path_overlays(self) -> list[PathOverlay]:
        """The camera paths as the next frame draws them (none while they are hidden)."""
        if not self.show_paths:
            return []
        current, key = self.path_selection
        return [
            PathOverlay(named.path, named.id == current, key if named.id == current else None)
            for named in self.document.paths
        ]

    def frame_selected(self) -> None:
        """Frame the selection (``F``): the current layer's selected splats, else the current
        layer, else everything visible; from the same direction, stray floaters left out."""
        layer = self.document.current
        if layer is None:
            self.frame_all()
            return
        mask = self.document.splat_selection(layer.id)
        self._frame(layer_dense_box(layer) if mask is None else dense_box(selected_centres(self.document, layer.id)))

    def frame_all(self) -> None:
        """Frame every visible layer (``Home``) from the same direction, stray floaters left out."""
        self._frame(document_dense_box(self.document))

    def _frame(self, bounds: tuple[np.ndarray, np.ndarray] | None) -> None:
        if bounds is not None:
            self.controller.frame(*bounds, aspect=self.width() / max(self.height(), 1))
            self.camera_changed()

    @property
    def settled(self) -> bool:
        """The newest frame showed the whole picture at full quality: nothing is left to upload,
        draw or refine until something changes."""
        return self.last_stats is not None and self.last_stats.complete and not self.last_stats.needs_refine

    def set_view(self, camera: Camera) -> None:
        """Look as ``camera`` does (a saved view), orbiting about the point ahead of it nearest the
        centre of what is visible (or, with that behind it, as far ahead as framing it would be)."""
        self.frame_all()
        ahead = float(np.dot(self.controller.target - camera.position, camera.forward))
        self.controller = OrbitController.from_camera(camera, ahead if ahead > 1e-3 else self.controller.distance)
        self.camera_changed()

    def reset_view(self) -> None:
        """Everything visible framed from the preferred direction (the home view of Preferences)."""
        self.controller = self._home_controller()
        self.frame_all()
        self.camera_changed()

    def _home_controller(self) -> OrbitController:
        yaw, pitch = HOME_VIEWS[self.preferences.home_view]
        return OrbitController(np.zeros(3), 5.0, yaw_deg=yaw, pitch_deg=pitch)

    def camera_changed(self) -> None:
        self.update()

    def camera(self) -> Camera:
        """The camera the next frame is drawn with (device pixels)."""
        ratio = self.devicePixelRatioF()
        return self.controller.camera(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)))

    @property
    def fps(self) -> float:
        """Frames drawn in the last second (a still view draws none)."""
        now = time.perf_counter()
        return float(sum(1 for t in self._frame_times if now - t <= 1.0))

    # ----------------------------------------------------------------- GL
    def shaded_view(self) -> _ShadedView:
        """The document as the shading mode shows it (splats only, meshes only, or everything)."""
        kinds = _SHOWN_KINDS[self.shading]
        layers = tuple(
            layer for layer in self.document.layers
            if kinds is None or layer.kind in kinds
        )
        return _ShadedView(layers, self.document.splat_selection, self.document.time)

    def render_settings(self) -> RenderSettings:
        """The renderer's settings for this frame (preferences, adaptive resolution, selection outline)."""
        current = self.document.current_id
        preferences = self.preferences
        return RenderSettings(
            background=preferences.viewport_background,
            selection_color=preferences.selection_color,
            point_mode=self.shading == "points",
            show_grid=preferences.show_grid,
            adaptive=True,
            wait_for_sort=False,
            progressive=True,
            refine_budget_ms=REFINE_BUDGET_MS,
            selected=frozenset() if current is None else frozenset({current}),
        )

    def initializeGL(self) -> None:
        self.ctx = moderngl.create_context()
        try:
            self.renderer = Renderer(self.ctx)
            self.renderer.warm_up(self.render_settings())
        except RuntimeError as exc:  # an OpenGL older than the renderer needs: show the background only
            self.renderer = None
            self.gl_error = str(exc)
        self.context().aboutToBeDestroyed.connect(self.release_gl)

    def release_gl(self) -> None:
        """Free GPU buffers and the sort thread while Qt's context still exists."""
        if self.renderer is not None:
            self.makeCurrent()
            self.renderer.release()
            if self._path_drawer is not None:
                self._path_drawer.release()
                self._path_drawer = None
            self.doneCurrent()
            self.renderer = None

    def paintGL(self) -> None:
        if self.ctx is None:
            return
        start = time.perf_counter()
        framebuffer = self.ctx.detect_framebuffer(self.defaultFramebufferObject())
        framebuffer.use()
        framebuffer.clear(*self.preferences.viewport_background, 1.0)
        if self.renderer is not None:
            stats = self.last_stats = self.renderer.render(self.shaded_view(), self.camera(), framebuffer, self.render_settings())
            if not stats.complete:  # a picture or an upload under way: go on once the events are handled
                QTimer.singleShot(0, self.update)
            elif stats.needs_refine:  # drawn at reduced resolution or with a stale sort: refine soon
                QTimer.singleShot(REFINE_DELAY_MS, self.update)
            overlays = self.path_overlays()
            if overlays:
                self._path_drawer = self._path_drawer or CameraPathDrawer(self.ctx)
                self._path_drawer.draw(framebuffer, overlays, self.camera())
        self._frame_times.append(time.perf_counter())
        self.frame_drawn.emit(time.perf_counter() - start)

    # ----------------------------------------------------------------- input
    def _on_event(self, event: DocumentEvent) -> None:
        if not isinstance(event, UndoChanged):  # time too: layers may look different at another time
            self.update()

    def _tools(self) -> tuple[ViewportTool, ...]:
        return (self.tool,) if self.tool is self.navigate else (self.tool, self.navigate)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if not any(tool.press(self, event) for tool in self._tools()):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not any(tool.move(self, event) for tool in self._tools()):
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if not any(tool.release(self, event) for tool in self._tools()):
            super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.controller.zoom(self.preferences.zoom_step ** (event.angleDelta().y() / 120.0))
        self.camera_changed()
