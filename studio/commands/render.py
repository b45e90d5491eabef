"""``atelier4d render PATH --out shot.png``: a headless picture (or turntable) of a scene file."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scene import Camera, Document
from scene.io import atomic_output, load
from scene.io.project import PROJECT_SUFFIX, load_project
from studio.commands.common import CliError, image_size, vector
from studio.turntable import TurntableSettings, orbit_start

if TYPE_CHECKING:
    from render import RenderSettings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "render",
        help="render a scene file to a PNG, or a turntable to MP4 / PNG frames (no display needed)",
        description="Render a project (.a4d) or any scene file headless (OpenGL through EGL). Without "
        "--camera-pos the scene is framed from the front, slightly above: its dense part, stray floaters "
        "left out (as the studio's turntable export frames it).",
    )
    parser.add_argument("path", type=Path, help="a .a4d project or any file 'atelier4d info' reads")
    parser.add_argument("--out", type=Path, required=True,
                        help="output: shot.png; with --orbit a .mp4, a folder or a pattern like frame_%%04d.png")
    parser.add_argument("--size", type=image_size, default=(1280, 720), metavar="WxH", help="image size (1280x720)")
    parser.add_argument("--camera-pos", type=vector(3, "camera-pos"), metavar="X,Y,Z", help="camera position")
    parser.add_argument("--look-at", type=vector(3, "look-at"), metavar="X,Y,Z",
                        help="point the camera looks at (default: the scene's centre)")
    parser.add_argument("--up", type=vector(3, "up"), default=(0.0, 1.0, 0.0), metavar="X,Y,Z",
                        help="up direction (0,1,0)")
    parser.add_argument("--fov-y", type=float, default=50.0, metavar="DEG", help="vertical field of view (50)")
    parser.add_argument("--background", type=vector(3, "background"), default=(0.0, 0.0, 0.0), metavar="R,G,B",
                        help="background colour, 0-1 floats (0,0,0)")
    parser.add_argument("--time", type=float, default=None, metavar="SECONDS",
                        help="the document time to render, in seconds >= 0 (default: a project's saved time, "
                        "else 0); static layers look the same at every time")
    parser.add_argument("--orbit", type=int, default=None, metavar="N",
                        help="render N frames orbiting the scene about --up instead of one picture")
    parser.add_argument("--fps", type=float, default=TurntableSettings.fps,
                        help=f"frames per second of an --orbit video ({TurntableSettings.fps:g})")
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

    if not all(0.0 <= c <= 1.0 for c in args.background):
        raise CliError(f"--background takes 0-1 floats, got {','.join(map(str, args.background))}")
    if args.time is not None and not (math.isfinite(args.time) and args.time >= 0.0):
        raise CliError(f"--time must be a finite number of seconds >= 0, got {args.time}")
    turntable = None if args.orbit is None else _turntable(args)
    _check_output(args)
    document = read_scene(args.path)
    if args.time is not None:
        document.set_time(args.time)
    camera, target = make_camera(args, document)
    settings = RenderSettings(background=tuple(args.background))
    try:
        if turntable is not None:
            written = _render_orbit(args, document, camera, target, settings, turntable)
            print(f"wrote {written[0] if len(written) == 1 else f'{len(written)} frames to {written[0].parent}'}")
        else:
            _render_still(args.out, document, camera, settings)
            print(f"wrote {args.out} ({camera.width}x{camera.height})")
    except HeadlessUnavailable as exc:
        raise CliError(str(exc)) from exc
    return 0


def _check_output(args: argparse.Namespace) -> None:
    """Refuse an output that cannot be written before any rendering starts."""
    from render.video import VIDEO_SUFFIXES, is_frame_folder

    out = args.out
    if args.orbit is None:
        if out.suffix.lower() != ".png":
            raise CliError(f"{out}: a single picture is written as .png (use --orbit N for a video)")
    elif not is_frame_folder(out) and out.suffix.lower() not in VIDEO_SUFFIXES:
        raise CliError(f"{out}: --orbit writes {', '.join(VIDEO_SUFFIXES)}, a folder or a pattern like frame_%04d.png")
    if not (args.orbit is not None and is_frame_folder(out)) and not out.parent.is_dir():
        raise CliError(f"{out}: the folder {out.parent} does not exist")


def _turntable(args: argparse.Namespace) -> TurntableSettings:
    """The ``--orbit`` video the options describe (the studio's Export > Turntable takes the same settings)."""
    try:
        return TurntableSettings(*args.size, frames=args.orbit, fps=args.fps)
    except ValueError as exc:
        raise CliError(str(exc)) from None


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
