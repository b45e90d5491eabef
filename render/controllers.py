"""Camera controllers: orbit / pan / zoom around a target, fly, and framing a bounding box.

Pure maths on :class:`scene.Camera` (no Qt, no GL): the studio turns mouse and key events into
these calls and asks for :meth:`camera` each frame. Pixel arguments are mouse deltas (y down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from scene.camera import Camera

DEG_PER_PX = 0.3
MAX_PITCH = 89.0
HomeView = Literal["front", "three-quarter", "side", "top"]
HOME_VIEWS: dict[HomeView, tuple[float, float]] = {  # (yaw, pitch) in degrees: where Reset View looks from
    "front": (0.0, 0.0),  # from +Z
    "three-quarter": (30.0, 20.0),
    "side": (90.0, 0.0),  # from +X
    "top": (0.0, MAX_PITCH),
}


def _direction(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Unit vector from the target towards the eye: yaw about +Y (0 = +Z), pitch up from the ground."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    return np.array([math.cos(pitch) * math.sin(yaw), math.sin(pitch), math.cos(pitch) * math.cos(yaw)])


def _clip_planes(distance: float, radius: float) -> tuple[float, float]:
    """Near and far planes that keep depth precision around an object ``radius`` at ``distance``."""
    return max(1e-4, 1e-3 * distance), max(10.0, 100.0 * (distance + radius))


@dataclass
class OrbitController:
    """Turntable camera: the eye circles ``target`` at ``distance``, +Y stays up."""

    target: np.ndarray
    distance: float = 5.0
    yaw_deg: float = 0.0
    pitch_deg: float = 15.0
    fov_y_deg: float = 50.0

    def __post_init__(self) -> None:
        self.target = np.asarray(self.target, dtype=np.float64).reshape(3).copy()

    @classmethod
    def from_camera(cls, camera: Camera, distance: float) -> "OrbitController":
        """The orbit that shows what ``camera`` shows, turning about the point ``distance`` ahead of it
        (a roll, which a turntable cannot have, is dropped)."""
        forward = camera.forward
        back = -forward
        yaw = math.degrees(math.atan2(back[0], back[2])) % 360.0
        pitch = float(np.clip(math.degrees(math.asin(np.clip(back[1], -1.0, 1.0))), -MAX_PITCH, MAX_PITCH))
        return cls(camera.position + distance * forward, distance, yaw, pitch, camera.fov_y_deg)

    @property
    def eye(self) -> np.ndarray:
        return self.target + self.distance * _direction(self.yaw_deg, self.pitch_deg)

    def orbit(self, dx_px: float, dy_px: float) -> None:
        """Turn around the target: drag right turns the scene right, drag down looks from above."""
        self.yaw_deg = (self.yaw_deg - dx_px * DEG_PER_PX) % 360.0
        self.pitch_deg = float(np.clip(self.pitch_deg + dy_px * DEG_PER_PX, -MAX_PITCH, MAX_PITCH))

    def pan(self, dx_px: float, dy_px: float, viewport_height: int) -> None:
        """Slide target and eye in the view plane so the point under the mouse follows it."""
        cam = self.camera(viewport_height, viewport_height)
        world_per_px = self.distance / cam.fy
        right, up = cam.c2w[:3, 0], cam.c2w[:3, 1]
        self.target -= world_per_px * (dx_px * right - dy_px * up)

    def zoom(self, factor: float) -> None:
        """Move towards the target (``factor`` < 1) or away (> 1)."""
        self.distance = float(np.clip(self.distance * factor, 1e-4, 1e7))

    def frame(self, lo: np.ndarray, hi: np.ndarray, aspect: float = 1.0) -> None:
        """Aim at the box ``lo``-``hi`` from the current direction, close enough to fill the view."""
        self.target, self.distance = framing(lo, hi, self.fov_y_deg, aspect)

    def camera(self, width: int, height: int) -> Camera:
        near, far = _clip_planes(self.distance, self.distance)
        return Camera.look_at(self.eye, self.target, width=width, height=height, fov_y_deg=self.fov_y_deg, near=near, far=far)


@dataclass
class FlyController:
    """First-person camera: look with the mouse, move along the view axes."""

    position: np.ndarray
    yaw_deg: float = 0.0  # 0 looks towards -Z
    pitch_deg: float = 0.0
    fov_y_deg: float = 50.0
    near: float = 0.01
    far: float = 1000.0

    def __post_init__(self) -> None:
        self.position = np.asarray(self.position, dtype=np.float64).reshape(3).copy()

    @property
    def forward(self) -> np.ndarray:
        return -_direction(self.yaw_deg, -self.pitch_deg)

    def look(self, dx_px: float, dy_px: float) -> None:
        """Turn the head: mouse right looks right, mouse down looks down."""
        self.yaw_deg = (self.yaw_deg - dx_px * DEG_PER_PX) % 360.0
        self.pitch_deg = float(np.clip(self.pitch_deg - dy_px * DEG_PER_PX, -MAX_PITCH, MAX_PITCH))

    def move(self, forward: float = 0.0, right: float = 0.0, up: float = 0.0) -> None:
        """Move by world distances along the view direction, its right and world up."""
        f = self.forward
        r = np.cross(f, [0.0, 1.0, 0.0])
        r /= np.linalg.norm(r)
        self.position += forward * f + right * r + up * np.array([0.0, 1.0, 0.0])

    def camera(self, width: int, height: int) -> Camera:
        return Camera.look_at(
            self.position, self.position + self.forward, width=width, height=height,
            fov_y_deg=self.fov_y_deg, near=self.near, far=self.far,
        )


def framing(lo: np.ndarray, hi: np.ndarray, fov_y_deg: float, aspect: float = 1.0) -> tuple[np.ndarray, float]:
    """Centre and distance at which the bounding sphere of ``lo``-``hi`` fills the smaller fov."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    centre = 0.5 * (lo + hi)
    radius = max(0.5 * float(np.linalg.norm(hi - lo)), 1e-3)
    half_fov = math.radians(fov_y_deg) * 0.5
    if aspect < 1.0:
        half_fov = math.atan(math.tan(half_fov) * aspect)
    return centre, radius / math.sin(half_fov) * 1.05


def frame_bounds(
    lo: np.ndarray,
    hi: np.ndarray,
    width: int,
    height: int,
    fov_y_deg: float = 50.0,
    yaw_deg: float = 0.0,
    pitch_deg: float = 20.0,
) -> Camera:
    """A camera showing the whole box ``lo``-``hi``; by default from the front (+Z), a little above."""
    target, distance = framing(lo, hi, fov_y_deg, width / height)
    orbit = OrbitController(target, distance, yaw_deg, pitch_deg, fov_y_deg)
    return orbit.camera(width, height)
