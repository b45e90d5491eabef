"""``atelier4d convert IN OUT``: change a file's format, chosen by the output's extension."""

from __future__ import annotations

import argparse
from pathlib import Path

from scene.io import load, save
from scene.kinds import POINTS, kind_of
from studio.commands.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "convert",
        help="convert between formats (PLY <-> .splat, OBJ/PLY/GLB meshes -> GLB ...)",
        description="Convert a file to the format its output extension names. Splats: .ply (3DGS) and "
        ".splat; meshes: .glb, .obj, .ply; point clouds: .ply (and .splat, as small round splats).",
    )
    parser.add_argument("input", type=Path, help="file to read")
    parser.add_argument("output", type=Path, help="file to write (replaced only when conversion succeeds)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.input.is_file():
        raise CliError(f"{args.input}: no such file")
    if args.output.resolve() == args.input.resolve():
        raise CliError("the output must be another file than the input")
    data = load(args.input)
    if kind_of(data) is POINTS and args.output.suffix.lower() == ".splat":
        data = data.to_gaussians()
    save(args.output, data)
    print(f"wrote {args.output} ({kind_of(data).describe(data)})")
    return 0
