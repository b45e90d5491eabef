"""``atelier4d render SCENE --out shot.png``: a headless picture, turntable, camera-path or timeline video of a scene file.

Time: ``--time`` is in seconds (``1.5``) or a frame of the clips (``f12``, at their frame rate). A video
of a scene with clips plays them: frame ``k`` shows the document at ``start + k / fps`` seconds, from
the timeline's in point (or ``--time``); ``--video OUT.mp4`` alone renders the timeline's in-out range
from one camera, the frames the studio's Export > Timeline Video makes (:mod:`studio.turntable`)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scene import Camera, Document
from scene.camera_path import CameraPath
from scene.clip import GaussianClip
from scene.io import atomic_output, load
from scene.io.project import PROJECT_SUFFIX, load_project
from studio.commands.common import CliError, image_size, vector
from studio.turntable import MAX_SIZE, TurntableSettings, orbit_start, timeline_times, timeline_video_times

if TYPE_CHECKING:
    from render import RenderSettings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "render",
        help="render a scene file to a PNG, or a turntable, camera-path or timeline video to MP4 / PNG frames (no display needed)",
        description="Render a project (.a4d) or any scene file headless (OpenGL through EGL). Without "
        "--camera-pos the scene is framed from the front, slightly above: its dense part, stray floaters "
        "left out (as the studio's turntable export frames it). With --path the camera flies along a "
        "camera path saved as JSON: frame k shows the path's camera at k / fps seconds. A scene with clips "
        "plays in a video (from the timeline's in point, or --time); --video OUT.mp4 alone renders the "
        "timeline's in-out range (the frames the studio's Timeline Video makes) from the default camera or "
        "--camera-pos.",
    )
    parser.add_argument("scene", type=Path, metavar="SCENE", help="a .a4d project or any file 'atelier4d info' reads")
    parser.add_argument("--out", type=Path,
                        help="output: shot.png; with --orbit or --path a .mp4, a folder or a pattern like frame_%%04d.png")
    parser.add_argument("--video", type=Path, metavar="OUT",
                        help="write a video: of --path or --orbit, else of the timeline's in-out range")
    parser.add_argument("--path", type=Path, dest="camera_path", metavar="PATH.json",
                        help="render a video flying along this camera path (its keys give the cameras and fields of view)")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="stretch the --path video to last this long (default: the path's own duration)")
    parser.add_argument("--size", type=image_size, default=(1280, 720), metavar="WxH", help="image size (1280x720)")
    parser.add_argument("--width", type=int, default=None, metavar="W", help="image width (overrides --size's)")
    parser.add_argument("--height", type=int, default=None, metavar="H", help="image height (overrides --size's)")
    parser.add_argument("--camera-pos", type=vector(3, "camera-pos"), metavar="X,Y,Z", help="camera position")
    parser.add_argument("--look-at", type=vector(3, "look-at"), metavar="X,Y,Z",
                        help="point the camera looks at (default: the scene's centre)")
    parser.add_argument("--up", type=vector(3, "up"), default=(0.0, 1.0, 0.0), metavar="X,Y,Z",
                        help="up direction (0,1,0)")
    parser.add_argument("--fov-y", type=float, default=50.0, metavar="DEG",
                        help="vertical field of view (50; a --path gives its own)")
    parser.add_argument("--background", type=vector(3, "background"), default=(0.0, 0.0, 0.0), metavar="R,G,B",
                        help="background colour, 0-1 floats (0,0,0)")
    parser.add_argument("--time", type=time_or_frame, default=None, metavar="T",
                        help="the document time to render: seconds >= 0 (1.5) or a frame of the clips (f12, at "
                        "their frame rate); a video's first frame (default: a project's saved time, else 0; a "
                        "video: the timeline's in point); static layers look the same at every time")
    parser.add_argument("--orbit", type=int, default=None, metavar="N",
                        help="render N frames orbiting the scene about --up instead of one picture")
    parser.add_argument("--fps", type=float, default=None,
                        help=f"frames per second of a video (default: the clips' frame rate, else {TurntableSettings.fps:g})")
    parser.set_defaults(func=run)


class FrameNumber(int):
    """A ``--time`` given as a frame (``f12``): seconds at the clips' frame rate."""


def time_or_frame(text: str) -> float | FrameNumber:
    """An argparse ``type`` for seconds (``1.5``) or a frame (``f12``); seconds are checked in :func:`run`."""
    word = text.strip()
    if word[:1] in ("f", "F") and word[1:].isdigit():
        return FrameNumber(int(word[1:]))
    try:
        return float(word)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--time takes seconds (1.5) or a frame (f12), got {text!r}") from None


def clips_of(document: Document) -> list[GaussianClip]:
    """The clips of the document's visible layers, in layer order."""
    return [layer.data for layer in document.layers if layer.visible and isinstance(layer.data, GaussianClip)]


def read_scene(path: Path) -> Document:
    """The document in ``path``: a project, or a one-layer document around any scene file."""
    from render.offscreen import as_document

    if not path.is_file():
        raise CliError(f"{path}: no such file")
    return load_project(path) if path.suffix.lower() == PROJECT_SUFFIX else as_document(load(path))


def make_camera(args: argparse.Namespace, document: Document) -> tuple[Camera, np.ndarray]:
    """The camera the options describe and the point it looks at (the orbit's centre with ``--orbit``).

    Without ``--camera-pos`` it frames the dense part of the scene, stray floaters left out, as the
    studio's turntable does; without ``--look-at`` it looks at that part's centre.
    """
    width, height = args.size
    if not 1.0 <= args.fov_y <= 170.0:
        raise CliError(f"--fov-y must be between 1 and 170 degrees, got {args.fov_y}")
    if args.camera_pos is None:
        if args.look_at is not None:
            raise CliError("--look-at needs --camera-pos")
        return orbit_start(document, width, height, fov_y_deg=args.fov_y)
    target = np.array(args.look_at) if args.look_at is not None else orbit_start(document, width, height)[1]
    eye = np.array(args.camera_pos)
    distance = float(np.linalg.norm(target - eye))
    bounds = document.bounds()
    extent = 1.0 if bounds is None else float(np.linalg.norm(bounds[1] - bounds[0]))
    try:
        camera = Camera.look_at(
            eye, target, np.array(args.up), width=width, height=height, fov_y_deg=args.fov_y,
            near=max(1e-4, 1e-3 * distance), far=max(10.0, 10.0 * (distance + extent)),
        )
    except ValueError as exc:
        raise CliError(str(exc).removeprefix("Camera.look_at: ")) from exc
    return camera, target


def run(args: argparse.Namespace) -> int:
    from render import RenderSettings
    from render.context import HeadlessUnavailable

    _settle_options(args)
    if not all(0.0 <= c <= 1.0 for c in args.background):
        raise CliError(f"--background takes 0-1 floats, got {','.join(map(str, args.background))}")
    if isinstance(args.time, float) and not (math.isfinite(args.time) and args.time >= 0.0):
        raise CliError(f"--time must be a finite number of seconds >= 0 (or a frame, f12), got {args.time}")
    _video(args, 1 if args.orbit is None else args.orbit, TurntableSettings.fps if args.fps is None else args.fps)
    camera_path = None if args.camera_path is None else _read_camera_path(args)
    _check_output(args)
    document = read_scene(args.scene)
    clips = clips_of(document)
    fps = args.fps if args.fps is not None else clips[0].fps if clips else TurntableSettings.fps
    start = _start_time(args, clips)
    if start is not None:
        document.set_time(start)
    settings = RenderSettings(background=tuple(args.background))
    try:
        if camera_path is not None:
            _report(_render_path(args, document, camera_path, settings, fps, start))
        elif args.orbit is not None:
            camera, target = make_camera(args, document)
            _report(_render_orbit(args, document, camera, target, settings, _video(args, args.orbit, fps), start))
        elif args.video is not None:
            _report(_render_timeline(args, document, clips, settings, fps, start))
        else:
            camera, _ = make_camera(args, document)
            _render_still(args.out, document, camera, settings)
            print(f"wrote {args.out} ({camera.width}x{camera.height})")
    except HeadlessUnavailable as exc:
        raise CliError(str(exc)) from exc
    return 0


def _start_time(args: argparse.Namespace, clips: list[GaussianClip]) -> float | None:
    """``--time`` in seconds (a frame counted at the first clip's rate); None when not given."""
    if not isinstance(args.time, FrameNumber):
        return args.time
    if not clips:
        raise CliError(f"--time f{args.time} counts frames of a clip, but {args.scene.name} has none; give seconds")
    return args.time / clips[0].fps


def _settle_options(args: argparse.Namespace) -> None:
    """Check the options that depend on one another, and settle the output (``args.out``) and ``args.size``."""
    if args.out is not None and args.video is not None:
        raise CliError("give the output once, with --out or --video")
    args.out = args.out if args.out is not None else args.video
    if args.out is None:
        raise CliError("say where to write: --out shot.png, or --video OUT.mp4 (the clips' timeline, --path or --orbit)")
    if args.camera_path is not None:
        if args.orbit is not None:
            raise CliError("--path and --orbit each make a video: choose one")
        if args.camera_pos is not None or args.look_at is not None:
            raise CliError("--camera-pos and --look-at do not go with --path: the path gives the cameras")
    elif args.duration is not None:
        raise CliError("--duration goes with --path (an --orbit video lasts N / fps seconds)")
    width = args.size[0] if args.width is None else args.width
    height = args.size[1] if args.height is None else args.height
    if not (0 < width <= MAX_SIZE and 0 < height <= MAX_SIZE):
        raise CliError(f"the image size must be between 1x1 and {MAX_SIZE}x{MAX_SIZE} pixels, got {width}x{height}")
    args.size = (width, height)


def _check_output(args: argparse.Namespace) -> None:
    """Refuse an output that cannot be written before any rendering starts."""
    from render.video import VIDEO_SUFFIXES, is_frame_folder, is_frame_pattern

    out = args.out
    video = _is_video(args)
    if not video:
        if out.suffix.lower() != ".png":
            raise CliError(f"{out}: a single picture is written as .png (use --video, --orbit N or --path PATH.json for a video)")
    elif not is_frame_folder(out) and out.suffix.lower() not in VIDEO_SUFFIXES:
        raise CliError(f"{out}: a video is written as {', '.join(VIDEO_SUFFIXES)}, a folder or a pattern like frame_%04d.png")
    elif "%" in out.name and not is_frame_pattern(out):
        raise CliError(f"{out}: a pattern holds one frame number, like frame_%04d.png")
    if not (video and is_frame_folder(out)) and not out.parent.is_dir():
        raise CliError(f"{out}: the folder {out.parent} does not exist")


def _is_video(args: argparse.Namespace) -> bool:
    return args.orbit is not None or args.camera_path is not None or args.video is not None


def _video(args: argparse.Namespace, frames: int, fps: float) -> TurntableSettings:
    """The video the options describe (the studio's Export > Turntable takes the same settings)."""
    try:
        return TurntableSettings(*args.size, frames=frames, fps=fps)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _read_camera_path(args: argparse.Namespace) -> CameraPath:
    """The ``--path`` camera path, stretched to ``--duration``; a one-line error when it cannot be used."""
    try:
        path = CameraPath.load(args.camera_path)
        if args.duration is not None:
            path = path.retimed(args.duration)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return path


def _report(written: list[Path]) -> None:
    print(f"wrote {written[0] if len(written) == 1 else f'{len(written)} frames to {written[0].parent}'}")


def _render_still(out: Path, document: Document, camera: Camera, settings: RenderSettings) -> None:
    from render import render_image
    from render.video import write_png

    image = render_image(document, camera, settings)
    with atomic_output(out) as tmp:
        write_png(tmp, image)


def _render_orbit(
    args: argparse.Namespace, document: Document, camera: Camera, target: np.ndarray, settings: RenderSettings,
    turntable: TurntableSettings, start: float | None,
) -> list[Path]:
    from render.video import orbit_cameras, render_video

    cameras = orbit_cameras(camera, target, turntable.frames, np.array(args.up))
    times = timeline_times(document, turntable.frames, turntable.fps, start)
    return render_video(document, args.out, cameras, turntable.fps, settings, times=times)


def _render_path(
    args: argparse.Namespace, document: Document, camera_path: CameraPath, settings: RenderSettings, fps: float,
    start: float | None,
) -> list[Path]:
    """Frame ``k`` of the video is the path's camera at ``k / fps`` seconds (and the document at ``k / fps``
    seconds past ``start``, else past the timeline's in point)."""
    from render.video import render_video

    video = _video(args, len(camera_path.frames(fps)), fps)
    near, far = _clip_range(document, camera_path)
    cameras = camera_path.cameras(video.fps, video.width, video.height, near, far)
    times = timeline_times(document, len(cameras), video.fps, start)
    return render_video(document, args.out, cameras, video.fps, settings, times=times)


def _render_timeline(
    args: argparse.Namespace, document: Document, clips: list[GaussianClip], settings: RenderSettings, fps: float,
    start: float | None,
) -> list[Path]:
    """The timeline: its in-out range (from ``start`` when given) at ``fps``, from one camera: the frames
    the studio's Export > Timeline Video makes at that rate."""
    from render.video import render_video

    if not clips:
        raise CliError(f"{args.scene.name} has no clip to play along its timeline: --video needs --path or --orbit "
                       "for a still scene")
    times = timeline_video_times(document, fps, start)
    video = _video(args, len(times), fps)
    camera, _ = make_camera(args, document)
    return render_video(document, args.out, [camera] * video.frames, video.fps, settings, times=times)


def _clip_range(document: Document, camera_path: CameraPath) -> tuple[float, float]:
    """Near and far planes that keep the whole scene in view from anywhere along the path."""
    bounds = document.bounds()
    lo, hi = bounds if bounds is not None else (-np.ones(3), np.ones(3))
    positions = np.array([k.position for k in camera_path.keys])
    reach = float(np.linalg.norm(hi - lo) + np.linalg.norm(positions - 0.5 * (lo + hi), axis=1).max())
    return max(1e-4, 1e-4 * reach), max(10.0, 10.0 * reach)
