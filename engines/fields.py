"""One description of a config dataclass's fields, which the GUI's forms and the CLI both build on.

:func:`describe_fields` turns each field of a config into a :class:`FieldSpec`: its kind, label,
default (or :data:`REQUIRED`), docstring, and what its ``metadata`` says:

- ``min`` / ``max``: the range of an ``int``, a ``float`` or each number of a tuple (inclusive);
- ``path``: ``"file"`` (an existing file), ``"folder"`` (an existing folder), ``"save"`` (a file to
  write) or ``"image"`` (an existing image, the input of image-conditioned engines), for ``str`` or
  ``Path`` fields; ``extensions``: the suffixes such a path may have, e.g. ``(".ply", ".splat")``;
- ``multiline``: a ``str`` edited as several lines (a prompt);
- ``model``: a ``str`` naming a model of that role (a hub id or a folder);
- ``seed``: an ``int`` that seeds a run (the GUI offers a dice button that picks a new one);
- ``help``: a description that wins over the docstring; ``gui: False``: left out of the GUI's form
  (the CLI still offers it); ``step`` / ``decimals``: hints for the GUI's spin boxes;
- ``advanced``: a setting most runs leave to a preset (a raw optimizer setting): the GUI folds it away
  under "Advanced".

A config may name *presets* (:class:`Preset`), "Fast preview", "Balanced", "Quality": its ``PRESETS``
class attribute, a tuple of them next to the fields they set. The GUI offers them above the form and
the CLI as ``--preset NAME``; :func:`preset_values` says what one sets.

Supported annotations: ``bool``, ``int``, ``float``, ``str``, ``pathlib.Path``, ``Enum`` subclasses,
``Literal[...]``, fixed-length tuples of ``int``/``float``, ``list[str]``/``list[Path]``, and nested
config dataclasses (a *group*, whose fields are described the same way, with defaults taken from the
parent's default instance). Anything else raises TypeError naming the field, so a new field works in
both front ends or in neither; unless it is ``gui: False`` (a dict of the app's own state): then it
is of kind "kept", which forms carry through unchanged.

A spec also reads a value from text (:meth:`FieldSpec.parse`, for the CLI's options and the GUI's
line edits), writes one as text (:meth:`FieldSpec.to_text`, for ``--help``) and says what is wrong
with a value (:meth:`FieldSpec.problem`); :func:`check_fields` applies that to a whole config, from
its ``__post_init__``, so every way of making a config validates it the same way.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import inspect
import math
import textwrap
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

FieldKind = Literal["bool", "int", "float", "str", "choice", "path", "tuple", "list", "group", "kept"]
PathKind = Literal["file", "folder", "save", "image"]
PATH_KINDS: tuple[str, ...] = typing.get_args(PathKind)
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
"""What a path of kind ``"image"`` may end with (unless its metadata names other extensions)."""
REQUIRED: Any = dataclasses.MISSING
"""The default of a field that has none: the CLI makes it a required option, the GUI a required row."""

_WORDS = {
    "cpu": "CPU",
    "dssim": "D-SSIM",
    "fps": "FPS",
    "glb": "GLB",
    "gpu": "GPU",
    "id": "ID",
    "lr": "LR",
    "ply": "PLY",
    "psnr": "PSNR",
    "rgb": "RGB",
    "sh": "SH",
    "ssim": "SSIM",
    "ui": "UI",
}
"""Acronyms in field names, as labels spell them."""
_UNITS = {"px", "s", "ms"}
"""A field name's last word that is one of these is a unit, shown in parentheses: ``interval_s``."""
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def field_label(name: str) -> str:
    """A short, readable label for the field ``name``: ``sh_degree`` -> "SH degree", ``delay_s`` -> "Delay (s)"."""
    words = name.split("_")
    unit = f" ({words.pop()})" if len(words) > 1 and words[-1] in _UNITS else ""
    text = " ".join(_WORDS.get(word, word) for word in words)
    return text[:1].upper() + text[1:] + unit


class FieldError(ValueError):
    """A config value that cannot work; ``field`` names it, dotted inside groups (``densify.refine_every``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason

    def within(self, group: str) -> "FieldError":
        """The same error, named from the config that holds the group ``group``."""
        return FieldError(f"{group}.{self.field}", self.reason)


@dataclass(frozen=True)
class FieldSpec:
    """What the front ends need to know of one config field."""

    name: str
    """The dataclass field's name."""
    key: str
    """Its dotted name from the top config (``densify.grow_grad2d``): the CLI's option and the form's editor name."""
    label: str
    kind: FieldKind
    annotation: Any
    default: Any
    """The default value, or :data:`REQUIRED`."""
    doc: str = ""
    path: PathKind | None = None
    extensions: tuple[str, ...] = ()
    choices: tuple[Any, ...] = ()
    """Enum members or ``Literal`` values."""
    items: tuple[type, ...] = ()
    """The element types of a tuple (one each) or a list (one)."""
    minimum: float | None = None
    maximum: float | None = None
    multiline: bool = False
    model: str | None = None
    """The role of the model a ``str`` field names."""
    gui: bool = True
    advanced: bool = False
    """Folded away under "Advanced" in the GUI (metadata ``advanced``)."""
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fields: tuple["FieldSpec", ...] = ()
    """A group's own fields."""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def config_type(self) -> type:
        """A group's dataclass."""
        return self.annotation

    # ----------------------------------------------------------------- text
    def parse(self, text: str) -> Any:
        """The value ``text`` stands for; ValueError saying what was expected.

        Tuples are comma-separated (``1,0.5,1``); lists are one item a line.
        """
        text = text.strip() if self.kind not in ("str", "list") else text
        if self.kind == "list":
            return [self.parse_item(line.strip()) for line in text.splitlines() if line.strip()]
        if self.kind == "tuple":
            parts = [p.strip() for p in text.split(",")]
            if len(parts) != len(self.items):
                raise ValueError(f"expected {len(self.items)} comma-separated numbers, got {text!r}")
            return tuple(_number(kind, part, text) for kind, part in zip(self.items, parts))
        return self.parse_item(text)

    def parse_item(self, text: str) -> Any:
        """One value of this field's type (one item of a list) from ``text``."""
        if self.kind == "bool":
            if text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            raise ValueError(f"expected true or false, got {text!r}")
        if self.kind in ("int", "float"):
            return _number(int if self.kind == "int" else float, text, text)
        if self.kind == "choice":
            for choice in self.choices:
                if self.to_text(choice).lower() == text.lower():
                    return choice
            raise ValueError(f"expected one of {', '.join(map(self.to_text, self.choices))}; got {text!r}")
        if self.kind == "group":
            raise ValueError(f"{self.key} is a group of settings, not one value")
        item = self.items[0] if self.kind == "list" else self.annotation
        return Path(text) if item is Path else text

    def to_text(self, value: Any) -> str:
        """``value`` as :meth:`parse` reads it (enum members by their lower-case name)."""
        if isinstance(value, enum.Enum):
            return value.name.lower()
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, tuple):
            return ",".join(self.to_text(v) for v in value)
        if isinstance(value, list):
            return "\n".join(self.to_text(v) for v in value)
        return str(value)

    # ----------------------------------------------------------------- validation
    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot work for this field, or None; touches the disk only to see that inputs exist."""
        if self.kind == "group":
            return None  # a group's own __post_init__ checks its fields
        if self.required and str(value) in ("", "."):  # Path("") reads "."
            return "is required"
        if self.kind == "choice" and value not in self.choices:
            return f"must be one of {', '.join(map(self.to_text, self.choices))}; got {value!r}"
        if self.kind in ("int", "float", "tuple"):
            numbers = value if self.kind == "tuple" else (value,)
            if self.kind == "tuple" and len(numbers) != len(self.items):
                return f"must be {len(self.items)} numbers, got {value!r}"
            for number in numbers:
                if self.minimum is not None and number < self.minimum:
                    return f"must be at least {self.to_text(self.minimum)}, got {self.to_text(value)}"
                if self.maximum is not None and number > self.maximum:
                    return f"must be at most {self.to_text(self.maximum)}, got {self.to_text(value)}"
        if self.kind == "path" and str(value) not in ("", "."):
            return self._path_problem(Path(value))
        return None

    def _path_problem(self, path: Path) -> str | None:
        if self.extensions and path.suffix.lower() not in self.extensions:
            return f"must end with {' or '.join(self.extensions)}, got {str(path)!r}"
        if self.path == "folder" and not path.is_dir():
            return f"no such folder: {str(path)!r}"
        if self.path in ("file", "image") and not path.is_file():
            return f"no such file: {str(path)!r}"
        return None

    def walk(self) -> typing.Iterator["FieldSpec"]:
        """This spec, then (for a group) every spec inside it, depth first."""
        yield self
        for spec in self.fields:
            yield from spec.walk()


def describe_fields(config_cls: type, defaults: Any = None, prefix: str = "") -> tuple[FieldSpec, ...]:
    """The specs of the init fields of the dataclass ``config_cls``: its own first, in declaration
    order, then those it inherits (a generator's prompt leads the settings its base shares; an
    inherited field redeclared with another default keeps its place among them).

    ``defaults`` (an instance) overrides the class's defaults, as a parent config's default for a
    group does; ``prefix`` is the group's dotted key. TypeError names a field of an unsupported type.
    """
    if defaults is None and not prefix:
        return _class_specs(config_cls)
    return _describe(config_cls, defaults, prefix)


@functools.lru_cache(maxsize=None)
def _class_specs(config_cls: type) -> tuple[FieldSpec, ...]:
    """The specs with the class's own defaults (cached: :func:`check_fields` runs on every config made)."""
    return _describe(config_cls, None, "")


def _describe(config_cls: type, defaults: Any, prefix: str) -> tuple[FieldSpec, ...]:
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"{config_cls!r} is not a dataclass")
    hints = typing.get_type_hints(config_cls, include_extras=False)
    docs = field_docs(config_cls)
    own = config_cls.__dict__.get("__annotations__", {})
    inherited = {f.name for base in config_cls.__mro__[1:] if dataclasses.is_dataclass(base) for f in dataclasses.fields(base)}
    ordered = sorted((f for f in dataclasses.fields(config_cls) if f.init), key=lambda f: f.name not in own or f.name in inherited)
    return tuple(_spec(f, hints[f.name], docs.get(f.name, ""), defaults, prefix) for f in ordered)


def _spec(f: dataclasses.Field, annotation: Any, doc: str, defaults: Any, prefix: str) -> FieldSpec:
    meta = dict(f.metadata)
    if defaults is not None:
        default = getattr(defaults, f.name)
    elif f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = REQUIRED
    key = prefix + f.name
    common = dict(
        name=f.name, key=key, label=field_label(f.name), annotation=annotation, default=default,
        doc=str(meta.get("help", doc)), minimum=meta.get("min"), maximum=meta.get("max"),
        gui=meta.get("gui", True) is not False, advanced=bool(meta.get("advanced", False)), meta=meta,
    )
    kind, extra = _kind_of(key, annotation, meta)
    if kind == "group":
        if default is REQUIRED:
            raise TypeError(f"field {key!r}: a group of settings needs a default")
        extra["fields"] = _describe(annotation, default, key + ".")
    return FieldSpec(kind=kind, **common, **extra)


def _kind_of(key: str, annotation: Any, meta: Mapping[str, Any]) -> tuple[FieldKind, dict[str, Any]]:
    """The kind of a field annotated ``annotation`` and what else that kind needs to know."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if "path" in meta:
        if meta["path"] not in PATH_KINDS or annotation not in (str, Path):
            raise TypeError(f"field {key!r}: metadata path must be one of {PATH_KINDS}, on a str or Path field")
        default_extensions = IMAGE_EXTENSIONS if meta["path"] == "image" else ()
        extensions = tuple(e.lower() for e in meta.get("extensions", default_extensions))
        return "path", {"path": meta["path"], "extensions": extensions}
    if annotation is bool:
        return "bool", {}
    if annotation is int:
        return "int", {}
    if annotation is float:
        return "float", {}
    if annotation is str:
        return "str", {"multiline": bool(meta.get("multiline", False)), "model": meta.get("model")}
    if annotation is Path:
        return "path", {"path": "file"}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", {"choices": tuple(annotation)}
    if origin is Literal:
        return "choice", {"choices": args}
    if origin is tuple and args and Ellipsis not in args and all(a in (int, float) for a in args):
        return "tuple", {"items": args}
    if origin is list and args in ((str,), (Path,)):
        return "list", {"items": args}
    if dataclasses.is_dataclass(annotation):
        return "group", {}
    if meta.get("gui", True) is False:
        return "kept", {}  # of a type no front end edits (a dict): forms keep its value as it is
    raise TypeError(f"field {key!r} has an unsupported type {annotation!r}")


def _number(kind: type, text: str, whole: str) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, got {whole!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {whole!r}")
    return value


def check_fields(config: Any) -> None:
    """Raise :class:`FieldError` for the first field of ``config`` whose value cannot work.

    Configs call it from ``__post_init__`` (and add checks across fields after it).
    """
    for spec in describe_fields(type(config)):
        reason = spec.problem(getattr(config, spec.name))
        if reason is not None:
            raise FieldError(spec.key, reason)


# --------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    """A named choice of values for some fields of a config: "Fast preview", "Balanced", "Quality".

    Applying a preset sets every field that any preset of its config names: to this preset's value,
    or to the field's default where this preset leaves it out. So switching presets never leaves
    another's values behind, and a preset without values is the config's defaults. A field set by
    hand afterwards keeps its value: the CLI's options win over ``--preset``, and the GUI applies a
    preset only when one is chosen.
    """

    name: str
    """How the CLI spells it: ``--preset fast``."""
    label: str
    """How the GUI shows it: "Fast preview"."""
    doc: str
    """What it is for (the GUI's tooltip, the CLI's help)."""
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Dotted field key (``densify.max_splats``) -> value."""


def config_presets(config_cls: type) -> tuple[Preset, ...]:
    """The presets of ``config_cls``: its ``PRESETS`` class attribute (none without one)."""
    return tuple(getattr(config_cls, "PRESETS", ()))


def find_preset(config_cls: type, name: str) -> Preset:
    """The preset of ``config_cls`` called ``name``; KeyError naming the known ones otherwise."""
    presets = config_presets(config_cls)
    for preset in presets:
        if preset.name == name:
            return preset
    raise KeyError(f"no preset {name!r}; known: {', '.join(p.name for p in presets) or 'none'}")


def preset_values(config_cls: type, preset: Preset) -> dict[str, Any]:
    """Dotted key -> value of every field a preset of ``config_cls`` sets, as ``preset`` sets it.

    KeyError names a preset key that is no setting of the config.
    """
    defaults = {spec.key: spec.default for top in describe_fields(config_cls) for spec in top.walk() if spec.kind != "group"}
    keys = list(dict.fromkeys(key for each in config_presets(config_cls) for key in each.values))
    unknown = [key for key in keys if key not in defaults]
    if unknown:
        raise KeyError(f"{config_cls.__name__} presets name no such setting: {', '.join(unknown)}")
    return {key: preset.values.get(key, defaults[key]) for key in keys}


def matching_preset(config_cls: type, values: Mapping[str, Any]) -> Preset | None:
    """The first preset of ``config_cls`` whose every value ``values`` (dotted key -> value) holds;
    None when the values are the artist's own mix."""
    for preset in config_presets(config_cls):
        if all(key in values and values[key] == value for key, value in preset_values(config_cls, preset).items()):
            return preset
    return None


def default_preset(config_cls: type) -> Preset | None:
    """The preset that the config's defaults are (None when they are none of its presets)."""
    return matching_preset(config_cls, {spec.key: spec.default for top in describe_fields(config_cls) for spec in top.walk()})


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys as nested dicts (``{"densify": {"max_splats": 10}}``), as configs are built from."""
    tree: dict[str, Any] = {}
    for key, value in values.items():
        *groups, name = key.split(".")
        target = tree
        for group in groups:
            target = target.setdefault(group, {})
        target[name] = value
    return tree


# --------------------------------------------------------------------- docstrings
def field_docs(config_cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (nerfstudio's convention), read from its source.

    These document a config once for every front end: the CLI's ``--help`` and the GUI's tooltips.
    Fields inherited from dataclass bases keep their docs; whitespace is collapsed to single spaces.
    """
    docs: dict[str, str] = {}
    for cls in reversed(config_cls.__mro__):
        if dataclasses.is_dataclass(cls):
            docs.update(_own_field_docs(cls))
    return docs


def _own_field_docs(cls: type) -> dict[str, str]:
    """The field docstrings written in ``cls``'s own body; none when its source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, following in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs
