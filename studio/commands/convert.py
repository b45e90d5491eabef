"""``atelier4d convert IN OUT [--layer NAME]``: change a file's format, chosen by the output's extension;
from a project (``.a4d``), the layer named ``--layer``, its transform baked in as the studio exports it."""

from __future__ import annotations

import argparse
from pathlib import Path

from scene import Layer
from scene.io import load, save
from scene.io.project import PROJECT_SUFFIX, load_project
from scene.kinds import POINTS, kind_of
from studio.commands.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "convert",
        help="convert between formats (PLY <-> .splat, OBJ/PLY/GLB meshes -> GLB ...), or pull a layer out of a project",
        description="Convert a file to the format its output extension names. Splats: .ply (3DGS) and "
        ".splat; meshes: .glb, .obj, .ply; point clouds: .ply (and .splat, as small round splats). From a "
        "project (.a4d), --layer names the layer to write, placed as in the project.",
    )
    parser.add_argument("input", type=Path, help="file to read: a scene file, or a project with --layer")
    parser.add_argument("output", type=Path, help="file to write (replaced only when conversion succeeds)")
    parser.add_argument("--layer", metavar="NAME", help="the layer of a project (.a4d) to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.input.is_file():
        raise CliError(f"{args.input}: no such file")
    if args.output.resolve() == args.input.resolve():
        raise CliError("the output must be another file than the input")
    if args.output.suffix.lower() == PROJECT_SUFFIX:
        raise CliError(f"{args.output}: convert writes one layer as .ply, .splat, .glb or .obj; "
                       "to make a project, open the file in the studio and save it")
    if args.input.suffix.lower() == PROJECT_SUFFIX:
        layer = project_layer(args.input, args.layer)
        data = layer.payload_kind.transformed(layer.data, layer.transform.matrix())
    elif args.layer is not None:
        raise CliError(f"--layer picks a layer of a project (.a4d); {args.input.name} holds a single one")
    else:
        data = load(args.input)
    if kind_of(data) is POINTS and args.output.suffix.lower() == ".splat":
        data = data.to_gaussians()
    save(args.output, data)
    print(f"wrote {args.output} ({kind_of(data).describe(data)})")
    return 0


def project_layer(path: Path, name: str | None) -> Layer:
    """The one layer of the project at ``path`` named ``name``; CliError listing the names otherwise."""
    layers = load_project(path).layers
    names = ", ".join(repr(layer.name) for layer in layers) or "none"
    if name is None:
        raise CliError(f"{path.name} is a project: name the layer to convert with --layer NAME (its layers: {names})")
    found = [layer for layer in layers if layer.name == name]
    if not found:
        raise CliError(f"{path.name} has no layer named {name!r} (its layers: {names})")
    if len(found) > 1:
        raise CliError(f"{path.name} has {len(found)} layers named {name!r}; rename them apart in the studio first")
    return found[0]

