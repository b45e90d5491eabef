"""``Playback``: how the document's timeline plays (frame rate, in/out range, loop, speed), saved in the project.

The frame rate is the timeline's own, as a Blender scene's is: the ruler counts its frames, the
arrow keys step by one, and playback shows them. Clips keep their own sampling rate and are
evaluated at whatever time the timeline shows. The in/out range is in seconds; an open out point
(``end=None``) follows the content: the end of the longest clip, or :data:`EMPTY_END_S` without clips.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from scene.clip import GaussianClip

EMPTY_END_S = 10.0  # the out point of a document without clips, when none is set
MIN_SPEED, MAX_SPEED = 0.25, 4.0
MIN_FPS, MAX_FPS = 1.0, 240.0


@dataclass(frozen=True)
class Playback:
    """The timeline's frame rate, its in/out range, and how it plays."""

    fps: float = field(default=24.0, metadata={"min": MIN_FPS, "max": MAX_FPS})
    """Frames per second of the timeline: its ruler, the frame steps and the frames playback shows."""
    start: float = field(default=0.0, metadata={"min": 0.0})
    """The in point, in seconds: where playback starts and where a loop goes back to."""
    end: float | None = None
    """The out point, in seconds (after the in point); None: the end of the longest clip, or 10 s without clips."""
    loop: bool = True
    """Playing past the out point goes back to the in point; off: playback stops at the out point."""
    speed: float = field(default=1.0, metadata={"min": MIN_SPEED, "max": MAX_SPEED})
    """Document seconds played per second of wall-clock time (2: twice as fast)."""

    def __post_init__(self) -> None:
        for name in ("fps", "start", "speed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"Playback.{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not MIN_FPS <= self.fps <= MAX_FPS:
            raise ValueError(f"the timeline plays at {MIN_FPS:g} to {MAX_FPS:g} frames a second, got {self.fps:g}")
        if not MIN_SPEED <= self.speed <= MAX_SPEED:
            raise ValueError(f"playback speed is {MIN_SPEED:g}x to {MAX_SPEED:g}x, got {self.speed:g}x")
        if self.start < 0:
            raise ValueError(f"the in point must not be before 0 s, got {self.start:g} s")
        if self.end is not None:
            if isinstance(self.end, bool) or not isinstance(self.end, (int, float)) or not math.isfinite(self.end):
                raise ValueError(f"Playback.end must be a finite number of seconds or None, got {self.end!r}")
            if self.end <= self.start:
                raise ValueError(f"the out point ({self.end:g} s) must come after the in point ({self.start:g} s)")
            object.__setattr__(self, "end", float(self.end))
        if not isinstance(self.loop, bool):
            raise TypeError(f"Playback.loop must be True or False, got {self.loop!r}")

    # ----------------------------------------------------------------- frames
    @property
    def frame_s(self) -> float:
        """Seconds one frame lasts."""
        return 1.0 / self.fps

    def frame_of(self, time: float) -> int:
        """The frame nearest ``time`` seconds."""
        return int(round(time * self.fps))

    def snap(self, time: float) -> float:
        """``time`` on the nearest frame, never before 0."""
        return max(0, self.frame_of(time)) / self.fps

    def frame_floor(self, time: float) -> float:
        """The start of the frame showing at ``time`` (what playback shows: frames are held, not rounded up)."""
        return max(0, math.floor(time * self.fps + 1e-6)) / self.fps

    # ----------------------------------------------------------------- range
    def play_range(self, payloads: Iterable[Any]) -> tuple[float, float]:
        """``(in, out)`` seconds for a document holding ``payloads`` (its layers' data): an open out
        point is the end of the longest clip among them; the range lasts at least one frame."""
        end = self.end
        if end is None:
            ends = [data.end_time for data in payloads if isinstance(data, GaussianClip)]
            end = max(ends) if ends else EMPTY_END_S
        return self.start, max(end, self.start + self.frame_s)

    def with_in(self, time: float) -> "Playback":
        """The in point moved to ``time`` (never before 0); a set out point it would pass is pushed one frame after it."""
        start = max(0.0, float(time))
        end = None if self.end is None else max(self.end, start + self.frame_s)
        return dataclasses.replace(self, start=start, end=end)

    def with_out(self, time: float | None) -> "Playback":
        """The out point set to ``time`` (None: follow the clips); an in point it would pass is pulled one frame before it."""
        if time is None:
            return dataclasses.replace(self, end=None)
        end = max(float(time), self.frame_s)
        return dataclasses.replace(self, start=min(self.start, end - self.frame_s), end=end)

    # ----------------------------------------------------------------- storage
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Playback":
        """The inverse of :meth:`to_dict`: missing fields take their defaults and unknown ones (from a
        newer Atelier4D) are left out, as the project file does with fields it does not know."""
        if not isinstance(values, Mapping):
            raise TypeError(f"playback settings must be an object, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in known})


__all__ = ["EMPTY_END_S", "Playback"]
