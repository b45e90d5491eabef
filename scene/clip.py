"""``GaussianClip``: Gaussian splats that move, and the artist's edits layered over the motion.

A clip is a canonical :class:`GaussianCloud` plus motion sampled on a time grid (``fps``): per
frame, the centres, rotations, log-scales and opacity logits of every splat. A channel that never
changes is left ``None`` (the canonical's at every frame), so a clip that only moves its splats
costs a third of one that also turns and grows them. Between frames, positions are interpolated
linearly or smoothly (uniform Catmull-Rom), the other channels linearly (rotations by nlerp).
Frames whose splats are not the same splats (counts differ, as in some PLY sequences) make a
*flipbook*: ``canonical`` holds every frame's splats one frame after another and frame ``k``
shows ``canonical[frame_starts[k]:frame_starts[k + 1]]``, without interpolation.

Edits never touch the motion: :class:`ClipTiming` (offset, trim, speed, reverse, loop) maps the
document's time to the clip's own, and :class:`Group` s move named sets of splats by keyframed
transforms about a pivot, on top of the motion. :meth:`GaussianClip.bake` writes both into new
motion on demand. Everything here is the CPU reference the renderer's shaders follow:
:meth:`GaussianClip.position_taps` and :meth:`GaussianClip.frame_at` give the frames and weights
to blend, :meth:`Group.matrix_at` each group's matrix, :meth:`GaussianClip.at` the whole result.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Mapping, Sequence

import numpy as np

from scene.gaussians import GaussianCloud
from scene.rotation import normalize_quats, quat_multiply, quat_to_matrix
from scene.transform import Transform
from scene.validation import as_array

Interpolation = Literal["linear", "smooth"]
INTERPOLATIONS: tuple[str, ...] = ("linear", "smooth")
SNAP = 1e-6  # a time within this many frames of a frame is that frame, exactly (no blending)
KEY_TIME_TOLERANCE = 1e-6  # seconds: keys closer than this are at the same time
MOTION_CHANNELS = ("means", "quats", "log_scales", "opacity_logits")


def _check_interpolation(owner: str, value: str) -> None:
    if value not in INTERPOLATIONS:
        raise ValueError(f"{owner}: interpolation must be one of {', '.join(INTERPOLATIONS)}, got {value!r}")


@dataclass(frozen=True)
class ClipTiming:
    """Where and how a clip plays on the document's timeline (all non-destructive)."""

    offset: float = 0.0  # document seconds where the clip's first played moment is
    trim_in: float = 0.0  # source seconds: the first moment played
    trim_out: float | None = None  # source seconds: where playing stops; None: the clip's end
    speed: float = 1.0  # > 0: 2 plays twice as fast (and half as long)
    reverse: bool = False  # play the trimmed range backwards
    loop: bool = False  # repeat the trimmed range after ``offset`` for ever

    def __post_init__(self) -> None:
        for name in ("offset", "trim_in", "speed"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"ClipTiming.{name} must be a finite number, got {value!r}")
        if self.speed <= 0:
            raise ValueError(f"ClipTiming.speed must be above 0, got {self.speed}")
        if self.trim_in < 0:
            raise ValueError(f"ClipTiming.trim_in must not be negative, got {self.trim_in}")
        if self.trim_out is not None and not (math.isfinite(self.trim_out) and self.trim_out > self.trim_in):
            raise ValueError(f"ClipTiming.trim_out must come after trim_in ({self.trim_in}), got {self.trim_out}")

    def span(self, duration: float) -> tuple[float, float]:
        """The played source range ``(in, out)`` within a clip of ``duration`` source seconds."""
        out = duration if self.trim_out is None else min(self.trim_out, duration)
        start = min(self.trim_in, out)
        return start, out

    def played_length(self, duration: float) -> float:
        """Document seconds one pass over the trimmed range takes."""
        start, out = self.span(duration)
        return (out - start) / self.speed

    def source_time(self, time: float, duration: float, frame: float = 0.0) -> float:
        """The source second shown at document second ``time``; each frame shows for ``frame``
        seconds, so the range's last moment is one frame before its out point (played backwards,
        the first). Before ``offset`` the first played moment, after the range its last one,
        unless looping."""
        start, out = self.span(duration)
        length = out - start
        last = max(length - frame, 0.0)
        local = max(0.0, (time - self.offset) * self.speed)
        if self.loop and length > 0:
            local = math.fmod(local, length)
        local = min(local, last)
        return start + (last - local if self.reverse else local)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ClipTiming":
        return cls(**values)


@dataclass(frozen=True)
class Key:
    """A group's transform at one document time, and how it eases towards the next key."""

    time: float  # document seconds
    transform: Transform = field(default_factory=Transform)  # about the group's pivot
    interpolation: Interpolation = "smooth"  # from this key to the next

    def __post_init__(self) -> None:
        if not isinstance(self.time, (int, float)) or not math.isfinite(self.time):
            raise ValueError(f"Key.time must be a finite number of seconds, got {self.time!r}")
        if not isinstance(self.transform, Transform):
            raise TypeError("Key.transform must be a scene.transform.Transform")
        _check_interpolation("Key", self.interpolation)

    def to_dict(self) -> dict:
        return {"time": self.time, "transform": self.transform.to_dict(), "interpolation": self.interpolation}

    @classmethod
    def from_dict(cls, values: dict) -> "Key":
        return cls(float(values["time"]), Transform.from_dict(values["transform"]), values["interpolation"])


def _ease(w: float, interpolation: str) -> float:
    """Smooth keys ease in and out (smoothstep), as Blender's default Bezier keys do."""
    return w * w * (3.0 - 2.0 * w) if interpolation == "smooth" else w


def _slerp(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """Spherical interpolation of unit quaternions (wxyz), the short way round."""
    dot = float(np.dot(a, b))
    if dot < 0:
        b, dot = -b, -dot
    if dot > 0.9995:
        return normalize_quats(a + w * (b - a))
    theta = math.acos(min(dot, 1.0))
    return (math.sin((1 - w) * theta) * a + math.sin(w * theta) * b) / math.sin(theta)


@dataclass(frozen=True, eq=False)
class Group:
    """Named splats moved together by keyframed transforms about ``pivot`` (layer space)."""

    name: str
    indices: np.ndarray  # [M] splat indices into the clip's splats, sorted, unique
    pivot: np.ndarray = field(default_factory=lambda: np.zeros(3))  # [3]
    keys: tuple[Key, ...] = ()  # sorted by time, at most one per time

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a group's name must not be empty")
        indices = np.unique(as_array(f"group {self.name!r} indices", self.indices, np.int64, (None,)))
        if len(indices) and indices[0] < 0:
            raise ValueError(f"group {self.name!r}: splat indices must not be negative")
        pivot = as_array(f"group {self.name!r} pivot", self.pivot, np.float64, (3,))
        keys = tuple(sorted(self.keys, key=lambda k: k.time))
        if any(b.time - a.time < KEY_TIME_TOLERANCE for a, b in zip(keys, keys[1:])):
            raise ValueError(f"group {self.name!r}: two keys at the same time")
        for name, value in (("indices", indices), ("pivot", pivot)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "keys", keys)

    def transform_at(self, time: float) -> Transform:
        """The keyed transform at ``time``: held before the first key and after the last."""
        keys = self.keys
        if not keys:
            return Transform()
        if time <= keys[0].time:
            return keys[0].transform
        if time >= keys[-1].time:
            return keys[-1].transform
        i = int(np.searchsorted([k.time for k in keys], time, side="right")) - 1
        a, b = keys[i], keys[i + 1]
        w = _ease((time - a.time) / (b.time - a.time), a.interpolation)
        ta, tb = a.transform, b.transform
        return Transform(
            ta.translation + w * (tb.translation - ta.translation),
            _slerp(ta.rotation, tb.rotation, w),
            ta.scale * (tb.scale / ta.scale) ** w,  # geometric: halfway between 1 and 4 is 2
        )

    def matrix_at(self, time: float) -> np.ndarray:
        """The 4x4 matrix moving the group's splats at ``time``: about the pivot, layer space."""
        m = self.transform_at(time).matrix()
        m[:3, 3] += self.pivot - m[:3, :3] @ self.pivot
        return m

    def key_at(self, time: float) -> Key | None:
        """The key at ``time`` (within :data:`KEY_TIME_TOLERANCE`), if any."""
        return next((k for k in self.keys if abs(k.time - time) < KEY_TIME_TOLERANCE), None)

    def with_key(self, key: Key) -> "Group":
        """The group with ``key`` added, replacing one at the same time."""
        kept = tuple(k for k in self.keys if abs(k.time - key.time) >= KEY_TIME_TOLERANCE)
        return dataclasses.replace(self, keys=kept + (key,))

    def without_key(self, time: float) -> "Group":
        """The group without its key at ``time`` (unchanged if there is none)."""
        return dataclasses.replace(self, keys=tuple(k for k in self.keys if abs(k.time - time) >= KEY_TIME_TOLERANCE))

    def moved_key(self, time: float, new_time: float) -> "Group":
        """The group with its key at ``time`` moved to ``new_time`` (replacing one there)."""
        key = self.key_at(time)
        if key is None:
            raise KeyError(f"group {self.name!r} has no key at {time:g} s")
        return self.without_key(time).with_key(dataclasses.replace(key, time=float(new_time)))

    def to_dict(self) -> dict:
        """JSON-ready, without the indices (stored as an array)."""
        return {"name": self.name, "pivot": self.pivot.tolist(), "keys": [k.to_dict() for k in self.keys]}


def catmull_rom_weights(w: float) -> np.ndarray:
    """Weights of points ``k-1, k, k+1, k+2`` on a uniform Catmull-Rom curve at ``w`` in [0, 1)."""
    w2, w3 = w * w, w * w * w
    return 0.5 * np.array([-w3 + 2 * w2 - w, 3 * w3 - 5 * w2 + 2, -3 * w3 + 4 * w2 + w, w3 - w2])


@dataclass(frozen=True, eq=False)
class GaussianClip:
    """Splats over time: a canonical cloud, sampled motion (or flipbook frames), timing and groups."""

    canonical: GaussianCloud
    fps: float = 24.0  # frames per second of the sampled motion
    means: np.ndarray | None = None  # [F, N, 3] per-frame centres; None: the canonical's
    quats: np.ndarray | None = None  # [F, N, 4] wxyz
    log_scales: np.ndarray | None = None  # [F, N, 3]
    opacity_logits: np.ndarray | None = None  # [F, N]
    frame_starts: np.ndarray | None = None  # flipbook: [F + 1] first splat of each frame, then N
    interpolation: Interpolation = "linear"  # of positions between frames ("smooth": Catmull-Rom)
    timing: ClipTiming = field(default_factory=ClipTiming)
    groups: tuple[Group, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.canonical, GaussianCloud):
            raise TypeError("GaussianClip.canonical must be a GaussianCloud")
        if not isinstance(self.fps, (int, float)) or not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"GaussianClip.fps must be a positive number, got {self.fps!r}")
        object.__setattr__(self, "fps", float(self.fps))
        _check_interpolation("GaussianClip", self.interpolation)
        if not isinstance(self.timing, ClipTiming):
            raise TypeError("GaussianClip.timing must be a ClipTiming")
        n = self.canonical.count
        frames = None
        for name, width in zip(MOTION_CHANNELS, (3, 4, 3, None)):
            value = getattr(self, name)
            if value is None:
                continue
            shape = (frames, n) + ((width,) if width else ())
            array = as_array(f"GaussianClip.{name}", value, np.float32, shape)
            if not len(array):
                raise ValueError(f"GaussianClip.{name}: a motion needs at least one frame")
            if name == "quats":
                squared = np.einsum("fij,fij->fi", array, array)
                if array.size and not squared.min() > 0:
                    raise ValueError("GaussianClip.quats: a quaternion has zero length")
                if array.size and np.abs(squared - 1.0).max() > 2e-3:
                    array = (array / np.sqrt(squared)[..., None]).astype(np.float32)
            frames = len(array)
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        if self.frame_starts is not None:
            if frames is not None:
                raise ValueError("GaussianClip: a flipbook (frame_starts) has no motion channels")
            starts = as_array("GaussianClip.frame_starts", self.frame_starts, np.int64, (None,))
            if len(starts) < 2 or starts[0] != 0 or starts[-1] != n or np.any(np.diff(starts) < 0):
                raise ValueError(
                    f"GaussianClip.frame_starts must rise from 0 to the splat count {n} over at least 2 entries"
                )
            starts.setflags(write=False)
            object.__setattr__(self, "frame_starts", starts)
        groups = tuple(self.groups)
        if any(not isinstance(g, Group) for g in groups):
            raise TypeError("GaussianClip.groups must hold scene.clip.Group values")
        names = [g.name for g in groups]
        if len(set(names)) != len(names):
            raise ValueError("GaussianClip: two groups have the same name")
        for group in groups:
            if len(group.indices) and group.indices[-1] >= n:
                raise ValueError(f"group {group.name!r} names splat {group.indices[-1]}, but the clip has {n}")
        object.__setattr__(self, "groups", groups)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_frames(cls, clouds: Sequence[GaussianCloud], fps: float = 24.0) -> "GaussianClip":
        """A clip whose frame ``k`` is ``clouds[k]`` exactly. Frames of the same splats (equal counts
        and colours) become one moving cloud, storing only the channels that change; others a flipbook."""
        clouds = list(clouds)
        if not clouds:
            raise ValueError("a clip needs at least one frame")
        first = clouds[0]
        same = all(
            c.count == first.count and c.sh.shape == first.sh.shape and np.array_equal(c.sh, first.sh)
            for c in clouds[1:]
        )
        if not same:
            starts = np.concatenate([[0], np.cumsum([c.count for c in clouds])])
            return cls(GaussianCloud.concatenate(clouds), fps, frame_starts=starts)
        motion = {}
        for name in MOTION_CHANNELS:
            stacked = np.stack([getattr(c, name) for c in clouds])
            if len(clouds) > 1 and not (stacked == stacked[:1]).all():
                motion[name] = stacked
        if not motion and len(clouds) > 1:
            motion["means"] = np.stack([c.means for c in clouds])  # frames that never change still count
        return cls(first, fps, **motion)

    @classmethod
    def still(cls, cloud: GaussianCloud, fps: float = 24.0) -> "GaussianClip":
        """A one-frame clip of ``cloud``: a static layer that keyframed groups can animate."""
        return cls(cloud, fps)

    def replace(self, **changes: object) -> "GaussianClip":
        """A copy with some fields changed (validated like a new clip); arrays are shared, not copied."""
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------- properties
    @property
    def count(self) -> int:
        """Splats (a flipbook: of all its frames together)."""
        return self.canonical.count

    @property
    def is_flipbook(self) -> bool:
        return self.frame_starts is not None

    @property
    def has_motion(self) -> bool:
        return any(getattr(self, name) is not None for name in MOTION_CHANNELS)

    @property
    def frame_count(self) -> int:
        if self.frame_starts is not None:
            return len(self.frame_starts) - 1
        return next((len(getattr(self, n)) for n in MOTION_CHANNELS if getattr(self, n) is not None), 1)

    @property
    def duration(self) -> float:
        """Source seconds: each frame lasts ``1 / fps``."""
        return self.frame_count / self.fps

    @property
    def sh_degree(self) -> int:
        return self.canonical.sh_degree

    @property
    def played_end(self) -> float:
        """The document second where one pass of the played range ends (a loop goes on repeating it)."""
        return self.timing.offset + self.timing.played_length(self.duration)

    @property
    def end_time(self) -> float:
        """The document second where the clip's content ends: its played range, or its last group
        key when that comes later (a still layer animated by keys alone lasts as long as its keys)."""
        last_key = max((key.time for group in self.groups for key in group.keys), default=-math.inf)
        return max(self.played_end, last_key)

    def source_time(self, time: float) -> float:
        """The source second shown at document second ``time``."""
        return self.timing.source_time(time, self.duration, 1.0 / self.fps)

    def frame_times(self, fps: float | None = None) -> np.ndarray:
        """Document seconds to sample the clip at ``fps`` (the clip's by default) from its offset
        to its end (:attr:`end_time`, last key included): what exports and bakes write."""
        rate = float(fps or self.fps)
        count = max(
            math.ceil(self.timing.played_length(self.duration) * rate - SNAP),
            math.floor((self.end_time - self.timing.offset) * rate + SNAP) + 1 if self.end_time > self.played_end else 1,
        )
        return self.timing.offset + np.arange(count) / rate

    # ----------------------------------------------------------------- evaluation
    def frame_at(self, time: float) -> tuple[int, int, float]:
        """Source frames ``(k0, k1)`` and the weight ``w`` of ``k1`` shown at document ``time``."""
        last = self.frame_count - 1
        x = self.source_time(time) * self.fps
        if abs(x - round(x)) < SNAP:
            x = float(round(x))
        k0 = min(max(int(math.floor(x)), 0), last)
        if k0 >= last or self.is_flipbook:
            return k0, k0, 0.0
        return k0, k0 + 1, x - k0

    def position_taps(self, time: float) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``[4]`` and weights ``[4]`` whose sum of ``w_i * means[frames_i]`` is the positions at ``time``."""
        k0, k1, w = self.frame_at(time)
        last = self.frame_count - 1
        frames = np.array([max(k0 - 1, 0), k0, k1, min(k1 + 1, last)])
        if w == 0.0:
            weights = np.array([0.0, 1.0, 0.0, 0.0])
        elif self.interpolation == "smooth":
            weights = catmull_rom_weights(w)
        else:
            weights = np.array([0.0, 1.0 - w, w, 0.0])
        return frames, weights

    def frame(self, k: int) -> GaussianCloud:
        """Sampled frame ``k`` exactly as stored (no timing, no groups)."""
        if not 0 <= k < self.frame_count:
            raise IndexError(f"frame {k} is outside the clip's {self.frame_count} frames")
        if self.frame_starts is not None:
            return self.canonical.subset(np.arange(self.frame_starts[k], self.frame_starts[k + 1]))
        return self.canonical.replace(
            **{name: getattr(self, name)[k] for name in MOTION_CHANNELS if getattr(self, name) is not None}
        )

    def motion_at(self, time: float) -> GaussianCloud:
        """The splats at document ``time`` from the motion and timing only (no groups)."""
        k0, k1, w = self.frame_at(time)
        if w == 0.0:
            return self.frame(k0)
        frames, weights = self.position_taps(time)
        fields: dict[str, np.ndarray] = {}
        if self.means is not None:
            fields["means"] = np.einsum("f,fnc->nc", weights, self.means[frames].astype(np.float64))
        if self.quats is not None:
            a, b = self.quats[k0].astype(np.float64), self.quats[k1].astype(np.float64)
            sign = np.where(np.einsum("nc,nc->n", a, b) < 0, -1.0, 1.0)[:, None]
            fields["quats"] = normalize_quats((1 - w) * a + w * sign * b)  # nlerp, as the shader does
        for name in ("log_scales", "opacity_logits"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = (1 - w) * value[k0].astype(np.float64) + w * value[k1].astype(np.float64)
        return self.canonical.replace(**fields)

    def group_of(self) -> np.ndarray:
        """The group index of each splat ``[N]`` (-1: in none); a splat in several groups moves with the last."""
        return self._group_of

    @cached_property
    def _group_of(self) -> np.ndarray:
        owner = np.full(self.count, -1, dtype=np.int32)
        for i, group in enumerate(self.groups):
            owner[group.indices] = i
        owner.setflags(write=False)
        return owner

    def at(self, time: float) -> GaussianCloud:
        """The splats as they look at document second ``time``: motion, timing and groups."""
        cloud = self.motion_at(time)
        keyed = [i for i, g in enumerate(self.groups) if g.keys]
        if not keyed:
            return cloud
        owner = self._group_of
        if self.frame_starts is not None:
            k = self.frame_at(time)[0]
            owner = owner[self.frame_starts[k] : self.frame_starts[k + 1]]
        arrays = {name: getattr(cloud, name).copy() for name in ("means", "log_scales", "quats", "opacity_logits", "sh")}
        for i in keyed:
            members = np.flatnonzero(owner == i)
            if not len(members):
                continue
            moved = cloud.subset(members).transformed(self.groups[i].matrix_at(time))
            for name in arrays:
                arrays[name][members] = getattr(moved, name)
        return GaussianCloud(**arrays)

    # ----------------------------------------------------------------- edits
    def bake(self, fps: float | None = None) -> "GaussianClip":
        """Timing and group keys written into new motion sampled at ``fps`` (the clip's by default)
        at :meth:`frame_times`; the result plays the same from document time ``offset``."""
        times = self.frame_times(fps)
        baked = GaussianClip.from_frames([self.at(float(t)) for t in times], float(fps or self.fps))
        groups = tuple(dataclasses.replace(g, keys=()) for g in self.groups) if not baked.is_flipbook else ()
        return baked.replace(timing=ClipTiming(offset=self.timing.offset), groups=groups, interpolation=self.interpolation)

    def transformed(self, matrix: np.ndarray) -> "GaussianClip":
        """The clip moved by an affine 4x4 ``matrix``, every frame. Group keys are about pivots in the
        clip's own space, so they are baked in first; keyless groups keep their splats."""
        m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
        clip = self.bake() if any(g.keys for g in self.groups) else self
        moved = GaussianClip.from_frames([clip.frame(k).transformed(m) for k in range(clip.frame_count)], clip.fps)
        groups = () if moved.is_flipbook != clip.is_flipbook else tuple(
            dataclasses.replace(g, pivot=m[:3, :3] @ g.pivot + m[:3, 3]) for g in clip.groups
        )
        return moved.replace(timing=clip.timing, interpolation=clip.interpolation, groups=groups)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds of the centres over every frame (group keys not included)."""
        return self._bounds

    @cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        points = self.canonical.means if self.means is None else self.means.reshape(-1, 3)
        if not len(points):
            return np.zeros(3, np.float32), np.zeros(3, np.float32)
        return points.min(axis=0), points.max(axis=0)


# ----------------------------------------------------------------------------- arrays
_CANONICAL = ("means", "log_scales", "quats", "opacity_logits", "sh")


def clip_to_arrays(clip: GaussianClip) -> dict[str, np.ndarray]:
    """Named arrays holding all of ``clip`` (for streaming and the project file): the canonical
    cloud, the motion channels there are, and the settings and groups as UTF-8 JSON."""
    arrays = {f"canonical_{name}": getattr(clip.canonical, name) for name in _CANONICAL}
    for name in MOTION_CHANNELS:
        if getattr(clip, name) is not None:
            arrays[f"motion_{name}"] = getattr(clip, name)
    if clip.frame_starts is not None:
        arrays["frame_starts"] = clip.frame_starts
    settings = {
        "fps": clip.fps,
        "interpolation": clip.interpolation,
        "timing": clip.timing.to_dict(),
        "groups": [g.to_dict() for g in clip.groups],
    }
    arrays["settings"] = np.frombuffer(json.dumps(settings).encode(), dtype=np.uint8)
    arrays["group_sizes"] = np.array([len(g.indices) for g in clip.groups], dtype=np.int64)
    arrays["group_indices"] = (
        np.concatenate([g.indices for g in clip.groups]) if clip.groups else np.zeros(0, dtype=np.int64)
    )
    return arrays


def clip_from_arrays(arrays: Mapping[str, np.ndarray]) -> GaussianClip:
    """The inverse of :func:`clip_to_arrays`; ValueError naming what is missing or wrong."""
    needed = {f"canonical_{name}" for name in _CANONICAL} | {"settings", "group_sizes", "group_indices"}
    allowed = needed | {f"motion_{name}" for name in MOTION_CHANNELS} | {"frame_starts"}
    names = set(arrays)
    if not needed <= names <= allowed:
        raise ValueError(
            f"GaussianClip: arrays {sorted(names)} do not match a clip's (required {sorted(needed)}, "
            f"optional {sorted(allowed - needed)})"
        )
    try:
        settings = json.loads(np.asarray(arrays["settings"], dtype=np.uint8).tobytes().decode())
        sizes = np.asarray(arrays["group_sizes"], dtype=np.int64)
        indices = np.asarray(arrays["group_indices"], dtype=np.int64)
        if len(settings["groups"]) != len(sizes) or sizes.sum() != len(indices) or np.any(sizes < 0):
            raise ValueError("the group arrays do not match the groups")
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        groups = tuple(
            Group(g["name"], indices[bounds[i] : bounds[i + 1]], g["pivot"], tuple(Key.from_dict(k) for k in g["keys"]))
            for i, g in enumerate(settings["groups"])
        )
        timing = ClipTiming.from_dict(settings["timing"])
        fps, interpolation = settings["fps"], settings["interpolation"]
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"GaussianClip: unreadable settings ({type(exc).__name__}: {exc})") from None
    canonical = GaussianCloud(**{name: arrays[f"canonical_{name}"] for name in _CANONICAL})
    motion = {name: arrays[f"motion_{name}"] for name in MOTION_CHANNELS if f"motion_{name}" in arrays}
    return GaussianClip(
        canonical, fps, frame_starts=arrays.get("frame_starts"), interpolation=interpolation,
        timing=timing, groups=groups, **motion,
    )
