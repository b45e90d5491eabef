"""``atelier4d`` and ``atelier4d open PATH``: the studio window (Qt is imported only here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.commands.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "open",
        help="open a project, or import any supported file into a new one",
        description="Open the studio on a project (.a4d) or on a new project holding the given file.",
    )
    parser.add_argument("path", type=Path)
    parser.set_defaults(func=launch_studio)


def launch_studio(args: argparse.Namespace) -> int:
    """Open the studio window; with no path, the last project (or the demo on first launch)."""
    path = getattr(args, "path", None)
    if path is not None and not path.exists():
        raise CliError(f"{path}: no such file")
    from studio.app import run_studio

    return run_studio(None if path is None else str(path))
