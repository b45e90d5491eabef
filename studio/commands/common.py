"""What the subcommands share: the error type and how a file-system error is said, vector options and image sizes."""

from __future__ import annotations

import argparse
import math
from typing import Sequence


class CliError(Exception):
    """A failure to report as one clear line on stderr with exit status 1."""


def os_error_line(exc: OSError) -> str:
    """A file-system error as one line naming its file, ``in.ply: permission denied``: the writers say
    their own (:mod:`scene.io.atomic`); this is for any other, such as an input that cannot be read."""
    problem = (exc.strerror or str(exc) or type(exc).__name__).lower()
    return problem if exc.filename is None else f"{exc.filename}: {problem}"


def vector(size: int, name: str = "value"):
    """An argparse ``type`` for ``size`` comma-separated finite numbers, e.g. ``-2,1,3``."""

    def parse(text: str) -> tuple[float, ...]:
        parts = [p.strip() for p in text.split(",")]
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {size} comma-separated numbers, got {text!r}")
        if len(values) != size or not all(math.isfinite(v) for v in values):
            raise argparse.ArgumentTypeError(f"{name} must be {size} comma-separated numbers, got {text!r}")
        return values

    parse.__name__ = name  # argparse uses it in messages
    return parse


def image_size(text: str) -> tuple[int, int]:
    """An argparse ``type`` for ``WxH``, e.g. ``1280x720``."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}")
    if not (0 < w <= 16384 and 0 < h <= 16384):
        raise argparse.ArgumentTypeError(f"size must be between 1x1 and 16384x16384, got {text!r}")
    return w, h


def join_negative_vectors(argv: Sequence[str]) -> list[str]:
    """Let ``--opt -2,1,3`` mean ``--opt=-2,1,3``.

    argparse takes a value that starts with ``-`` for an option unless it is a plain negative
    number, so comma-separated vectors with a leading minus need joining to their option.
    """
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if (
            arg.startswith("--")
            and "=" not in arg
            and nxt is not None
            and nxt.startswith("-")
            and _looks_numeric(nxt)
        ):
            out.append(f"{arg}={nxt}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _looks_numeric(text: str) -> bool:
    try:
        [float(p) for p in text.split(",")]
        return True
    except ValueError:
        return False
