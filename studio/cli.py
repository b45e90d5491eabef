"""The ``atelier4d`` command line: the studio with no arguments, subcommands for everything headless.

Qt is imported only when a window opens, so every subcommand runs on a machine without a display.
Output piped into a reader that stops early (``atelier4d info X | head``) ends the command quietly.
Each run, the studio's included, starts by removing the stream folders that killed runs left in
shared memory (:func:`engines.runtime.stream.remove_orphan_stream_dirs`).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Sequence

from engines.runtime.stream import remove_orphan_stream_dirs
from scene.io import FormatError
from studio.commands import batch, common, convert, generate, info, models, open_cmd, render


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atelier4d",
        description="Atelier4D: generate, edit and export 3D and 4D Gaussian-splat scenes.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (open_cmd, convert, info, render, generate, batch, models):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``atelier4d`` command line (started by :mod:`studio.entry`); returns the exit status.
    Ctrl-C at any point, the parsing of the arguments included, is one line and status 130."""
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("atelier4d: interrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    args_list = common.join_negative_vectors(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)  # usage errors exit 2 here
    func = getattr(args, "func", None) or open_cmd.launch_studio
    remove_orphan_stream_dirs()
    try:
        status = int(func(args) or 0)
        sys.stdout.flush()  # a reader that stopped early (``| head``) shows here, not at exit
        return status
    except BrokenPipeError:
        _drop_stdout()
        return 0  # the reader had what it wanted
    except (common.CliError, FormatError) as exc:
        print(f"atelier4d: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # one the command did not say in its own words: still one line naming the file
        print(f"atelier4d: error: {common.os_error_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug or an unexpected failure: still one clear line
        if args.debug:
            traceback.print_exc()
        print(f"atelier4d: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if not args.debug:
            print("atelier4d: run again with --debug for the full traceback", file=sys.stderr)
        return 1


def _drop_stdout() -> None:
    """Point stdout at the null device, so that Python's flush at exit finds no closed pipe to complain about."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
