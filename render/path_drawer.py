"""Camera paths drawn over the picture: the flown curve as a polyline and a small frustum per key.

Paths are not layers (a video of the scene must not show them), so they get no payload drawer:
:class:`CameraPathDrawer` draws them over a finished picture, like the selection boxes and the
gizmo, with :class:`render.helpers.LineDrawer`. Each key's frustum keeps one size on screen at any
distance; the selected key is drawn in the highlight colour, paths other than the current one dimmer.
:func:`key_pixels` and :func:`pick_key` are the picking maths the studio needs to drag a key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

import moderngl

from render.helpers import HIGHLIGHT, LineDrawer, Lines
from scene.camera import Camera
from scene.camera_path import CameraPath
from scene.rotation import quat_to_matrix

PATH_COLOR = (0.2, 0.8, 1.0, 1.0)
"""The current path's curve and keys."""
OTHER_PATH_COLOR = (0.35, 0.5, 0.6, 0.8)
"""Every other path's."""
KEY_COLOR = HIGHLIGHT
"""The selected key's frustum."""
SAMPLES_PER_SEGMENT = 32
FRUSTUM_PX = 36.0
"""How long a key's frustum looks on screen."""
FRUSTUM_ASPECT = 16.0 / 9.0


@dataclass(frozen=True)
class PathOverlay:
    """One path as the viewport wants it drawn: ``current`` in the bright colour, ``selected_key`` lit."""

    path: CameraPath
    current: bool = False
    selected_key: int | None = None


def curve_lines(path: CameraPath, color: tuple = PATH_COLOR) -> Lines:
    """The flown curve as a polyline (segment pairs), sampled evenly in time between the keys."""
    times = np.linspace(0.0, path.duration, SAMPLES_PER_SEGMENT * max(1, len(path.keys) - 1) + 1)
    points = path.sample(times)[0]
    if len(points) < 2:
        return np.zeros((0, 3)), np.zeros((0, 4))
    positions = np.stack([points[:-1], points[1:]], 1).reshape(-1, 3)
    return positions, np.tile(color, (len(positions), 1))


def frustum_lines(path: CameraPath, index: int, camera: Camera, color: tuple = PATH_COLOR) -> Lines:
    """Key ``index``'s frustum: four edges from its eye to a picture frame ahead, the frame, and a tick
    above the frame's top edge saying which way is up. ``FRUSTUM_PX`` long on ``camera``'s screen."""
    key = path.keys[index]
    eye = np.asarray(key.position, dtype=np.float64)
    _, depth = camera.project(eye[None])
    length = FRUSTUM_PX * max(float(depth[0]), camera.near) / camera.fy
    rotation = quat_to_matrix(np.asarray(key.orientation, dtype=np.float64))
    right, up, back = rotation[:, 0], rotation[:, 1], rotation[:, 2]
    half_h = length * math.tan(math.radians(key.fov_y_deg) / 2.0)
    half_w = half_h * FRUSTUM_ASPECT
    centre = eye - back * length
    corners = [centre + sx * half_w * right + sy * half_h * up for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    tick = centre + up * half_h * 1.5
    segments = [p for c in corners for p in (eye, c)]
    segments += [p for k in range(4) for p in (corners[k], corners[(k + 1) % 4])]
    segments += [corners[2], tick, tick, corners[3]]
    positions = np.array(segments)
    return positions, np.tile(color, (len(positions), 1))


def path_lines(overlay: PathOverlay, camera: Camera) -> list[Lines]:
    """Everything drawn for one path: its curve and its keys' frustums."""
    color = PATH_COLOR if overlay.current else OTHER_PATH_COLOR
    batches = [curve_lines(overlay.path, color)]
    for index in range(len(overlay.path.keys)):
        lit = overlay.current and index == overlay.selected_key
        batches.append(frustum_lines(overlay.path, index, camera, KEY_COLOR if lit else color))
    return batches


def key_pixels(path: CameraPath, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Where the keys' eyes are on ``camera``'s screen: pixels ``[K, 2]`` (y down) and depths ``[K]``."""
    return camera.project(np.array([k.position for k in path.keys]))


def pick_key(path: CameraPath, camera: Camera, x: float, y: float, tolerance_px: float = FRUSTUM_PX / 2) -> int | None:
    """The key whose frustum (its eye, or the frame ahead of it) is nearest pixel ``(x, y)``, within
    ``tolerance_px``; None when none is, or it is behind the camera."""
    best, best_dist = None, tolerance_px
    for index in range(len(path.keys)):
        positions, _ = frustum_lines(path, index, camera)
        uv, depth = camera.project(positions)
        ok = depth > camera.near
        if not ok.any():
            continue
        dist = float(np.linalg.norm(uv[ok] - np.array([x, y]), axis=1).min())
        if dist < best_dist:
            best, best_dist = index, dist
    return best


class CameraPathDrawer:
    """Draws :class:`PathOverlay` s over whatever ``framebuffer`` holds, at its full resolution."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.lines = LineDrawer(ctx)

    def draw(self, framebuffer: moderngl.Framebuffer, overlays: Sequence[PathOverlay], camera: Camera) -> None:
        if not overlays:
            return
        out_cam = camera.resized(*framebuffer.size)
        framebuffer.use()
        self.ctx.enable_only(moderngl.BLEND)
        self.lines.draw([b for overlay in overlays for b in path_lines(overlay, out_cam)], out_cam.projection() @ out_cam.w2c())

    def release(self) -> None:
        self.lines.release()


__all__ = ["CameraPathDrawer", "PathOverlay", "curve_lines", "frustum_lines", "key_pixels", "path_lines", "pick_key"]
