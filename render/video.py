"""Videos of a scene: any list of cameras (a turntable's circle, a camera path's frames) rendered and
written as MP4 or numbered PNGs.

Every file is written through :func:`scene.io.atomic.atomic_output`, so a failure leaves no
partial video or frame behind.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from render.controllers import frame_bounds
from render.offscreen import OffscreenRenderer
from render.settings import RenderSettings
from scene.camera import Camera
from scene.document import Document
from scene.io.atomic import atomic_output

VIDEO_SUFFIXES = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
FRAME_PATTERN = "frame_%04d.png"


def orbit_cameras(camera: Camera, target: np.ndarray, frames: int, up: np.ndarray = np.array([0.0, 1.0, 0.0])) -> list[Camera]:
    """``frames`` cameras evenly around ``up`` through ``target``, the first being ``camera``'s pose.

    Each looks at ``target`` from ``camera``'s distance and height; intrinsics are kept. The
    views are those of ``camera`` exactly only when ``camera`` looks at ``target`` with this ``up``.
    """
    target = np.asarray(target, dtype=np.float64)
    axis = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
    offset = camera.position - target
    cameras = []
    for i in range(frames):
        angle = 2.0 * math.pi * i / frames
        # Rodrigues' rotation of the eye offset about the up axis.
        rotated = (
            offset * math.cos(angle)
            + np.cross(axis, offset) * math.sin(angle)
            + axis * float(axis @ offset) * (1.0 - math.cos(angle))
        )
        pose = Camera.look_at(target + rotated, target, up=axis).c2w
        cameras.append(replace(camera, c2w=pose))
    return cameras


def default_camera(document: Document, width: int, height: int, fov_y_deg: float = 50.0) -> Camera:
    """The whole scene from the front (+Z), slightly above; a unit box when the scene is empty."""
    bounds = document.bounds()
    lo, hi = bounds if bounds is not None else (-np.ones(3), np.ones(3))
    return frame_bounds(lo, hi, width, height, fov_y_deg)


def scene_centre(document: Document) -> np.ndarray:
    """Centre of the visible layers' bounds (the origin for an empty scene)."""
    bounds = document.bounds()
    return np.zeros(3) if bounds is None else 0.5 * (bounds[0] + bounds[1])


def is_frame_folder(path: Path) -> bool:
    """Whether ``path`` names PNG frames (a folder or a ``%d`` pattern) rather than a video file."""
    return "%" in path.name or path.is_dir() or not path.suffix


def render_turntable(
    document: Document,
    path: str | Path,
    camera: Camera | None = None,
    target: np.ndarray | None = None,
    up: np.ndarray = np.array([0.0, 1.0, 0.0]),
    frames: int = 120,
    fps: float = 30.0,
    settings: RenderSettings = RenderSettings(),
    progress: Callable[[float], None] | None = None,
    times: Sequence[float] | None = None,
) -> list[Path]:
    """Render ``frames`` views orbiting ``target`` and write them to ``path``; returns the files written.

    ``path`` is a video (``.mp4``, ``.mov``, ``.mkv``, ``.webm``), a folder (frames named
    ``frame_0000.png`` ...) or a pattern such as ``shots/frame_%04d.png``. ``camera`` gives the
    first view and the image size (default: :func:`default_camera` at 1280x720); the orbit turns
    about ``up`` through ``target``, by default the point of the camera's axis nearest the scene's
    centre. ``times`` are the document seconds of the frames, for a scene with clips (None: the time is kept).
    """
    if frames < 1:
        raise ValueError(f"a turntable needs at least one frame, got {frames}")
    camera = camera if camera is not None else default_camera(document, 1280, 720)
    if target is None:
        along = float((scene_centre(document) - camera.position) @ camera.forward)
        target = camera.position + camera.forward * max(along, camera.near * 10.0)
    return render_video(document, path, orbit_cameras(camera, target, frames, up), fps, settings, progress, times)


def render_video(
    document: Document,
    path: str | Path,
    cameras: Sequence[Camera],
    fps: float = 30.0,
    settings: RenderSettings = RenderSettings(),
    progress: Callable[[float], None] | None = None,
    times: Sequence[float] | None = None,
) -> list[Path]:
    """Render one frame per camera, in order, and write them to ``path``; returns the files written.

    ``path`` is a video (``.mp4``, ``.mov``, ``.mkv``, ``.webm``) played at ``fps``, a folder (frames
    named ``frame_0000.png`` ...) or a pattern such as ``shots/frame_%04d.png``. ``times`` (one per
    camera) moves the document's time before each frame, so clips play; None keeps its time.
    """
    path = Path(path)
    if not is_frame_folder(path) and path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: write a video ({', '.join(VIDEO_SUFFIXES)}), a folder or a pattern like {FRAME_PATTERN}")
    if times is not None and len(times) != len(cameras):
        raise ValueError(f"{len(times)} times for {len(cameras)} cameras: give one time per frame")
    images = _render_frames(document, cameras, settings, progress, times)
    if is_frame_folder(path):
        return _write_pngs(images, path)
    _write_video(images, path, fps)
    return [path]


def _render_frames(
    document: Document, cameras: Sequence[Camera], settings: RenderSettings, progress: Callable[[float], None] | None,
    times: Sequence[float] | None = None,
) -> Iterator[np.ndarray]:
    offscreen = OffscreenRenderer()
    try:
        for i, cam in enumerate(cameras):
            if times is not None:
                document.set_time(float(times[i]))
            yield offscreen.render(document, cam, settings)
            if progress is not None:
                progress((i + 1) / len(cameras))
    finally:
        offscreen.release()


def _write_pngs(images: Iterator[np.ndarray], path: Path) -> list[Path]:
    import imageio.v3 as iio

    pattern = path if "%" in path.name else path / FRAME_PATTERN
    pattern.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for i, image in enumerate(images):
        out = Path(str(pattern) % i)
        with atomic_output(out) as tmp:
            iio.imwrite(tmp, image, extension=".png")
        written.append(out)
    return written


def _write_video(images: Iterator[np.ndarray], path: Path, fps: float) -> None:
    """Encode with imageio-ffmpeg, naming the container explicitly (the temp file has no video suffix)."""
    import imageio_ffmpeg

    container = VIDEO_SUFFIXES[path.suffix.lower()]
    with atomic_output(path) as tmp:
        writer = None
        try:
            for image in images:
                image = _even(image)
                if writer is None:
                    writer = imageio_ffmpeg.write_frames(
                        str(tmp), (image.shape[1], image.shape[0]), fps=fps, quality=8,
                        codec="libvpx-vp9" if container == "webm" else "libx264", macro_block_size=1,
                        output_params=["-f", container], ffmpeg_log_level="error",
                    )
                    writer.send(None)
                writer.send(np.ascontiguousarray(image))
        finally:
            if writer is not None:
                writer.close()


def _even(image: np.ndarray) -> np.ndarray:
    """Pad to even width and height (repeating the edge), which H.264's 4:2:0 chroma needs."""
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else image
