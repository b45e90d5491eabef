"""``atelier4d generate ENGINE ...``: run a registered engine in the terminal.

Each engine is a sub-subcommand whose options are built from its config dataclass, one option per
field (``steps`` -> ``--steps``, ``views_per_step`` -> ``--views-per-step``), typed and documented
from the field's annotation and docstring, so the command line and the GUI's forms, both read off
the same dataclass, never drift apart. The run goes through the same job runtime as the GUI's
(:func:`engines.runtime.foreground.run_foreground`): a progress bar, Ctrl-C leaves a checkpoint in
``--run-dir``, and ``--resume`` continues from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any, Literal

from engines.registry import config_from_dict, engine_names, field_docs, find_engine, load_engines
from studio.commands.common import CliError, vector

RUN_OPTIONS = ("run_dir", "resume", "device")
"""Options of every engine's command that belong to the run, not the config."""


def register(sub: argparse._SubParsersAction) -> None:
    failed = load_engines()
    parser = sub.add_parser(
        "generate",
        help="run a generation or optimization engine (reconstruct, ...)",
        description="Run an engine in the terminal with a progress bar; Ctrl-C stops it and leaves a "
        "checkpoint in --run-dir, which --resume continues.",
    )
    engines = parser.add_subparsers(dest="engine", metavar="ENGINE", required=True)
    for name in engine_names():
        entry = find_engine(name)
        engine_parser = engines.add_parser(name, help=entry.doc, description=entry.doc)
        add_config_options(engine_parser, entry.config_cls)
        add_run_options(engine_parser)
        engine_parser.set_defaults(func=run, config_cls=entry.config_cls)
    for module, error in failed.items():
        name = module.rpartition(".")[2]
        if name not in engines.choices:
            add_unavailable(engines, name, f"engine {name!r} is unavailable: {module} failed to import ({error})")


def add_unavailable(engines: argparse._SubParsersAction, name: str, reason: str) -> None:
    """A command for an engine whose module failed to import: it takes any arguments and fails with ``reason``.

    Without it, asking for the engine would end in argparse's bare "invalid choice".
    """
    parser = engines.add_parser(name, help=reason, add_help=False, prefix_chars="\0")  # no options: "--x" is text
    parser.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
    parser.set_defaults(func=unavailable, reason=reason)


def unavailable(args: argparse.Namespace) -> typing.NoReturn:
    """The command of an engine that failed to import: a clear error instead of a run."""
    raise CliError(args.reason)


# --------------------------------------------------------------------- dataclass -> argparse
def add_config_options(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One option per field of the dataclass ``config_cls``; fields without a default are required."""
    docs = field_docs(config_cls)
    hints = typing.get_type_hints(config_cls)
    group = parser.add_argument_group("engine settings")
    for field in dataclasses.fields(config_cls):
        if not field.init:
            continue
        has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        kwargs = option_kwargs(field.name, hints[field.name])
        help_text = docs.get(field.name, "")
        if has_default:
            default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
            help_text += f" (default: {_show(default)})"
        group.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            required=not has_default,
            default=argparse.SUPPRESS,  # only given options override the dataclass's defaults
            help=help_text.strip(),
            **kwargs,
        )


def option_kwargs(name: str, kind: Any) -> dict[str, Any]:
    """argparse ``type``/``choices``/``action``/``metavar`` for a field annotated ``kind``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        return {"action": argparse.BooleanOptionalAction}
    if kind in (int, float, str):
        return {"type": kind, "metavar": name.upper()}
    if origin is Literal:
        return {"choices": list(args), "type": type(args[0])}
    if origin is tuple and args and all(a is float for a in args):
        return {"type": vector(len(args), name), "metavar": ",".join("X" * len(args))}
    raise TypeError(f"generate: no command-line form for {name}: {kind!r}")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run")
    group.add_argument("--run-dir", type=Path, help="folder for checkpoints (and outputs the engine names itself)")
    group.add_argument("--resume", action="store_true", help="continue from the checkpoint in --run-dir")
    group.add_argument(
        "--device", default="auto", help="torch device to run on: auto (CUDA when torch sees a GPU, else CPU), cpu, "
        "cuda, cuda:1 (default: auto)"
    )


def config_values(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    """The config fields given on the command line (others keep the dataclass's defaults)."""
    names = {f.name for f in dataclasses.fields(config_cls) if f.init}
    return {name: value for name, value in vars(args).items() if name in names}


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return repr(value) if value == "" else str(value)


# --------------------------------------------------------------------- the run
def run(args: argparse.Namespace) -> int:
    from engines.runtime.foreground import run_foreground

    if args.resume and args.run_dir is None:
        raise CliError("--resume needs the --run-dir of the run to continue")
    try:
        config = config_from_dict(args.config_cls, config_values(args, args.config_cls))
        return run_foreground(
            args.engine, config, args.run_dir, resume=args.resume, device=args.device, stream=sys.stderr  # as now
        )
    except ValueError as exc:  # a config the engine rejects, or nothing to resume
        raise CliError(str(exc)) from None
