"""The Path Edit viewport tool: pick a key of the current camera path by its frustum and drag it.

The key moves in the view plane at its own depth, so it stays under the mouse; the path follows
while the mouse moves, and the whole drag is one undo step. Pressing away from every key leaves
the left button to navigation. Which path is current is the viewport's ``path_selection`` (the
Paths panel sets it); ``picked`` tells the panel which key the artist grabbed.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent

from render.path_drawer import pick_key
from scene import Camera
from studio.viewport import Viewport


@dataclass
class _Drag:
    path_id: str
    index: int
    start: QPointF
    position: np.ndarray  # the key's position when the drag began
    camera: Camera
    stroke: ExitStack


class PathEditTool:
    """Drag the keys of the current camera path in the view plane."""

    name = "path"

    def __init__(self, picked: Callable[[str, int], None] = lambda path_id, index: None) -> None:
        self.picked = picked
        self._drag: _Drag | None = None

    def press(self, viewport: Viewport, event: QMouseEvent) -> bool:
        path_id = viewport.path_selection[0]
        if event.button() != Qt.MouseButton.LeftButton or path_id is None or not viewport.show_paths:
            return False
        path = viewport.document.named_path(path_id).path
        camera = viewport.camera()
        ratio = viewport.devicePixelRatioF()
        index = pick_key(path, camera, event.position().x() * ratio, event.position().y() * ratio)
        if index is None:
            return False
        viewport.set_path_selection(path_id, index)
        self.picked(path_id, index)
        stroke = ExitStack()
        stroke.enter_context(viewport.document.undo_stack.macro(f"Move key {index + 1}"))
        position = np.asarray(path.keys[index].position, dtype=np.float64)
        self._drag = _Drag(path_id, index, event.position(), position, camera, stroke)
        return True

    def move(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if self._drag is None:
            return False
        delta = (event.position() - self._drag.start) * viewport.devicePixelRatioF()
        self.drag_to(viewport, delta.x(), delta.y())
        return True

    def release(self, viewport: Viewport, event: QMouseEvent) -> bool:
        if self._drag is None:
            return False
        self.move(viewport, event)
        drag, self._drag = self._drag, None
        drag.stroke.close()
        return True

    def drag_to(self, viewport: Viewport, dx_px: float, dy_px: float) -> None:
        """Put the grabbed key ``(dx_px, dy_px)`` device pixels from where it was when the drag began."""
        drag = self._drag
        camera = drag.camera
        _, depth = camera.project(drag.position[None])
        world_per_px = max(float(depth[0]), camera.near) / camera.fy
        right, up = camera.c2w[:3, 0], camera.c2w[:3, 1]
        position = drag.position + world_per_px * (dx_px * right - dy_px * up)
        path = viewport.document.named_path(drag.path_id).path
        key = replace(path.keys[drag.index], position=tuple(position))
        viewport.document.set_path(drag.path_id, path.replaced(drag.index, key), text=f"Move key {drag.index + 1}")
