"""Headless GL contexts (EGL, no X server) for the CLI, tests and video export.

The studio's viewport brings its own context (Qt's); nothing else in :mod:`render` cares where the
context came from.
"""

from __future__ import annotations

from functools import lru_cache

import moderngl

MIN_GL_VERSION = 330


class HeadlessUnavailable(RuntimeError):
    """No headless OpenGL 3.3 context could be made on this machine (the message says why)."""


def create_headless_context() -> moderngl.Context:
    """A new standalone OpenGL >= 3.3 core context through EGL."""
    try:
        ctx = moderngl.create_context(standalone=True, backend="egl", require=MIN_GL_VERSION)
    except Exception as exc:  # moderngl raises plain Exceptions for missing libraries and drivers
        raise HeadlessUnavailable(f"cannot create a headless OpenGL 3.3 context through EGL: {exc}") from exc
    return ctx


@lru_cache(maxsize=1)
def shared_headless_context() -> moderngl.Context:
    """One headless context per process, reused by every offscreen render (contexts are costly)."""
    return create_headless_context()
