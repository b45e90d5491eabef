"""Headless GL contexts (EGL, no X server) for the CLI, tests and video export.

The studio's viewport brings its own context (Qt's); nothing else in :mod:`render` cares where the
context came from. While a thread has a headless context current, Ctrl-C (SIGINT) is held back on it
and comes as KeyboardInterrupt when the block ends: Mesa's shader compiler can crash when a signal
lands in it (13 of 30 ``atelier4d render`` runs interrupted while compiling segfaulted; 0 of 30 held).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import moderngl

MIN_GL_VERSION = 330
_HOLDERS: dict[int, "_Holder"] = {}  # per headless context (by id): one thread at a time may have it current
_HOLDERS_GUARD = threading.Lock()


class HeadlessUnavailable(RuntimeError):
    """No headless OpenGL 3.3 context could be made on this machine (the message says why)."""


def create_headless_context() -> moderngl.Context:
    """A new standalone OpenGL >= 3.3 core context through EGL, current on no thread.

    Do GL work on it inside :func:`current`: a context left current would keep other threads from
    using it and, on the GUI thread, keep Qt's own context from becoming current.
    """
    try:
        ctx = moderngl.create_context(standalone=True, backend="egl", require=MIN_GL_VERSION)
    except Exception as exc:  # moderngl raises plain Exceptions for missing libraries and drivers
        raise HeadlessUnavailable(f"cannot create a headless OpenGL 3.3 context through EGL: {exc}") from exc
    with ctx:  # creating made it current; leaving restores "none current"
        pass
    return ctx


class _Holder:
    """Who may have one headless context current: a lock, and how deep the owner's blocks nest."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0  # only read and written by the thread holding the lock


@contextmanager
def current(ctx: moderngl.Context) -> Iterator[moderngl.Context]:
    """Make the headless ``ctx`` current on this thread for the block (waiting while another thread
    has it), then current on none again. Blocks nest: only the outermost one switches (moderngl's
    own ``with ctx`` does not nest: leaving an inner one would release the context)."""
    with _HOLDERS_GUARD:
        holder = _HOLDERS.setdefault(id(ctx), _Holder())
    with holder.lock:
        outermost = holder.depth == 0
        if outermost:
            held = _hold_interrupts()
            ctx.__enter__()
        holder.depth += 1
        try:
            yield ctx
        finally:
            holder.depth -= 1
            if outermost:
                ctx.__exit__(None, None, None)
                if held is not None:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held Ctrl-C is raised now


def _hold_interrupts() -> set[signal.Signals] | None:
    """Block SIGINT on this thread where the system can (the mask to restore), else None."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


@lru_cache(maxsize=1)
def shared_headless_context() -> moderngl.Context:
    """One headless context per process, reused by every offscreen render (contexts are costly)."""
    return create_headless_context()
