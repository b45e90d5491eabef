"""The ``atelier4d`` console script: Ctrl-C gives one line and status 130 from the first instant.

Loading the command line (:mod:`studio.cli`: numpy, the scene, the engines' settings) takes a second
or more, and Python's own Ctrl-C then prints a traceback of whatever was importing. So this module,
which imports nothing more than the interpreter has loaded already, takes SIGINT before anything
else: until the command line is loaded, Ctrl-C ends the run at once ("atelier4d: interrupted",
status 130: there is nothing to clean up yet); after it, Python's KeyboardInterrupt is back, and the
command line turns it into the same line once the command has cleaned up.
"""

from __future__ import annotations

import os
import signal
import sys

INTERRUPTED = 130  # 128 + SIGINT, the shell's convention


def _interrupted_while_loading(signum: int, frame: object) -> None:
    os.write(2, b"atelier4d: interrupted\n")
    os._exit(INTERRUPTED)


if "__mp_main__" in sys.modules:  # an engine's worker, loading its parent's main module: Ctrl-C is the parent's
    signal.signal(signal.SIGINT, signal.SIG_IGN)
elif signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # ignored from its start (a background job): it stays so
    signal.signal(signal.SIGINT, _interrupted_while_loading)


def main() -> int:
    """Entry point of the ``atelier4d`` script: :func:`studio.cli.main` once it is loaded."""
    from studio.cli import main as run

    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return run()
