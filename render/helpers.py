"""Viewport helpers drawn as coloured lines: ground grid, world axes, selection boxes and the
transform gizmo, plus the picking maths the studio needs to drive the gizmo with a mouse.

Geometry functions return ``(positions [M, 3], colors [M, 4])`` for GL_LINES (pairs of points);
:class:`LineDrawer` draws such batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

import moderngl

from render.glutil import set_uniforms
from scene.camera import Camera
from scene.rotation import quat_to_matrix
from shaders import load

Axis = Literal["x", "y", "z"]
AXES: tuple[Axis, ...] = ("x", "y", "z")
AXIS_COLORS = {"x": (0.9, 0.2, 0.2, 1.0), "y": (0.3, 0.85, 0.3, 1.0), "z": (0.25, 0.45, 1.0, 1.0)}
HIGHLIGHT = (1.0, 0.85, 0.1, 1.0)
SELECTION_COLOR = (1.0, 0.55, 0.1, 1.0)
CIRCLE_SEGMENTS = 48

Lines = tuple[np.ndarray, np.ndarray]  # positions [M, 3], colours [M, 4]


@dataclass(frozen=True)
class Gizmo:
    """A transform gizmo as the studio wants it drawn: where, which tool, which axis is lit.

    ``rotation`` (wxyz) orients the handles (identity = world axes). ``size_px`` is the handle
    length on screen, kept constant at any distance.
    """

    position: tuple[float, float, float]
    mode: Literal["translate", "rotate", "scale"] = "translate"
    rotation: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    size_px: float = 90.0
    active_axis: Axis | None = None

    def axes_matrix(self) -> np.ndarray:
        """Columns are the handle directions x, y, z in world space."""
        return quat_to_matrix(np.asarray(self.rotation, dtype=np.float64))

    def world_size(self, camera: Camera) -> float:
        """Handle length in world units that appears ``size_px`` long at the gizmo's depth."""
        _, depth = camera.project(np.asarray(self.position)[None])
        return float(self.size_px * max(depth[0], camera.near) / camera.fy)


def grid_lines(half_extent: float = 10.0, step: float = 1.0) -> Lines:
    """Lines on the ground plane (y = 0) every ``step``, skipping the two axes' own lines."""
    ticks = np.arange(-half_extent, half_extent + 0.5 * step, step)
    ticks = ticks[np.abs(ticks) > 1e-9]
    starts = np.concatenate([np.stack([ticks, 0 * ticks, -half_extent + 0 * ticks], 1),
                             np.stack([-half_extent + 0 * ticks, 0 * ticks, ticks], 1)])
    ends = np.concatenate([np.stack([ticks, 0 * ticks, half_extent + 0 * ticks], 1),
                           np.stack([half_extent + 0 * ticks, 0 * ticks, ticks], 1)])
    positions = np.stack([starts, ends], 1).reshape(-1, 3)
    return positions, np.tile([0.45, 0.45, 0.45, 0.6], (len(positions), 1))


def axes_lines(length: float = 10.0) -> Lines:
    """The world X, Y and Z axes from the origin, red, green and blue."""
    positions = np.concatenate([[np.zeros(3), np.eye(3)[i] * length] for i in range(3)])
    colors = np.repeat([AXIS_COLORS[a] for a in AXES], 2, axis=0)
    return positions, colors


def box_lines(lo: np.ndarray, hi: np.ndarray, color: tuple = SELECTION_COLOR) -> Lines:
    """The 12 edges of the axis-aligned box ``lo``-``hi``."""
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    edges = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
    positions = corners[np.array(edges).ravel()]
    return positions, np.tile(color, (len(positions), 1))


def gizmo_lines(gizmo: Gizmo, camera: Camera) -> Lines:
    """The gizmo's handles: arrows (translate), rings (rotate) or boxed axes (scale)."""
    size = gizmo.world_size(camera)
    centre = np.asarray(gizmo.position, dtype=np.float64)
    frame = gizmo.axes_matrix()
    positions, colors = [], []
    for i, axis in enumerate(AXES):
        color = HIGHLIGHT if axis == gizmo.active_axis else AXIS_COLORS[axis]
        segments = _handle_segments(gizmo.mode, frame, i, size) + centre
        positions.append(segments)
        colors.append(np.tile(color, (len(segments), 1)))
    return np.concatenate(positions), np.concatenate(colors)


def pick_gizmo_axis(gizmo: Gizmo, camera: Camera, x: float, y: float, tolerance_px: float = 8.0) -> Axis | None:
    """The handle under the mouse at pixel ``(x, y)`` (y down, as Qt gives it), or None."""
    size = gizmo.world_size(camera)
    centre = np.asarray(gizmo.position, dtype=np.float64)
    frame = gizmo.axes_matrix()
    best, best_dist = None, tolerance_px
    for i, axis in enumerate(AXES):
        segments = _handle_segments(gizmo.mode, frame, i, size) + centre
        uv, depth = camera.project(segments)
        a, b = uv[0::2], uv[1::2]
        ok = (depth[0::2] > camera.near) & (depth[1::2] > camera.near)
        if not ok.any():
            continue
        dist = _point_segment_distance(np.array([x, y]), a[ok], b[ok]).min()
        if dist < best_dist:
            best, best_dist = axis, dist
    return best


def mouse_ray(camera: Camera, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """World origin and unit direction of the ray through pixel ``(x, y)`` (y down)."""
    cx, cy = camera.principal_point
    local = np.array([(x - cx) / camera.fx, (y - cy) / camera.fy, 1.0])  # OpenCV camera frame
    direction = camera.w2c_opencv()[:3, :3].T @ local
    return camera.position, direction / np.linalg.norm(direction)


def drag_along_axis(gizmo: Gizmo, camera: Camera, axis: Axis, start: tuple[float, float], end: tuple[float, float]) -> float:
    """World distance along ``axis`` that a mouse drag from ``start`` to ``end`` (pixels) means.

    Each mouse position maps to the point of the handle's line nearest its view ray, so the
    object stays under the mouse; translate and scale handles use it. 0 when the axis points at
    the camera (no usable drag direction).
    """
    direction = gizmo.axes_matrix()[:, AXES.index(axis)]
    centre = np.asarray(gizmo.position, dtype=np.float64)
    params = [_nearest_on_line(centre, direction, *mouse_ray(camera, *p)) for p in (start, end)]
    if None in params:
        return 0.0
    return params[1] - params[0]


def _nearest_on_line(point: np.ndarray, direction: np.ndarray, origin: np.ndarray, ray: np.ndarray) -> float | None:
    """Parameter t of the point ``point + t direction`` closest to the ray, or None when parallel."""
    b = float(direction @ ray)
    denom = 1.0 - b * b
    if denom < 1e-6:
        return None
    w = point - origin
    return float((b * (ray @ w) - direction @ w) / denom)


class LineDrawer:
    """Draws line batches (positions + colours) with one program and a growing buffer."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.program = ctx.program(vertex_shader=load("lines.vert"), fragment_shader=load("lines.frag"))
        self._buffer = ctx.buffer(reserve=1024 * 28, dynamic=True)
        self._vao = ctx.vertex_array(self.program, [(self._buffer, "3f 4f", "a_position", "a_color")])

    def draw(self, batches: list[Lines], view_proj: np.ndarray) -> None:
        batches = [b for b in batches if len(b[0])]
        if not batches:
            return
        data = np.concatenate([np.hstack([p, c]) for p, c in batches]).astype(np.float32)
        if data.nbytes > self._buffer.size:
            self._buffer.orphan(data.nbytes)
        self._buffer.write(data.tobytes())
        set_uniforms(self.program, u_mvp=view_proj)
        self._vao.render(moderngl.LINES, vertices=len(data))

    def release(self) -> None:
        for obj in (self._vao, self._buffer, self.program):
            obj.release()


def _handle_segments(mode: str, frame: np.ndarray, index: int, size: float) -> np.ndarray:
    """Line segments (point pairs, relative to the gizmo centre) of one handle."""
    axis = frame[:, index]
    u, v = frame[:, (index + 1) % 3], frame[:, (index + 2) % 3]
    if mode == "rotate":
        angles = np.linspace(0.0, 2.0 * np.pi, CIRCLE_SEGMENTS + 1)
        ring = size * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v)
        return np.stack([ring[:-1], ring[1:]], 1).reshape(-1, 3)
    tip = axis * size
    shaft = [np.zeros(3), tip]
    if mode == "translate":
        head = 0.15 * size
        marks = [tip, tip - axis * head + u * head * 0.5, tip, tip - axis * head - u * head * 0.5,
                 tip, tip - axis * head + v * head * 0.5, tip, tip - axis * head - v * head * 0.5]
    else:  # scale: a small square across the tip
        h = 0.08 * size
        corners = [tip + h * (su * u + sv * v) for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        marks = [p for k in range(4) for p in (corners[k], corners[(k + 1) % 4])]
    return np.array(shaft + marks)


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0.0, 1.0)
    return np.linalg.norm(a + t[:, None] * ab - p, axis=1)
