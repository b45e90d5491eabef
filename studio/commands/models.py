"""``atelier4d models list|download|verify|use``: the pretrained models the generators stand on.

Each role (text, novel-view, inpaint, depth, video, refiner) has a default hub id; ``use`` sets
the user's own choice (a hub id, ``@revision``, or a local folder), saved in the preferences the
studio reads too. ``download`` fetches a role's model with a progress bar (or copies a folder in),
``verify`` checks every component is present and loads (without running it), ``list`` says where
each is and how big.
"""

from __future__ import annotations

import argparse
import json
import sys

from engines.models import ROLES, ModelError, ModelSource, role_named
from engines.models.hub import copy_folder, fetch
from engines.models.inventory import inventory, role_status, size_text
from studio.commands.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, verify and choose the pretrained models",
                            description=__doc__.split("\n\n")[1])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    roles = ", ".join(ROLES)

    listing = actions.add_parser("list", help="each role's model: its choice, where it is, its size")
    listing.add_argument("--json", action="store_true", help="one JSON object per role, one per line")
    listing.set_defaults(func=run_list)

    download = actions.add_parser("download", help="download a role's model (or copy a model folder in)")
    download.add_argument("role", help=f"one of: {roles}")
    download.add_argument("source", nargs="?", help="a hub id (org/name[@revision]) or a folder; default: the role's choice")
    download.add_argument("--allow-pickle-weights", action="store_true", help="also fetch .bin/.ckpt weights (they can run code)")
    download.set_defaults(func=run_download)

    verify = actions.add_parser("verify", help="check that a role's model is complete and loads (without running it)")
    verify.add_argument("role", nargs="?", help=f"one of: {roles}; default: every role whose model is here")
    verify.add_argument("--allow-pickle-weights", action="store_true", help="accept .bin/.ckpt weights for this check")
    verify.set_defaults(func=run_verify)

    use = actions.add_parser("use", help="choose the model a role uses (saved in the preferences)")
    use.add_argument("role", help=f"one of: {roles}")
    use.add_argument("source", help="a hub id (org/name[@revision]), a model folder, or 'default'")
    use.add_argument("--allow-pickle-weights", action="store_true", help="let this role load .bin/.ckpt weights (they can run code)")
    use.set_defaults(func=run_use)


def _role(name: str):
    try:
        return role_named(name)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _source(text: str) -> ModelSource:
    try:
        return ModelSource.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _settings():
    from studio.settings import Settings

    return Settings.load()


def run_list(args: argparse.Namespace) -> int:
    settings = _settings()
    for status in inventory(settings.model_choices, settings.model_folders):
        if args.json:
            print(json.dumps(status.as_dict()))
            continue
        choice = f"{status.source}{'' if status.is_default else ' (your choice)'}"
        where = "not here" if not status.here else f"{status.where}: {status.folder}, {size_text(status.size_bytes)}"
        print(f"{status.role.name:<11} {choice}\n{'':<11} {where}")
    return 0


class _Bar:
    """A one-line progress bar on stderr."""

    def __init__(self) -> None:
        self.shown = -1

    def __call__(self, fraction: float | None, text: str) -> None:
        percent = -1 if fraction is None else int(fraction * 100)
        if percent != self.shown:
            self.shown = percent
            filled = max(percent, 0) // 4
            print(f"\r[{'#' * filled}{'.' * (25 - filled)}] {max(percent, 0):3d}% {text[:60]:<60}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.shown >= 0:
            print(file=sys.stderr)


def run_download(args: argparse.Namespace) -> int:
    role, settings = _role(args.role), _settings()
    source = _source(args.source or settings.model_choices.get(role.name, role.default))
    allow = args.allow_pickle_weights or role.name in settings.allow_pickle_models
    bar = _Bar()
    try:
        if source.folder is not None:
            target = copy_folder(role, source.folder, settings.cache_path / "models", allow, bar)
        else:
            folder = fetch(role, source, model_folders=settings.model_folders, offline=settings.offline, allow_pickle=allow, progress=bar)
    except ModelError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.done()  # whatever stopped it, an error is said on a line of its own
    if source.folder is not None:
        settings.model_choices[role.name] = str(target)
        settings.save()
        print(f"copied to {target}; the {role.name} role now uses it")
        return 0
    print(f"the {role.name} model {source} is in {folder}")
    if str(source) != settings.model_choices.get(role.name, role.default):
        print(f"the {role.name} role still uses {settings.model_choices.get(role.name, role.default)}; "
              f"switch with: atelier4d models use {role.name} {source}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from engines.models.loading import verify_model

    settings = _settings()
    names = [_role(args.role).name] if args.role else list(ROLES)
    failed = 0
    for name in names:
        role = role_named(name)
        status = role_status(role, settings.model_choices.get(name, role.default), settings.model_folders)
        if not status.here:
            if args.role:
                raise CliError(f"the {name} model {status.source} is not on this machine; get it with: atelier4d models download {name}")
            print(f"{name:<11} not here (skipped)")
            continue
        allow = args.allow_pickle_weights or name in settings.allow_pickle_models
        try:
            verify_model(role, status.folder, allow_pickle=allow)
        except ModelError as exc:
            failed += 1
            print(f"{name:<11} BROKEN: {exc}")
            continue
        print(f"{name:<11} ok: {status.source} ({', '.join(role.components) or role.loaded_as})")
    if failed:
        raise CliError(f"{failed} model(s) failed the check")
    return 0


def run_use(args: argparse.Namespace) -> int:
    role, settings = _role(args.role), _settings()
    if args.source == "default":
        settings.model_choices.pop(role.name, None)
        text = role.default
    else:
        source = _source(args.source)
        if source.folder is not None:
            from engines.models.folders import check_folder

            try:
                check_folder(role, source.folder, args.allow_pickle_weights or role.name in settings.allow_pickle_models)
            except ModelError as exc:
                raise CliError(str(exc)) from None
        text = str(source)
        settings.model_choices[role.name] = text
    if args.allow_pickle_weights and role.name not in settings.allow_pickle_models:
        settings.allow_pickle_models.append(role.name)
    settings.save()
    print(f"the {role.name} role uses {text}" + (" (pickle weights allowed)" if role.name in settings.allow_pickle_models else ""))
    return 0
