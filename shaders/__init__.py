"""GLSL sources of the viewport, loaded by name.

A line ``#include "name.glsl"`` is replaced by that file's text (once per file), so the EWA
projection and SH maths exist in one place and every shader that needs them shares them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_FOLDER = Path(__file__).resolve().parent
_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)


@lru_cache(maxsize=None)
def load(name: str) -> str:
    """The source of shader ``name`` (e.g. ``"splat_draw.vert"``) with its includes expanded."""
    path = _FOLDER / name
    if not path.is_file():
        raise FileNotFoundError(f"no shader named {name!r} in {_FOLDER}")
    seen: set[str] = set()

    def expand(match: re.Match) -> str:
        included = match.group(1)
        if included in seen:
            return ""
        seen.add(included)
        return _INCLUDE.sub(expand, (_FOLDER / included).read_text())

    return _INCLUDE.sub(expand, path.read_text())


__all__ = ["load"]
