"""Camera paths: keyframed cameras flown smoothly through a scene (the fly-through video, and the
views an outpainting scene grows along).

A :class:`CameraPath` holds :class:`CameraKey` s (position, orientation, vertical field of view, time
in seconds). Between keys the position follows a centripetal Catmull-Rom spline through every key
(centripetal: no loops or cusps where keys bunch up), the orientation turns by slerp the short way
round, and the field of view changes linearly. The path has no kinks, but the speed can change at a
key (each key is reached at its own time); with ``constant_speed`` the camera moves at one speed
along the whole path; the keys keep their order and the path its duration, only the moments the
camera passes them change. Paths are written as JSON (:meth:`CameraPath.to_json`), and
:func:`preset` builds LucidDreamer's trajectories scaled to a scene's bounds.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from scene.camera import Camera
from scene.io.atomic import atomic_output
from scene.rotation import axis_angle_to_quat, matrix_to_quat, quat_multiply, quat_to_matrix

FORMAT = "atelier4d-camera-path"
VERSION = 1
_MIN_KNOT = 1e-9  # knot interval floor: keeps the spline finite where two keys share a position
_SAMPLES_PER_SEGMENT = 256  # arc-length table resolution for constant speed


@dataclass(frozen=True)
class CameraKey:
    """One keyframe: where the camera is, which way it looks, how wide, and when."""

    position: tuple[float, float, float]
    """Camera centre in world space."""
    orientation: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    """Unit quaternion (w, x, y, z) of the camera-to-world rotation; the camera looks along its -Z."""
    fov_y_deg: float = 50.0
    """Vertical field of view in degrees, in (0, 180)."""
    time: float = 0.0
    """When the camera is here, in seconds from the start of the path (>= 0)."""

    def __post_init__(self) -> None:
        position = tuple(float(v) for v in self.position)
        quat = tuple(float(v) for v in self.orientation)
        if len(position) != 3 or len(quat) != 4:
            raise ValueError("a camera key has a position of 3 numbers and an orientation of 4 (w, x, y, z)")
        if not all(map(math.isfinite, (*position, *quat, self.fov_y_deg, self.time))):
            raise ValueError("a camera key's numbers must all be finite")
        norm = math.sqrt(sum(q * q for q in quat))
        if norm < 1e-12:
            raise ValueError("a camera key's orientation quaternion must not be zero")
        if abs(norm - 1.0) > 1e-12:  # renormalise only when needed, so a saved key loads back identical
            quat = tuple(q / norm for q in quat)
        if not 0.0 < self.fov_y_deg < 180.0:
            raise ValueError(f"a camera key's field of view must be between 0 and 180 degrees, got {self.fov_y_deg:g}")
        if self.time < 0.0:
            raise ValueError(f"a camera key's time must be >= 0 seconds, got {self.time:g}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "orientation", quat)
        object.__setattr__(self, "fov_y_deg", float(self.fov_y_deg))
        object.__setattr__(self, "time", float(self.time))

    @classmethod
    def from_camera(cls, camera: Camera, time: float) -> "CameraKey":
        """The key that reproduces ``camera``'s pose and field of view at ``time`` (e.g. the current view)."""
        quat = matrix_to_quat(camera.c2w[:3, :3])
        return cls(tuple(camera.position), tuple(quat), camera.fov_y_deg, time)

    @classmethod
    def look_at(
        cls, eye: np.ndarray, target: np.ndarray, time: float, fov_y_deg: float = 50.0, up: np.ndarray = (0.0, 1.0, 0.0)
    ) -> "CameraKey":
        """A key at ``eye`` looking at ``target`` with ``up`` up in the image."""
        return cls.from_camera(Camera.look_at(eye, target, up, width=1, height=1, fov_y_deg=fov_y_deg), time)


@dataclass(frozen=True)
class CameraPath:
    """Camera keys in time order and how to fly between them."""

    keys: tuple[CameraKey, ...]
    """The keyframes (at least one), kept sorted by time; no two share a time."""
    constant_speed: bool = False
    """Move at one speed along the whole path instead of reaching each key at its own time."""

    def __post_init__(self) -> None:
        keys = tuple(sorted(self.keys, key=lambda k: k.time))
        if not keys:
            raise ValueError("a camera path needs at least one key")
        for a, b in zip(keys, keys[1:]):
            if b.time == a.time:
                raise ValueError(f"two camera keys share the time {a.time:g} s; give each key its own time")
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "constant_speed", bool(self.constant_speed))

    # ----------------------------------------------------------------- editing
    def added(self, key: CameraKey) -> "CameraPath":
        """This path with ``key`` added (in time order)."""
        return replace(self, keys=self.keys + (key,))

    def replaced(self, index: int, key: CameraKey) -> "CameraPath":
        """This path with key ``index`` replaced by ``key`` (a dragged or re-timed key)."""
        return replace(self, keys=self.keys[:index] + (key,) + self.keys[index + 1 :])

    def removed(self, index: int) -> "CameraPath":
        """This path without key ``index``."""
        return replace(self, keys=self.keys[:index] + self.keys[index + 1 :])

    def reordered(self, index: int, to: int) -> "CameraPath":
        """Key ``index``'s pose moved to place ``to`` in the order; the key times stay where they were."""
        poses = list(self.keys)
        poses.insert(to, poses.pop(index))
        return replace(self, keys=tuple(replace(p, time=k.time) for p, k in zip(poses, self.keys)))

    def retimed(self, duration: float) -> "CameraPath":
        """This path stretched in time to last ``duration`` seconds (all key times scale alike)."""
        if not (math.isfinite(duration) and duration > 0.0):
            raise ValueError(f"a camera path's duration must be a positive number of seconds, got {duration:g}")
        if self.duration == 0.0:
            raise ValueError("a camera path of one key at time 0 has no duration to stretch; add a second key")
        scale = duration / self.duration
        return replace(self, keys=tuple(replace(k, time=k.time * scale) for k in self.keys))

    # ----------------------------------------------------------------- timing
    @property
    def duration(self) -> float:
        """Seconds from the start (time 0) to the last key."""
        return self.keys[-1].time

    def frames(self, fps: float) -> np.ndarray:
        """The times of a video's frames at ``fps``: ``k / fps`` from 0 up to the last key, both included."""
        if not (math.isfinite(fps) and fps > 0.0):
            raise ValueError(f"frames per second must be a positive number, got {fps:g}")
        return np.arange(math.floor(self.duration * fps + 1e-9) + 1) / fps

    # ----------------------------------------------------------------- evaluation
    def camera_at(self, t: float, width: int, height: int, near: float = 0.01, far: float = 1000.0) -> Camera:
        """The camera at time ``t`` seconds (held at the first key before it and the last key after it)."""
        position, quat, fov = self.sample(np.array([t], dtype=np.float64))
        c2w = np.eye(4)
        c2w[:3, :3] = quat_to_matrix(quat[0])
        c2w[:3, 3] = position[0]
        return Camera(c2w, width, height, float(fov[0]), near=near, far=far)

    def cameras(self, fps: float, width: int, height: int, near: float = 0.01, far: float = 1000.0) -> list[Camera]:
        """The cameras of a video's frames at ``fps`` (frame ``k`` is :meth:`camera_at` ``(k / fps)``)."""
        return [self.camera_at(t, width, height, near, far) for t in self.frames(fps)]

    def sample(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions ``[T, 3]``, unit quaternions ``[T, 4]`` and fields of view ``[T]`` at ``times`` ``[T]`` seconds."""
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if self.constant_speed:
            times = np.interp(times, *self._constant_speed_table)
        return self._at_key_time(times)

    def _at_key_time(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The camera state at ``tau`` on the keys' own timeline."""
        key_times = np.array([k.time for k in self.keys])
        if len(self.keys) == 1:
            key = self.keys[0]
            return (np.tile(key.position, (len(tau), 1)), np.tile(key.orientation, (len(tau), 1)),
                    np.full(len(tau), key.fov_y_deg))
        segment = np.clip(np.searchsorted(key_times, tau, side="right") - 1, 0, len(self.keys) - 2)
        u = np.clip((tau - key_times[segment]) / (key_times[segment + 1] - key_times[segment]), 0.0, 1.0)
        quats = np.array([k.orientation for k in self.keys])
        fovs = np.array([k.fov_y_deg for k in self.keys])
        fov = fovs[segment] + u * (fovs[segment + 1] - fovs[segment])
        return self._spline(segment, u), _slerp(quats[segment], quats[segment + 1], u), fov

    def _spline(self, segment: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Centripetal Catmull-Rom (Barry-Goldman form) through the key positions; the ends are mirrored."""
        points = np.array([k.position for k in self.keys])
        padded = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
        p0, p1, p2, p3 = (padded[segment + i] for i in range(4))

        def knot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.maximum(np.sqrt(np.linalg.norm(b - a, axis=1)), _MIN_KNOT)[:, None]

        s0 = np.zeros((len(u), 1))
        s1 = s0 + knot(p0, p1)
        s2 = s1 + knot(p1, p2)
        s3 = s2 + knot(p2, p3)
        s = s1 + u[:, None] * (s2 - s1)
        a1 = p0 + (s - s0) / (s1 - s0) * (p1 - p0)
        a2 = p1 + (s - s1) / (s2 - s1) * (p2 - p1)
        a3 = p2 + (s - s2) / (s3 - s2) * (p3 - p2)
        b1 = a1 + (s - s0) / (s2 - s0) * (a2 - a1)
        b2 = a2 + (s - s1) / (s3 - s1) * (a3 - a2)
        return b1 + (s - s1) / (s2 - s1) * (b2 - b1)

    @cached_property
    def _constant_speed_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Clock time -> key time, sampled: the time spent on moving segments shared out by arc length.

        Segments where the camera stands still (turning in place) keep their own duration, so a turn
        is not squeezed into an instant.
        """
        key_times = np.array([k.time for k in self.keys])
        if len(key_times) == 1:
            return key_times, key_times
        u = np.linspace(0.0, 1.0, _SAMPLES_PER_SEGMENT + 1)
        tau = np.concatenate([a + u[:-1] * (b - a) for a, b in zip(key_times, key_times[1:])] + [key_times[-1:]])
        positions = self._at_key_time(tau)[0]
        steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
        per_segment = steps.reshape(-1, _SAMPLES_PER_SEGMENT)
        lengths = per_segment.sum(axis=1)
        moving = lengths > 1e-9 * max(lengths.sum(), 1e-300)
        durations = np.diff(key_times)
        speed = durations[moving].sum() / lengths[moving].sum() if moving.any() else 0.0
        still = np.repeat(durations[:, None] / _SAMPLES_PER_SEGMENT, _SAMPLES_PER_SEGMENT, axis=1)
        dt = np.where(moving[:, None], per_segment * speed, still)
        clock = key_times[0] + np.concatenate([[0.0], np.cumsum(dt)])
        return clock, tau

    # ----------------------------------------------------------------- JSON
    def to_json(self) -> str:
        """The path as JSON text (see :meth:`from_json`)."""
        data = {
            "format": FORMAT,
            "version": VERSION,
            "constant_speed": self.constant_speed,
            "keys": [
                {"time": k.time, "position": list(k.position), "orientation": list(k.orientation), "fov_y_deg": k.fov_y_deg}
                for k in self.keys
            ],
        }
        return json.dumps(data, indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "CameraPath":
        """The path in JSON ``text``; a ``ValueError`` saying what is wrong when it is not a valid camera path."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ValueError(f"not a camera path: the JSON is broken at {where} ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ValueError("not a camera path: expected a JSON object with 'keys'")
        if data.get("format", FORMAT) != FORMAT:
            raise ValueError(f"not a camera path: the format is {data.get('format')!r}, expected {FORMAT!r}")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("camera path: 'version' is missing or not a whole number")
        if version > VERSION:
            raise ValueError(
                f"camera path: version {version} is newer than this Atelier4D reads ({VERSION}); update Atelier4D"
            )
        constant_speed = data.get("constant_speed", False)
        if not isinstance(constant_speed, bool):
            raise ValueError("camera path: 'constant_speed' must be true or false")
        keys = data.get("keys")
        if not isinstance(keys, list) or not keys:
            raise ValueError("camera path: 'keys' must be a list of at least one key")
        return cls(tuple(_key_from_json(i, entry) for i, entry in enumerate(keys)), constant_speed)

    def save(self, path: str | os.PathLike) -> None:
        """Write the path as JSON; a failure leaves any file already at ``path`` untouched."""
        with atomic_output(path) as tmp:
            tmp.write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CameraPath":
        """The path saved at ``path``; a ``ValueError`` naming the file when it cannot be read as one."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the camera path ({exc.strerror or exc})") from None
        try:
            return cls.from_json(text)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


def _key_from_json(index: int, entry: object) -> CameraKey:
    where = f"camera path: key {index + 1}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} is not an object with time, position, orientation and fov_y_deg")
    missing = [name for name in ("time", "position", "orientation", "fov_y_deg") if name not in entry]
    if missing:
        raise ValueError(f"{where} has no {', '.join(repr(m) for m in missing)}")

    def numbers(name: str, count: int | None) -> list[float]:
        value = entry[name]
        values = value if count is not None else [value]
        if (count is not None and (not isinstance(value, list) or len(value) != count)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            wanted = "a number" if count is None else f"a list of {count} numbers"
            raise ValueError(f"{where}: {name!r} must be {wanted}, got {value!r}")
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"{where}: {name!r} must be finite, got {value!r}")
        return [float(v) for v in values]

    time, = numbers("time", None)
    fov, = numbers("fov_y_deg", None)
    try:
        return CameraKey(tuple(numbers("position", 3)), tuple(numbers("orientation", 4)), fov, time)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _slerp(q0: np.ndarray, q1: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Spherical interpolation ``[T, 4]`` from ``q0`` to ``q1`` (both ``[T, 4]``) at ``u`` ``[T]``, the short way."""
    dot = np.sum(q0 * q1, axis=1)
    q1 = np.where(dot[:, None] < 0.0, -q1, q1)  # q and -q are the same rotation: take the nearer one
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-6  # (almost) the same orientation: linear is exact enough and avoids 0/0
    safe = np.where(near, 1.0, sin_theta)
    w0 = np.where(near, 1.0 - u, np.sin((1.0 - u) * theta) / safe)
    w1 = np.where(near, u, np.sin(u * theta) / safe)
    q = w0[:, None] * q0 + w1[:, None] * q1
    return q / np.linalg.norm(q, axis=1, keepdims=True)


# --------------------------------------------------------------------- presets
_DEGREES_PER_SECOND = 30.0  # how fast the presets turn
_STEP_DEG = 15.0  # key spacing of the turning presets
_SECONDS_PER_STOP = 2.0  # pace of the moving presets


def _yaw_pitch(yaw_deg: float, pitch_deg: float) -> tuple[float, ...]:
    """Orientation turned ``yaw_deg`` left about +Y after tilting ``pitch_deg`` up about +X (0, 0 looks along -Z)."""
    yaw = axis_angle_to_quat(np.array([0.0, 1.0, 0.0]), math.radians(yaw_deg))
    pitch = axis_angle_to_quat(np.array([1.0, 0.0, 0.0]), math.radians(pitch_deg))
    return tuple(quat_multiply(yaw, pitch))


def _turning(eye: np.ndarray, stops: list[tuple[float, float]], fov_y_deg: float) -> CameraPath:
    """A camera standing at ``eye`` turning through ``(yaw, pitch)`` stops in degrees, at an even pace."""
    angles = [stops[0]]
    for (y0, p0), (y1, p1) in zip(stops, stops[1:]):
        n = max(1, math.ceil(max(abs(y1 - y0), abs(p1 - p0)) / _STEP_DEG))
        angles += [(y0 + (y1 - y0) * i / n, p0 + (p1 - p0) * i / n) for i in range(1, n + 1)]
    time, keys = 0.0, []
    for i, (yaw, pitch) in enumerate(angles):
        if i:
            time += math.hypot(yaw - angles[i - 1][0], pitch - angles[i - 1][1]) / _DEGREES_PER_SECOND
        keys.append(CameraKey(tuple(eye), _yaw_pitch(yaw, pitch), fov_y_deg, time))
    return CameraPath(tuple(keys))


def _moving(eyes: list[np.ndarray], fov_y_deg: float) -> CameraPath:
    """A camera moving through ``eyes``, one every ``_SECONDS_PER_STOP``, at one speed, looking ahead (-Z)."""
    ahead = np.array([0.0, 0.0, -1.0])
    keys = [CameraKey.look_at(eye, eye + ahead, i * _SECONDS_PER_STOP, fov_y_deg) for i, eye in enumerate(eyes)]
    return CameraPath(tuple(keys), constant_speed=True)


def _front(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The middle of the box's front face (its +Z side): where the presets stand to look into a scene."""
    return np.array([0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]), hi[2]])


def lookaround(lo: np.ndarray, hi: np.ndarray, fov_y_deg: float = 60.0) -> CameraPath:
    """Standing at the front, sweep 60 degrees either side, looking up, level, then down (LucidDreamer's lookaround)."""
    return _turning(_front(lo, hi), [(-60, 22.5), (60, 22.5), (60, 0), (-60, 0), (-60, -22.5), (60, -22.5)], fov_y_deg)


def lookdown(lo: np.ndarray, hi: np.ndarray, fov_y_deg: float = 60.0) -> CameraPath:
    """Standing at the front, sweep 60 degrees either side level, then again tilted 22.5 degrees down."""
    sweep = [(0, 0), (60, 0), (-60, 0), (0, 0)]
    return _turning(_front(lo, hi), sweep + [(yaw, -22.5) for yaw, _ in sweep], fov_y_deg)


def rotate360(lo: np.ndarray, hi: np.ndarray, fov_y_deg: float = 60.0) -> CameraPath:
    """Standing in the middle of the scene, turn a full circle, looking level (a panorama)."""
    return _turning(0.5 * (np.asarray(lo) + np.asarray(hi)), [(0, 0), (360, 0)], fov_y_deg)


def forward(lo: np.ndarray, hi: np.ndarray, fov_y_deg: float = 60.0) -> CameraPath:
    """Walk in from the front to the middle of the scene, looking ahead (-Z)."""
    front, depth = _front(lo, hi), float(hi[2] - lo[2])
    return _moving([front - np.array([0.0, 0.0, depth * f]) for f in (0.0, 0.25, 0.5)], fov_y_deg)


def backforth(lo: np.ndarray, hi: np.ndarray, fov_y_deg: float = 60.0) -> CameraPath:
    """Step back out of the scene by half its depth and return, looking ahead (-Z) all along."""
    front, depth = _front(lo, hi), float(hi[2] - lo[2])
    return _moving([front + np.array([0.0, 0.0, depth * f]) for f in (0.0, 0.25, 0.5, 0.25, 0.0)], fov_y_deg)


PRESETS: dict[str, Callable[..., CameraPath]] = {
    "lookaround": lookaround,
    "lookdown": lookdown,
    "rotate360": rotate360,
    "forward": forward,
    "backforth": backforth,
}


def preset(
    name: str, lo: np.ndarray, hi: np.ndarray, *, fov_y_deg: float = 60.0, duration: float | None = None
) -> CameraPath:
    """The preset path ``name`` fitted to the scene box ``lo``-``hi``, optionally stretched to ``duration`` seconds."""
    if name not in PRESETS:
        raise ValueError(f"no camera path preset called {name!r}; choose one of {', '.join(PRESETS)}")
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    if lo.shape != (3,) or hi.shape != (3,) or not np.all(np.isfinite(lo) & np.isfinite(hi)) or np.any(hi < lo):
        raise ValueError("a camera path preset needs a scene box: two finite corners, low then high")
    path = PRESETS[name](lo, hi, fov_y_deg)
    return path if duration is None else path.retimed(duration)
