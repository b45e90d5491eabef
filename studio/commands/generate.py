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
import ast
import dataclasses
import importlib
import inspect
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any, Literal

from studio.commands.common import CliError, vector

ENGINE_MODULES = ("engines.reconstruct",)
"""Modules whose import registers the engines offered here (light: engines import torch in run)."""
RUN_OPTIONS = ("run_dir", "resume", "device")
"""Options of every engine's command that belong to the run, not the config."""


def register(sub: argparse._SubParsersAction) -> None:
    from engines.registry import engine_names, find_engine

    for module in ENGINE_MODULES:
        importlib.import_module(module)
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


def field_docs(config_cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (nerfstudio's convention), read from its source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(config_cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, following in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(following, ast.Expr) \
                and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run")
    group.add_argument("--run-dir", type=Path, help="folder for checkpoints (and outputs the engine names itself)")
    group.add_argument("--resume", action="store_true", help="continue from the checkpoint in --run-dir")
    group.add_argument("--device", default="cpu", help="torch device to run on: cpu, cuda, cuda:1 (default: cpu)")


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
    from engines.registry import config_from_dict
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
