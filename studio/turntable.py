"""What a turntable is, for the studio's Export > Turntable and for ``atelier4d render --orbit`` alike,
and the times a video of a scene with clips plays (:func:`timeline_times`, :func:`timeline_video_times`),
one piece for the studio and ``atelier4d render`` so that both make the same frames.

:class:`TurntableSettings` is the video: size, frames and their rate (the duration follows from
them); ``atelier4d render --path`` checks its camera-path videos with it too. :func:`orbit_start` frames the dense part of the subject (:mod:`scene.bounds`: stray floaters
do not push the camera away) and gives the first camera and the point the orbit turns around (``render``'s stills frame the same way).
Qt-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from render.controllers import OrbitController, frame_bounds
from scene import Camera, Document, Layer
from scene.bounds import document_dense_box
from scene.clip import GaussianClip

MAX_SIZE = 16384


@dataclass(frozen=True)
class TurntableSettings:
    """A turntable video: ``frames`` images of ``width`` x ``height`` pixels played at ``fps``."""

    width: int = 1280
    height: int = 720
    frames: int = 120
    fps: float = 30.0

    def __post_init__(self) -> None:
        if not (1 <= self.width <= MAX_SIZE and 1 <= self.height <= MAX_SIZE):
            raise ValueError(f"a video is 1x1 to {MAX_SIZE}x{MAX_SIZE} pixels, got {self.width}x{self.height}")
        if self.frames < 1:
            raise ValueError(f"a video needs at least 1 frame, got {self.frames}")
        if not 1.0 <= self.fps <= 240.0:
            raise ValueError(f"a video plays at 1 to 240 frames a second, got {self.fps:g}")

    @property
    def duration_s(self) -> float:
        """How long the video plays, in seconds."""
        return self.frames / self.fps

    @staticmethod
    def frames_for(duration_s: float, fps: float) -> int:
        """The number of frames that plays ``duration_s`` seconds at ``fps``: every frame that starts
        within them (at least one). The studio's dialogs and videos and ``atelier4d render`` all count so."""
        return max(1, math.ceil(duration_s * fps - 1e-6))


def timeline_times(document: Document, frames: int, fps: float, start: float | None = None) -> np.ndarray | None:
    """Document seconds of a video's ``frames``, ``fps`` a second from ``start`` (default: the timeline's
    in point), when the document has visible clips (they play along: an orbit or a path video of a moving
    scene); None for a still scene, which looks the same at every time."""
    if not any(layer.visible and isinstance(layer.data, GaussianClip) for layer in document.layers):
        return None
    return (document.play_range()[0] if start is None else start) + np.arange(frames) / fps


def timeline_video_times(document: Document, fps: float, start: float | None = None) -> np.ndarray:
    """Document seconds of the frames of a video of the timeline (the studio's Export > Timeline Video,
    ``atelier4d render --video``): its in-out range (from ``start`` when given) at ``fps``, every frame
    that starts within it (:meth:`TurntableSettings.frames_for`)."""
    in_point, out_point = document.play_range()
    first = in_point if start is None else start
    return first + np.arange(TurntableSettings.frames_for(out_point - first, fps)) / fps


def orbit_start(
    document: Document,
    width: int,
    height: int,
    subject: list[Layer] | None = None,
    view: Camera | None = None,
    fov_y_deg: float = 50.0,
) -> tuple[Camera, np.ndarray]:
    """The first camera of the orbit and the point it turns around.

    The camera fills a ``width`` x ``height`` picture with the dense box of ``subject`` (default: the visible layers), seen
    from ``view``'s direction (default: the front, slightly above) with ``view``'s field of view.
    """
    box = document_dense_box(document, subject)
    lo, hi = box if box is not None else (-np.ones(3), np.ones(3))
    yaw_deg, pitch_deg = 0.0, 20.0
    if view is not None:
        orbit = OrbitController.from_camera(view, 1.0)
        yaw_deg, pitch_deg, fov_y_deg = orbit.yaw_deg, orbit.pitch_deg, view.fov_y_deg
    camera = frame_bounds(lo, hi, width, height, fov_y_deg, yaw_deg, pitch_deg)
    return camera, 0.5 * (lo + hi)
