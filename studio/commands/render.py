"""``atelier4d render SCENE --out shot.png``: a headless picture, turntable or camera-path video of a scene file."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scene import Camera, Document
from scene.camera_path import CameraPath
from scene.io import atomic_output, load
from scene.io.project import PROJECT_SUFFIX, load_project
from studio.commands.common import CliError, image_size, vector
from studio.turntable import MAX_SIZE, TurntableSettings, orbit_start

if TYPE_CHECKING:
    from render import RenderSettings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "render",
        help="render a scene file to a PNG, or a turntable or camera-path video to MP4 / PNG frames (no display needed)",
        description="Render a project (.a4d) or any scene file headless (OpenGL through EGL). Without "
        "--camera-pos the scene is framed from the front, slightly above: its dense part, stray floaters "
        "left out (as the studio's turntable export frames it). With --path the camera flies along a "
        "camera path saved as JSON: frame k shows the path's camera at k / fps seconds.",
    )
    parser.add_argument("scene", type=Path, metavar="SCENE", help="a .a4d project or any file 'atelier4d info' reads")
    parser.add_argument("--out", type=Path,
                        help="output: shot.png; with --orbit or --path a .mp4, a folder or a pattern like frame_%%04d.png")
    parser.add_argument("--video", type=Path, metavar="OUT",
                        help="the same as --out, for the video of --path or --orbit")
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
    parser.add_argument("--time", type=float, default=None, metavar="SECONDS",
                        help="the document time to render, in seconds >= 0 (default: a project's saved time, "
                        "else 0); static layers look the same at every time")
    parser.add_argument("--orbit", type=int, default=None, metavar="N",
                        help="render N frames orbiting the scene about --up instead of one picture")
    parser.add_argument("--fps", type=float, default=TurntableSettings.fps,
                        help=f"frames per second of an --orbit or --path video ({TurntableSettings.fps:g})")
    parser.set_defaults(func=run)


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
    if args.time is not None and not (math.isfinite(args.time) and args.time >= 0.0):
        raise CliError(f"--time must be a finite number of seconds >= 0, got {args.time}")
    turntable = None if args.orbit is None else _video(args, args.orbit)
    camera_path = None if args.camera_path is None else _read_camera_path(args)
    _check_output(args)
    document = read_scene(args.scene)
    if args.time is not None:
        document.set_time(args.time)
    settings = RenderSettings(background=tuple(args.background))
    try:
        if camera_path is not None:
            _report(_render_path(args, document, camera_path, settings))
        elif turntable is not None:
            camera, target = make_camera(args, document)
            _report(_render_orbit(args, document, camera, target, settings, turntable))
        else:
            camera, _ = make_camera(args, document)
            _render_still(args.out, document, camera, settings)
            print(f"wrote {args.out} ({camera.width}x{camera.height})")
    except HeadlessUnavailable as exc:
        raise CliError(str(exc)) from exc
    return 0


def _settle_options(args: argparse.Namespace) -> None:
    """Check the options that depend on one another, and settle the output (``args.out``) and ``args.size``."""
    video = args.orbit is not None or args.camera_path is not None
    if args.out is not None and args.video is not None:
        raise CliError("give the output once, with --out or --video")
    if args.video is not None and not video:
        raise CliError("--video needs --path or --orbit (a picture is written with --out shot.png)")
    args.out = args.out if args.out is not None else args.video
    if args.out is None:
        raise CliError("say where to write: --out shot.png, or --video OUT.mp4 with --path or --orbit")
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
    from render.video import VIDEO_SUFFIXES, is_frame_folder

    out = args.out
    video = args.orbit is not None or args.camera_path is not None
    if not video:
        if out.suffix.lower() != ".png":
            raise CliError(f"{out}: a single picture is written as .png (use --orbit N or --path PATH.json for a video)")
    elif not is_frame_folder(out) and out.suffix.lower() not in VIDEO_SUFFIXES:
        raise CliError(f"{out}: a video is written as {', '.join(VIDEO_SUFFIXES)}, a folder or a pattern like frame_%04d.png")
    if not (video and is_frame_folder(out)) and not out.parent.is_dir():
        raise CliError(f"{out}: the folder {out.parent} does not exist")


def _video(args: argparse.Namespace, frames: int) -> TurntableSettings:
    """The video the options describe (the studio's Export > Turntable takes the same settings)."""
    try:
        return TurntableSettings(*args.size, frames=frames, fps=args.fps)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _read_camera_path(args: argparse.Namespace) -> CameraPath:
    """The ``--path`` camera path, stretched to ``--duration``; a one-line error when it cannot be used."""
    _video(args, 1)  # the rate and size are checked before the path is read
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
    import imageio.v3 as iio

    from render import render_image

    image = render_image(document, camera, settings)
    with atomic_output(out) as tmp:
        iio.imwrite(tmp, image, extension=".png")


def _render_orbit(
    args: argparse.Namespace, document: Document, camera: Camera, target: np.ndarray, settings: RenderSettings,
    turntable: TurntableSettings,
) -> list[Path]:
    from render.video import render_turntable

    return render_turntable(
        document, args.out, camera=camera, target=target, up=np.array(args.up), frames=turntable.frames,
        fps=turntable.fps, settings=settings,
    )


def _render_path(args: argparse.Namespace, document: Document, camera_path: CameraPath, settings: RenderSettings) -> list[Path]:
    """Frame ``k`` of the video is the path's camera at ``k / fps`` seconds."""
    from render.video import render_video

    video = _video(args, len(camera_path.frames(args.fps)))
    near, far = _clip_range(document, camera_path)
    cameras = camera_path.cameras(video.fps, video.width, video.height, near, far)
    return render_video(document, args.out, cameras, video.fps, settings)


def _clip_range(document: Document, camera_path: CameraPath) -> tuple[float, float]:
    """Near and far planes that keep the whole scene in view from anywhere along the path."""
    bounds = document.bounds()
    lo, hi = bounds if bounds is not None else (-np.ones(3), np.ones(3))
    positions = np.array([k.position for k in camera_path.keys])
    reach = float(np.linalg.norm(hi - lo) + np.linalg.norm(positions - 0.5 * (lo + hi), axis=1).max())
    return max(1e-4, 1e-4 * reach), max(10.0, 10.0 * reach)
