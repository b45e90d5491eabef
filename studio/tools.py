"""Viewport tools that edit the splat selection: box select, brush select, move selection.

Each tool turns a mouse gesture into :mod:`scene.edits` calls with the viewport's current
camera, so every gesture is one undoable step. The brush and move tools work on the current splat
layer; a box selects in the splat layer it is drawn over (the current one first) and says in the
status bar why nothing was selected when it holds no splats. Shift adds to the selection, Ctrl
subtracts from it. The left button belongs to the tool; the other buttons keep navigating (see
:class:`studio.viewport.Viewport`).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Callable

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QRubberBand

from scene import Document, edits
from scene.edits import SelectMode
from studio.viewport import Viewport

BRUSH_RADIUS_PX = 24.0
REPORT_MS = 6000  # how long a tool's message stays in the status bar


def select_mode(modifiers: Qt.KeyboardModifier, default: SelectMode = "replace") -> SelectMode:
    """Shift adds, Ctrl subtracts, otherwise ``default``."""
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        return "add"
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        return "subtract"
    return default


def _splat_layer_id(viewport: Viewport) -> str | None:
    layer = viewport.document.current
    return layer.id if layer is not None and layer.payload_kind.selectable and layer.visible else None


def nothing_selected_reason(document: Document) -> str:
    """Why a box that selected nothing did so, in the artist's words."""
    splat_layers = [layer for layer in document.layers if layer.payload_kind.selectable]
    if not splat_layers:
        return "Nothing selected: box select picks splats, and there is no splat layer"
    if not any(layer.visible for layer in splat_layers):
        return "Nothing selected: box select picks splats, and every splat layer is hidden"
    return "Nothing selected: no splats inside the box"


def _device(viewport: Viewport, point: QPointF) -> tuple[float, float]:
    """Widget coordinates to the camera's (device) pixels."""
    ratio = viewport.devicePixelRatioF()
    return point.x() * ratio, point.y() * ratio


class BoxSelectTool:
    """Drag a rectangle; the splats whose centres fall inside it are selected on release.

    ``report`` shows a message to the artist (the status bar): which layer a box selected in
    when that layer was not the current one, or why nothing was selected.
    """

    name = "box"

    def __init__(self, report: Callable[[str], None] = lambda text: None) -> None:
        self.report = report
        self._start: QPointF | None = None
        self._mode: SelectMode = "replace"
        self._band: QRubberBand | None = None

    def press(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self._start, self._mode = event.position(), select_mode(event.modifiers())
        if self._band is None or self._band.parent() is not viewport:
            self._band = QRubberBand(QRubberBand.Shape.Rectangle, viewport)
        self._band.setGeometry(QRect(self._start.toPoint(), QSize()))
        self._band.show()
        return True

    def move(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if self._start is None:
            return False
        self._band.setGeometry(QRect(self._start.toPoint(), event.position().toPoint()).normalized())
        return True

    def release(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if self._start is None:
            return False
        start, self._start = self._start, None
        self._band.hide()
        self.select(viewport, (*_device(viewport, start), *_device(viewport, event.position())), self._mode)
        return True

    def select(self, viewport: Viewport, rect: tuple[float, float, float, float], mode: SelectMode = "replace") -> int:
        """Select the splats inside ``rect`` (device pixels) in the layer it is drawn over (see
        :func:`scene.edits.box_select`); how many are selected there afterwards."""
        document = viewport.document
        before = document.current_id
        layer = edits.box_select(document, viewport.camera(), rect, mode)
        if layer is None:
            self.report(nothing_selected_reason(document))
            return 0
        count = edits.selected_count(document, layer.id)
        if layer.id != before:
            self.report(f"{count:,} selected in {layer.name}, now the current layer")
        return count


class BrushSelectTool:
    """Paint over splats to select them; one stroke is one undo step."""

    name = "brush"

    def __init__(self, radius_px: float = BRUSH_RADIUS_PX) -> None:
        self.radius_px = radius_px
        self._stroke: ExitStack | None = None
        self._mode: SelectMode = "add"

    def press(self, viewport: Viewport, event: QMouseEvent) -> bool:
        layer_id = _splat_layer_id(viewport)
        if event.button() != Qt.MouseButton.LeftButton or layer_id is None:
            return False
        self._mode = select_mode(event.modifiers())
        self._stroke = ExitStack()
        self._stroke.enter_context(viewport.document.undo_stack.macro("Brush select"))
        if self._mode == "replace":  # a plain stroke starts a new selection
            viewport.document.select_splats(layer_id, None)
            self._mode = "add"
        self.dab(viewport, _device(viewport, event.position()))
        return True

    def move(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if self._stroke is None:
            return False
        self.dab(viewport, _device(viewport, event.position()))
        return True

    def release(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if self._stroke is None:
            return False
        stroke, self._stroke = self._stroke, None
        stroke.close()
        return True

    def dab(self, viewport: Viewport, centre: tuple[float, float]) -> None:
        """One brush step at ``centre`` (device pixels)."""
        layer_id = _splat_layer_id(viewport)
        if layer_id is not None:
            radius = self.radius_px * viewport.devicePixelRatioF()
            edits.select_circle(viewport.document, layer_id, viewport.camera(), centre, radius, self._mode)


class MoveSelectionTool:
    """Drag to move the selected splats in the view plane (one undo step per drag)."""

    name = "move"

    def __init__(self) -> None:
        self._start: QPoint | None = None

    def press(self, viewport: Viewport, event: QMouseEvent) -> bool:
        layer_id = _splat_layer_id(viewport)
        if event.button() != Qt.MouseButton.LeftButton or layer_id is None:
            return False
        if viewport.document.splat_selection(layer_id) is None:
            return False
        self._start = event.position()
        return True

    def move(self, viewport: Viewport, event: QMouseEvent) -> bool:
        return self._start is not None

    def release(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if self._start is None:
            return False
        start, self._start = self._start, None
        (x0, y0), (x1, y1) = _device(viewport, start), _device(viewport, event.position())
        self.translate(viewport, x1 - x0, y1 - y0)
        return True

    @staticmethod
    def translate(viewport: Viewport, dx_px: float, dy_px: float) -> None:
        """Move the selection by a screen drag, at the depth of the selection's centre."""
        layer_id = _splat_layer_id(viewport)
        mask = None if layer_id is None else viewport.document.splat_selection(layer_id)
        if mask is None or (dx_px == 0 and dy_px == 0):
            return
        camera = viewport.camera()
        centre = edits.selected_centres(viewport.document, layer_id).mean(axis=0)
        _, depth = camera.project(centre[None])
        world_per_px = max(float(depth[0]), camera.near) / camera.fy
        right, up = camera.c2w[:3, 0], camera.c2w[:3, 1]
        matrix = np.eye(4)
        matrix[:3, 3] = world_per_px * (dx_px * right - dy_px * up)
        edits.transform_selected(viewport.document, layer_id, matrix)
