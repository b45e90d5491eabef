"""``atelier4d generate ENGINE ...``: run a registered engine in the terminal.

Each engine is a sub-subcommand whose options are built from its config dataclass, one option per
field (``steps`` -> ``--steps``, ``views_per_step`` -> ``--views-per-step``; a field of a nested
group is dotted: ``--densify.refine-every``), typed, parsed and documented by the same field
description the GUI's forms use (:func:`engines.fields.describe_fields`), so the two never drift
apart. ``--preset NAME`` starts from one of the engine's presets (``fast``, ``balanced``, ``quality``:
:class:`engines.fields.Preset`, the GUI's Preset box); options given with it win over the preset's
values. The config is built, and so validated, before any worker starts: a value it refuses is a
usage error (exit status 2) naming the option. The run goes through the same job runtime as the GUI's
(:func:`engines.runtime.foreground.run_foreground`): a progress bar, Ctrl-C leaves a checkpoint in
``--run-dir``, and ``--resume`` continues from it.
"""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path
from typing import Any, Callable

from engines.fields import (
    FieldError,
    FieldSpec,
    config_presets,
    default_preset,
    describe_fields,
    find_preset,
    nested,
    preset_values,
)
from engines.registry import config_from_dict, engine_names, find_engine, load_engines
from studio.commands.common import CliError

RUN_OPTIONS = ("run_dir", "resume", "device", "checkpoint_every_s", "cluster")
"""Options of every engine's command that belong to the run, not the config."""
PRESET = "config_preset"
"""Where argparse keeps ``--preset`` (a name no config field has)."""


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
        engine_parser.set_defaults(func=run, config_cls=entry.config_cls, engine_parser=engine_parser)
    for module, error in failed.items():
        name = module.rpartition(".")[2].replace("_", "-")  # engines.text_to_3d registers "text-to-3d"
        if name not in engines.choices:
            add_unavailable(
                engines, name, f"the {name} engine cannot run here: its code failed to load ({type(error).__name__}: {error}); "
                "`bash packaging/bootstrap.sh test` reinstalls what it needs"
            )


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
    """One option per field of the dataclass ``config_cls`` (:func:`engines.fields.describe_fields`).

    Fields without a default are required options; a group's fields get a section of the help of
    their own and options named with the group's: ``--densify.refine-every``.
    """
    sections = {"": parser.add_argument_group("engine settings")}
    presets = config_presets(config_cls)
    if presets:
        default = default_preset(config_cls)
        sections[""].add_argument(
            "--preset", dest=PRESET, choices=[preset.name for preset in presets], default=argparse.SUPPRESS,
            help="settings chosen together; options given as well win over them: "
            + "; ".join(f"{preset.name}: {preset.label}, {preset.doc}" for preset in presets)
            + (f" (default: {default.name}, the engine's defaults)" if default else ""),
        )
    for spec in describe_fields(config_cls):
        for item in spec.walk():
            if item.kind == "group":
                sections[item.key] = parser.add_argument_group(f"engine settings: {item.key}", item.doc or None)
                continue
            section = sections[item.key.rpartition(".")[0]]
            section.add_argument(
                option_name(item.key),
                dest=item.key,
                required=item.required,
                default=argparse.SUPPRESS,  # only given options override the dataclass's defaults
                help=_help(item),
                **option_kwargs(item),
            )


def option_name(key: str) -> str:
    """The command-line option of the field with the dotted ``key``: ``views_per_step`` ->
    ``--views-per-step``, ``densify.grow_grad2d`` -> ``--densify.grow-grad2d``."""
    return "--" + key.replace("_", "-")


def option_kwargs(spec: FieldSpec) -> dict[str, Any]:
    """argparse ``type``/``action``/``nargs``/``metavar`` for a field, parsing text as the GUI does."""
    if spec.kind == "bool":
        return {"action": argparse.BooleanOptionalAction}
    if spec.kind == "list":
        return {"type": _argument_type(spec, spec.parse_item), "nargs": "*", "metavar": spec.name.upper()}
    if spec.kind == "choice":
        return {"type": _argument_type(spec, spec.parse_item), "metavar": "{" + ",".join(map(spec.to_text, spec.choices)) + "}"}
    if spec.kind == "tuple":
        return {"type": _argument_type(spec, spec.parse), "metavar": ",".join("X" * len(spec.items))}
    return {"type": _argument_type(spec, spec.parse_item), "metavar": spec.name.upper()}


def _argument_type(spec: FieldSpec, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` as an argparse ``type``: its ValueError becomes a usage error naming the option."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = spec.key
    return convert


def _help(spec: FieldSpec) -> str:
    if spec.required:
        return spec.doc
    shown = spec.to_text(spec.default).replace("\n", ", ")
    return f"{spec.doc} (default: {shown or repr(shown)})".strip()


def add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run")
    group.add_argument(
        "--run-dir", type=Path, help="folder for checkpoints (and outputs the engine names itself) (default: a new "
        "folder in the cache's runs/, as the studio makes for each job)"
    )
    group.add_argument("--resume", action="store_true", help="continue from the checkpoint in --run-dir")
    group.add_argument(
        "--device", default="auto", help="torch device to run on: auto (CUDA when torch sees a GPU, else CPU), cpu, "
        "cuda, cuda:1 (default: auto)"
    )
    group.add_argument(
        "--cluster", metavar="ADDRESS", help="run on a Ray cluster: ray://HOST:10001, HOST:6379 from a machine of "
        "the cluster, or auto (RAY_ADDRESS); inputs travel with the job and results come back here "
        "(default: this machine)"
    )
    group.add_argument(
        "--checkpoint-every-s", type=seconds_option, metavar="SECONDS",
        help="seconds between checkpoints, 0: only every 100 steps (default: the studio's preference, 60)"
    )


def seconds_option(text: str) -> float:
    """An argparse ``type`` for a number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more, got {text!r}")
    return value


def config_values(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    """The config fields given on the command line over those of ``--preset``, nested as the
    config's groups are (others keep their defaults)."""
    given = vars(args)
    preset = given.get(PRESET)
    values = preset_values(config_cls, find_preset(config_cls, preset)) if preset else {}
    for spec in describe_fields(config_cls):
        values.update({item.key: given[item.key] for item in spec.walk() if item.kind != "group" and item.key in given})
    return nested(values)


def build_config(args: argparse.Namespace) -> Any:
    """The engine's config from the command line; a value it refuses is a usage error (exit 2) naming the option."""
    try:
        return config_from_dict(args.config_cls, config_values(args, args.config_cls))
    except FieldError as exc:
        args.engine_parser.error(f"argument {option_name(exc.field)}: {exc.reason}")
    except ValueError as exc:  # a check across fields
        args.engine_parser.error(str(exc))


# --------------------------------------------------------------------- the run
def run(args: argparse.Namespace) -> int:
    """Check the config and its paths, then run the engine in a worker with the saved preferences'
    worker settings, in ``--run-dir`` or a new run folder in the cache (the studio's policy)."""
    from engines.runtime import RuntimeOptions, path_problems
    from engines.runtime.foreground import run_foreground
    from studio.jobs import new_run_dir, worker_settings
    from studio.settings import Settings

    if args.resume and args.run_dir is None:
        raise CliError("--resume needs the --run-dir of the run to continue")
    config = build_config(args)  # before any worker starts
    for key, problem in path_problems(config).items():  # an output it could not write: fail before step 1
        args.engine_parser.error(f"argument {option_name(key)}: {problem}")
    settings = Settings.load()
    every_s = settings.checkpoint_every_s if args.checkpoint_every_s is None else args.checkpoint_every_s
    run_dir = args.run_dir or new_run_dir(settings, args.engine)
    hint = "run the same command with --resume" if args.run_dir else f"run the same command with --run-dir {run_dir} --resume"
    remove_leftovers(config, run_dir)
    try:
        return run_foreground(
            args.engine, config, run_dir, resume=args.resume, device=args.device, cluster=args.cluster, stream=sys.stderr,
            options=RuntimeOptions(checkpoint_every_s=every_s), settings=worker_settings(settings), resume_hint=hint,
        )
    except ValueError as exc:  # a config the engine rejects, or nothing to resume
        raise CliError(str(exc)) from None
    finally:
        remove_leftovers(config, run_dir)  # a worker killed as it wrote leaves its temp file


def remove_leftovers(config: Any, run_dir: Path) -> None:
    """Remove the temp files that killed runs (whose writer is gone) left beside the config's outputs
    and in the run folder: before the run, so a killed command's are gone once the next one ran, and
    after it, for a worker killed while it wrote."""
    from engines.runtime.checks import output_paths
    from scene.io.leftovers import PART_NAME, remove_orphans

    for folder in {path.parent for path in output_paths(config)} | {Path(run_dir)}:
        remove_orphans(folder, PART_NAME)
