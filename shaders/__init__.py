"""GLSL sources of the viewport, loaded by name.

A line ``#include "name.glsl"`` is replaced by that file's text (once per file), so the EWA
projection and SH maths exist in one place and every shader that needs them shares them.
``#include "formation.glsl"`` is generated: the image-formation constants of
:mod:`scene.formation` (shared with the training rasterizer) as ``const float`` declarations, so
no shader writes those numbers itself. ``defines`` compile a variant of one source (``#ifdef``),
such as the splat preprocess pass of clips, rather than a copy of the file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from scene.formation import constants

_FOLDER = Path(__file__).resolve().parent
_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)
FORMATION_INCLUDE = "formation.glsl"


def formation_glsl() -> str:
    """The shared image-formation constants as GLSL declarations (``repr`` keeps every digit)."""
    lines = [f"const float {name} = {float(value)!r};" for name, value in constants().items()]
    return "// generated from scene/formation.py\n" + "\n".join(lines) + "\n"


@lru_cache(maxsize=None)
def load(name: str, defines: tuple[str, ...] = ()) -> str:
    """The source of shader ``name`` (e.g. ``"splat_draw.vert"``) with its includes expanded and
    ``#define`` lines for ``defines`` after its ``#version`` line."""
    path = _FOLDER / name
    if not path.is_file():
        raise FileNotFoundError(f"no shader named {name!r} in {_FOLDER}")
    seen: set[str] = set()

    def expand(match: re.Match) -> str:
        included = match.group(1)
        if included in seen:
            return ""
        seen.add(included)
        text = formation_glsl() if included == FORMATION_INCLUDE else (_FOLDER / included).read_text()
        return _INCLUDE.sub(expand, text)

    version, _, body = _INCLUDE.sub(expand, path.read_text()).partition("\n")
    return "\n".join([version, *(f"#define {define}" for define in defines), body])


__all__ = ["FORMATION_INCLUDE", "formation_glsl", "load"]
