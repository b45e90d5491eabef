"""Engines found by name, each with a strict config dataclass (threestudio's ``register``/``find``).

An engine is a generator function ``run(config, ctx) -> Iterator[Event]`` registered with the
dataclass of its config::

    @dataclass
    class FitPointsConfig:
        steps: int = 500
        \"\"\"How many optimisation steps.\"\"\"

    @register_engine("fit_points", FitPointsConfig)
    def fit_points(config: FitPointsConfig, ctx: RunContext) -> Iterator[Event]:
        ...

Config fields have defaults that work, except inputs no default can stand for (a dataset folder,
a prompt): those have none, so the CLI makes them required options and the GUI a required field. Configs built
from a dict (the CLI, a saved document, a job sent to a worker) go through :func:`config_from_dict`,
which rejects unknown keys, so a typo fails loudly instead of being ignored. The GUI's forms and
the CLI's options are both built from :func:`engines.fields.describe_fields`; a config validates its
values in ``__post_init__`` (:func:`engines.fields.check_fields`), so every way of making one checks it.

The GUI and the CLI list engines by importing :data:`ENGINE_MODULES` (:func:`load_engines`), so an
engine module imports its heavy dependencies (torch, diffusers) inside ``run``, not at the top. The
worker process imports the engine's module by name (:attr:`EngineEntry.module`) before looking the
engine up.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, TypeVar

from engines.fields import FieldError

if TYPE_CHECKING:
    from engines.runtime.context import RunContext
    from engines.runtime.events import Event

ENGINE_MODULES: tuple[str, ...] = (
    "engines.text_to_3d", "engines.image_to_3d", "engines.animate_4d", "engines.outpaint_scene", "engines.refine_region",
    "engines.reconstruct",
)
"""Modules whose import registers the engines offered by the GUI and the CLI, in the order an artist meets
them (the Generate tabs, ``generate --help``): objects, then motion, scenes, edits and reconstruction.

Each is named after the engine it registers (its main one, if several; "_" for the "-" of its name), so a module that fails to
import can still be named to the user who asks for that engine.
"""

EngineFn = Callable[[Any, "RunContext"], Iterator["Event"]]
F = TypeVar("F", bound=EngineFn)


@dataclass(frozen=True)
class EngineEntry:
    """A registered engine: its name, config class, generator function and defining module."""

    name: str
    config_cls: type
    run: EngineFn
    module: str

    @property
    def doc(self) -> str:
        """The first paragraph of the engine function's docstring, for menus and ``--help``."""
        return (self.run.__doc__ or "").strip().split("\n\n")[0]


_ENGINES: dict[str, EngineEntry] = {}


def register_engine(name: str, config_cls: type) -> Callable[[F], F]:
    """Decorator registering a generator function as the engine ``name`` with ``config_cls``."""
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"register_engine({name!r}): {config_cls!r} is not a dataclass")

    def decorate(fn: F) -> F:
        known = _ENGINES.get(name)
        if known is not None and (known.module, known.run.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"engine {name!r} is already registered by {known.module}.{known.run.__qualname__}")
        _ENGINES[name] = EngineEntry(name, config_cls, fn, fn.__module__)
        return fn

    return decorate


def find_engine(name: str) -> EngineEntry:
    """The engine registered as ``name``; KeyError listing the known names otherwise."""
    try:
        return _ENGINES[name]
    except KeyError:
        raise KeyError(f"no engine named {name!r}{_suggest(name, _ENGINES)}; known: {sorted(_ENGINES)}") from None


def engine_names() -> list[str]:
    """The names of all registered engines: those of :data:`ENGINE_MODULES` in its order, then any others by name."""
    rank = {module: i for i, module in enumerate(ENGINE_MODULES)}
    return sorted(_ENGINES, key=lambda name: (rank.get(_ENGINES[name].module, len(rank)), name))


def load_engines() -> dict[str, ImportError]:
    """Import :data:`ENGINE_MODULES`, registering their engines; the modules that failed, with why.

    An engine whose dependencies are missing (or whose module is still being written) must not keep
    the app or the other engines from starting, so import errors are returned, not raised: the GUI
    leaves those engines out, the CLI names the error when one of them is asked for.
    """
    failed: dict[str, ImportError] = {}
    for module in ENGINE_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            failed[module] = exc
    return failed


T = TypeVar("T")


def config_from_dict(cls: type[T], values: Mapping[str, Any], base: T | None = None) -> T:
    """An instance of the dataclass ``cls`` from ``values``; missing keys keep their defaults.

    Unknown keys raise ValueError naming them (with a suggestion). A nested dataclass field given as
    a dict starts from the field's default (or from ``base``'s value), so ``{"densify": {"max_splats":
    10}}`` changes one setting of the group and keeps the parent's defaults for the others. A value
    the config refuses raises :class:`engines.fields.FieldError` naming the field, dotted in groups.
    """
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [key for key in values if key not in fields]
    if unknown:
        hints = "".join(_suggest(key, fields) for key in unknown[:1])
        raise ValueError(
            f"{cls.__name__}: unknown key(s) {', '.join(map(repr, unknown))}{hints}; valid keys: {', '.join(fields)}"
        )
    types = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        kind = types.get(key)
        if dataclasses.is_dataclass(kind) and isinstance(value, Mapping):
            group_base = getattr(base, key) if base is not None else _field_default(fields[key])
            try:
                value = config_from_dict(kind, value, group_base)
            except FieldError as exc:
                raise exc.within(key) from None
        kwargs[key] = value
    return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)


def _field_default(f: dataclasses.Field) -> Any:
    """The default value of ``f``, or None when it has none."""
    if f.default is not dataclasses.MISSING:
        return f.default
    return None if f.default_factory is dataclasses.MISSING else f.default_factory()


def config_to_dict(config: Any) -> dict[str, Any]:
    """A plain dict of a config dataclass (nested ones too), the inverse of :func:`config_from_dict`."""
    return dataclasses.asdict(config)


def _suggest(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
