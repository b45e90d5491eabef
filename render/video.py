"""Videos of a scene: any list of cameras (a turntable's circle, a camera path's frames) rendered and
written as MP4 or numbered PNGs.

A failure leaves no partial video or frame behind and the previous output whole: a video is
encoded into a temp file and replaces the old one only once ffmpeg succeeded and the file decodes to
every frame; frames are written as a set (a folder swapped in whole, or a pattern's files renamed
into place together, and the frames of an earlier, longer run of the same pattern then removed, so
the pattern names this run's frames and no others). Errors are :class:`FormatError` naming the user's path.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from render.controllers import frame_bounds
from render.offscreen import OffscreenRenderer
from render.settings import RenderSettings
from scene.camera import Camera
from scene.document import Document
from scene.io.atomic import CannotWrite, atomic_folder, atomic_output, atomic_outputs, os_problem
from scene.io.errors import FormatError

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
    """Whether ``path`` names PNG frames (a folder or a ``%d`` pattern) rather than a video file
    (a folder named like a video, ``shot.mp4/``, is in the way of one, not a place for frames)."""
    return "%" in path.name or not path.suffix or (path.is_dir() and path.suffix.lower() not in VIDEO_SUFFIXES)


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
    named ``frame_0000.png`` ...; replaced whole, so it may hold only PNG files) or a pattern such as
    ``shots/frame_%04d.png``. A failure raises :class:`FormatError` naming ``path`` and changes nothing there. ``times`` (one per
    camera) moves the document's time before each frame, so clips play; None keeps its time.
    """
    path = Path(path)
    if not is_frame_folder(path) and path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: write a video ({', '.join(VIDEO_SUFFIXES)}), a folder or a pattern like {FRAME_PATTERN}")
    if "%" in path.name and not is_frame_pattern(path):
        raise ValueError(f"{path}: a pattern holds one frame number, like {FRAME_PATTERN}")
    if times is not None and len(times) != len(cameras):
        raise ValueError(f"{len(times)} times for {len(cameras)} cameras: give one time per frame")
    images = _render_frames(document, cameras, settings, progress, times)
    if is_frame_folder(path):
        return _write_pngs(images, path, len(cameras))
    _write_video(images, path, fps, len(cameras))
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


def _write_pngs(images: Iterator[np.ndarray], path: Path, count: int) -> list[Path]:
    """``count`` frames into a folder (written beside it and swapped in, so no old frame stays) or
    after a pattern (all renamed into place together)."""
    if "%" in path.name:
        _make_folder(path, path.parent)
        written = [path.parent / (path.name % i) for i in range(count)]
        with atomic_outputs(written, replacing=pattern_files(path)) as temps:
            for tmp, image in zip(temps, images):
                write_png(tmp, image)
        return written
    _check_frame_folder(path)
    _make_folder(path, path.parent)
    with atomic_folder(path) as staging:
        for i, image in enumerate(images):
            write_png(staging / (FRAME_PATTERN % i), image)
    return [path / (FRAME_PATTERN % i) for i in range(count)]


def _frame_number(name: str) -> re.Match[str] | None:
    """Where a pattern's name holds its frame number (``%04d``, ``%d``, ``%5d``); None unless it holds exactly one."""
    numbers = [m for m in re.finditer(r"%(?:%|[^%]*?[a-zA-Z])", name) if m.group() != "%%"]
    if len(numbers) != 1 or re.fullmatch(r"%0?\d*[diu]", numbers[0].group()) is None:
        return None
    return numbers[0]


def is_frame_pattern(path: Path) -> bool:
    """Whether ``path``'s name is a pattern of frames: one frame number (``frame_%04d.png``), ``%%`` for a ``%``."""
    return _frame_number(path.name) is not None


def pattern_files(path: Path) -> list[Path]:
    """The files of pattern ``path``'s folder that it names (``frame_0012.png`` for ``frame_%04d.png``): an
    earlier run's frames, which the next run's replace, those past its last included; other files are not."""
    number = _frame_number(path.name)
    if number is None or not path.parent.is_dir():
        return []
    prefix, suffix = (path.name[: number.start()] % (), path.name[number.end() :] % ())
    named = re.compile(re.escape(prefix) + r"( *\d+)" + re.escape(suffix))
    return [
        entry for entry in path.parent.iterdir()
        if (match := named.fullmatch(entry.name)) and path.name % int(match.group(1)) == entry.name and entry.is_file()
    ]


def write_png(path: Path, image: np.ndarray) -> None:
    """Write ``image`` as a PNG file (encoded in memory first: a failed write then raises once, cleanly)."""
    import imageio.v3 as iio

    Path(path).write_bytes(iio.imwrite("<bytes>", image, extension=".png"))


def _make_folder(path: Path, folder: Path) -> None:
    """Create ``folder`` (and its parents) for the frames of ``path``; a FormatError naming ``path`` if it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CannotWrite(path, os_problem(exc, Path(exc.filename or folder)), exc.errno) from None


def _check_frame_folder(folder: Path) -> None:
    """Refuse to replace a folder holding anything but PNG files (a former render), before rendering."""
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if not (p.is_file() and p.suffix.lower() == ".png"))
        if others:
            raise FormatError(folder, f"holds other things than PNG frames ({', '.join(others[:3])}); "
                              "choose an empty or new folder")


def _write_video(images: Iterator[np.ndarray], path: Path, fps: float, count: int) -> None:
    """Encode into a temp file (the container named explicitly: it has no video suffix) and check that
    it decodes to all ``count`` frames before it replaces ``path``."""
    from render.ffmpeg import FfmpegFailed, decoded_frames, encode

    container = VIDEO_SUFFIXES[path.suffix.lower()]
    codec = "libvpx-vp9" if container == "webm" else "libx264"
    with atomic_output(path) as tmp:
        try:
            encode((_even(image) for image in images), tmp, fps, codec, container)
            decoded = decoded_frames(tmp)
        except FfmpegFailed as exc:
            raise FormatError(path, f"the video could not be written: {exc}") from None
        if decoded != count:
            raise FormatError(path, f"the video could not be written: it decodes to {decoded} frames, not {count}")


def _even(image: np.ndarray) -> np.ndarray:
    """Pad to even width and height (repeating the edge), which H.264's 4:2:0 chroma needs."""
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else image
