"""``atelier4d convert IN OUT [--layer NAME] [--fps F]``: change a file's format, chosen by the output's
extension; from a project (``.a4d``), the layer named ``--layer`` (or its only one), its transform baked in
as the studio exports it. Clips: a folder of PLY frames converts to a project holding them as a clip,
and a clip to a folder of PLY frames or an animated ``.glb``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from scene import Document, Layer
from scene.clip import GaussianClip
from scene.io import FormatError, load, save
from scene.io.ply_sequence import DEFAULT_FPS, read_ply_sequence, write_ply_sequence
from scene.io.project import PROJECT_SUFFIX, load_project, save_project
from scene.kinds import POINTS, kind_of
from studio.commands.common import CliError

def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "convert",
        help="convert between formats (PLY <-> .splat, OBJ/PLY/GLB meshes -> GLB, PLY sequences <-> clips ...), "
        "or pull a layer out of a project",
        description="Convert a file to the format its output extension names. Splats: .ply (3DGS) and "
        ".splat; meshes: .glb, .obj, .ply; point clouds: .ply (and .splat, as small round splats). From a "
        "project (.a4d), --layer names the layer to write, placed as in the project. A folder of PLY frames "
        "(frame_0000.ply ..., taken in name order) converts to a project (.a4d) holding them as a clip; a clip "
        "converts to a folder of PLY frames (DIR/) or an animated .glb.",
    )
    parser.add_argument("input", type=Path, help="what to read: a scene file, a folder of PLY frames, or a project")
    parser.add_argument("output", type=Path,
                        help="what to write (replaced only when conversion succeeds): a file, a project (.a4d) for a "
                        "folder of PLY frames, a folder (DIR/) or .glb for a clip")
    parser.add_argument("--layer", metavar="NAME", help="the layer of a project (.a4d) to write (default: its only one)")
    parser.add_argument("--fps", type=frame_rate, default=None, metavar="F",
                        help=f"frames per second: of a folder of PLY frames read as a clip ({DEFAULT_FPS:g}); "
                        "of a clip written as frames or .glb (default: the clip's own frames)")
    parser.set_defaults(func=run)


def frame_rate(text: str) -> float:
    """An argparse ``type`` for a positive number of frames per second."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"the frame rate must be a positive number, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    if not (args.input.is_file() or args.input.is_dir()):
        raise CliError(f"{args.input}: no such file or folder")
    if args.output.resolve() == args.input.resolve():
        raise CliError("the output must be another file than the input")
    if args.input.is_dir():
        return _from_sequence(args)
    if args.output.suffix.lower() == PROJECT_SUFFIX:
        raise CliError(f"{args.output}: convert writes one layer as .ply, .splat, .glb or .obj; "
                       "to make a project, open the file in the studio and save it")
    if args.input.suffix.lower() == PROJECT_SUFFIX:
        layer = project_layer(args.input, args.layer)
        data = layer.data  # untouched without a transform: a clip's frames go out exactly as they came in
        if not layer.transform.is_identity():
            data = layer.payload_kind.transformed(data, layer.transform.matrix())
    elif args.layer is not None:
        raise CliError(f"--layer picks a layer of a project (.a4d); {args.input.name} holds a single one")
    else:
        data = load(args.input)
    if isinstance(data, GaussianClip):
        return _write_clip(data, args.output, args.fps)
    if args.fps is not None:
        raise CliError(f"--fps goes with clips; {args.input.name} holds a {kind_of(data).label} layer")
    if kind_of(data) is POINTS and args.output.suffix.lower() == ".splat":
        data = data.to_gaussians()
    save(args.output, data)
    _report(args.output, data)
    return 0


def _report(output: Path, data: Any) -> None:
    print(f"wrote {output} ({kind_of(data).describe(data)})")


def _from_sequence(args: argparse.Namespace) -> int:
    """A folder of PLY frames as a project holding one clip layer named after the folder."""
    if args.layer is not None:
        raise CliError(f"--layer picks a layer of a project (.a4d); {args.input.name} is a folder of PLY frames")
    if args.output.suffix.lower() != PROJECT_SUFFIX:
        raise CliError(f"{args.output}: a folder of PLY frames converts to a project holding the clip (OUT{PROJECT_SUFFIX})")
    clip = read_ply_sequence(args.input, args.fps or DEFAULT_FPS)
    document = Document()
    document.add_layer(Layer(args.input.resolve().name or "clip", clip))
    save_project(document, args.output)
    _report(args.output, clip)
    return 0


def _write_clip(clip: GaussianClip, output: Path, fps: float | None) -> int:
    """A clip as a folder of PLY frames, or as an animated GLB."""
    suffix = output.suffix.lower()
    if suffix == ".glb":
        from engines.meshing.animated import write_animated_glb

        try:
            written = write_animated_glb(clip, output, **({} if fps is None else {"fps": fps}))
        except FormatError as exc:  # names the file already
            raise CliError(str(exc)) from None
        except ValueError as exc:
            raise CliError(f"{output}: {exc}") from None
        print(f"wrote {output} ({written})")
    elif not suffix or output.is_dir():
        written = write_ply_sequence(clip, output, fps)
        print(f"wrote {len(written)} frames to {output} ({written[0].name} ... {written[-1].name})")
    else:
        raise CliError(f"{output}: a clip converts to a folder of PLY frames (a name without extension) or an animated .glb")
    return 0


def project_layer(path: Path, name: str | None) -> Layer:
    """The one layer of the project at ``path`` named ``name`` (None: its only layer); CliError listing the names otherwise."""
    layers = load_project(path).layers
    names = ", ".join(repr(layer.name) for layer in layers) or "none"
    if name is None and len(layers) == 1:
        return layers[0]
    if name is None:
        raise CliError(f"{path.name} is a project: name the layer to convert with --layer NAME (its layers: {names})")
    found = [layer for layer in layers if layer.name == name]
    if not found:
        raise CliError(f"{path.name} has no layer named {name!r} (its layers: {names})")
    if len(found) > 1:
        raise CliError(f"{path.name} has {len(found)} layers named {name!r}; rename them apart in the studio first")
    return found[0]

