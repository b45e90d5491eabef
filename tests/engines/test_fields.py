"""The one description of config fields that the GUI's forms and the CLI build on: kinds, defaults,
parsing text, writing it back, and the checks configs run on themselves."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from engines.fields import (
    REQUIRED,
    FieldError,
    Preset,
    check_fields,
    config_presets,
    default_preset,
    describe_fields,
    field_label,
    find_preset,
    matching_preset,
    nested,
    preset_values,
)
from engines.optim_settings import DensifySettings, LearningRates
from engines.reconstruct import ReconstructConfig
from engines.registry import config_from_dict


class Mode(enum.Enum):
    FAST = 1
    CAREFUL = 2


@dataclass
class Inner:
    """A group of settings inside another config."""

    rate: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})
    """How fast."""
    tries: int = field(default=2, metadata={"min": 1})
    """How often."""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class AllKinds:
    """A test-only config with a field of every kind the front ends offer."""

    prompt: str = field(metadata={"multiline": True})
    """What to make."""
    image: str = field(default="", metadata={"path": "image"})
    """The picture to start from."""
    mode: Mode = Mode.FAST
    """How to go about it."""
    backend: Literal["auto", "cpu"] = "auto"
    """Where to run."""
    out: Path = field(default=Path("out.ply"), metadata={"path": "save", "extensions": (".ply", ".splat")})
    """Where to write."""
    size: tuple[int, int] = field(default=(64, 32), metadata={"min": 1, "max": 4096})
    """Width and height."""
    colour: tuple[float, float, float] = field(default=(1.0, 0.5, 0.0), metadata={"min": 0.0, "max": 1.0})
    """RGB 0-1."""
    tags: list[str] = field(default_factory=lambda: ["a", "b"])
    """Words to remember."""
    flag: bool = False
    """Whether to."""
    steps: int = field(default=10, metadata={"min": 1, "max": 1000})
    """How many steps."""
    strength: float = field(default=0.75, metadata={"min": 0.0, "max": 1.0, "advanced": True})
    """How much."""
    model: str = field(default="tiny/model", metadata={"model": "text_to_image"})
    """The model to ask."""
    inner: Inner = field(default_factory=lambda: Inner(rate=0.25))
    """Settings of the inner loop."""
    token: str = field(default="kept", metadata={"gui": False})
    """Only on the command line."""

    PRESETS: ClassVar[tuple[Preset, ...]] = (
        Preset("quick", "Quick", "few steps", {"steps": 5, "inner.tries": 1}),
        Preset("standard", "Standard", "the defaults"),
        Preset("thorough", "Thorough", "many careful steps", {"steps": 500, "strength": 0.5, "inner.rate": 0.75}),
    )

    def __post_init__(self) -> None:
        check_fields(self)


def specs_by_key(config_cls: type) -> dict:
    return {item.key: item for spec in describe_fields(config_cls) for item in spec.walk()}


def test_every_kind_is_described_with_its_default_doc_and_metadata():
    specs = specs_by_key(AllKinds)
    kinds = {key: spec.kind for key, spec in specs.items()}
    assert kinds == {
        "prompt": "str", "image": "path", "mode": "choice", "backend": "choice", "out": "path", "size": "tuple",
        "colour": "tuple", "tags": "list", "flag": "bool", "steps": "int", "strength": "float", "model": "str",
        "inner": "group", "inner.rate": "float", "inner.tries": "int", "token": "str",
    }
    assert specs["prompt"].required and specs["prompt"].default is REQUIRED and specs["prompt"].multiline
    assert specs["image"].path == "image" and ".png" in specs["image"].extensions
    assert specs["out"].path == "save" and specs["out"].extensions == (".ply", ".splat")
    assert specs["mode"].choices == (Mode.FAST, Mode.CAREFUL) and specs["backend"].choices == ("auto", "cpu")
    assert specs["size"].items == (int, int) and (specs["size"].minimum, specs["size"].maximum) == (1, 4096)
    assert specs["model"].model == "text_to_image" and not specs["token"].gui and specs["flag"].gui
    assert specs["tags"].default == ["a", "b"] and specs["steps"].doc == "How many steps."
    assert specs["inner"].doc == "Settings of the inner loop." and specs["inner"].config_type is Inner


def test_a_groups_defaults_are_its_parents_not_its_classes():
    specs = specs_by_key(AllKinds)
    assert specs["inner"].default == Inner(rate=0.25) and specs["inner.rate"].default == 0.25
    assert specs["inner.tries"].default == 2 and specs["inner.rate"].label == "Rate"
    recon = specs_by_key(ReconstructConfig)
    assert recon["densify.refine_start"].default == 100 != DensifySettings().refine_start
    assert recon["densify.max_splats"].default == 5000 and recon["learning_rates.means"].default == LearningRates().means


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [("prompt", "a cat\non a mat", "a cat\non a mat"), ("mode", "careful", Mode.CAREFUL), ("mode", "FAST", Mode.FAST),
     ("backend", "cpu", "cpu"), ("out", "x.splat", Path("x.splat")), ("size", "3, 4", (3, 4)),
     ("colour", "0.25,-0.5,1", (0.25, -0.5, 1.0)), ("tags", "one\n\n two \n", ["one", "two"]), ("flag", "yes", True),
     ("flag", "False", False), ("steps", " 12 ", 12), ("strength", "1e-3", 0.001), ("image", "a.png", "a.png")],
)
def test_parse_reads_the_text_the_cli_and_line_edits_give(key, text, value):
    spec = specs_by_key(AllKinds)[key]
    parsed = spec.parse(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [("mode", "slow", "expected one of fast, careful"), ("size", "3", "expected 2 comma-separated numbers"),
     ("size", "3,x", "expected an integer"), ("steps", "1.5", "expected an integer"), ("strength", "nan", "finite"),
     ("flag", "maybe", "expected true or false"), ("inner", "x", "group")],
)
def test_parse_says_what_it_expected(key, text, message):
    with pytest.raises(ValueError, match=message):
        specs_by_key(AllKinds)[key].parse(text)


@pytest.mark.parametrize("key", ["mode", "backend", "out", "size", "colour", "tags", "flag", "steps", "strength"])
def test_to_text_is_what_parse_reads_back(key):
    spec = specs_by_key(AllKinds)[key]
    assert spec.parse(spec.to_text(spec.default)) == spec.default


def test_to_text_writes_enums_by_lower_case_name_and_floats_short():
    specs = specs_by_key(AllKinds)
    assert specs["mode"].to_text(Mode.CAREFUL) == "careful"
    assert specs["colour"].to_text((1.0, 0.5, 0.0)) == "1,0.5,0" and specs["flag"].to_text(True) == "true"


@pytest.mark.parametrize(
    ("change", "field_name", "reason"),
    [({"steps": 0}, "steps", "must be at least 1, got 0"), ({"steps": 1001}, "steps", "must be at most 1000"),
     ({"colour": (0.0, 2.0, 0.0)}, "colour", "must be at most 1, got 0,2,0"), ({"size": (0, 5)}, "size", "must be at least 1"),
     ({"backend": "gpu"}, "backend", "must be one of auto, cpu; got 'gpu'"), ({"prompt": ""}, "prompt", "is required"),
     ({"image": "missing.png"}, "image", "no such file: 'missing.png'"), ({"out": "x.glb"}, "out", "must end with .ply or .splat"),
     ({"size": (1, 2, 3)}, "size", "must be 2 numbers")],
)
def test_configs_check_their_fields_when_made(change, field_name, reason):
    with pytest.raises(FieldError) as exc:
        AllKinds(**{"prompt": "p", **change})
    assert (exc.value.field, exc.value.reason[: len(reason)]) == (field_name, reason)
    assert str(exc.value).startswith(f"{field_name}: ")


def test_paths_that_exist_and_empty_optional_paths_pass(tmp_path):
    (tmp_path / "in.png").write_bytes(b"")
    assert AllKinds(prompt="p", image=str(tmp_path / "in.png")).image.endswith("in.png")
    assert AllKinds(prompt="p", image="").image == ""
    with pytest.raises(FieldError, match="no such folder"):
        ReconstructConfig(data=str(tmp_path / "in.png"))  # a file is not a folder


def test_a_groups_refusal_is_named_from_the_top_config():
    with pytest.raises(FieldError) as exc:
        config_from_dict(AllKinds, {"prompt": "p", "inner": {"tries": 0}})
    assert exc.value.field == "inner.tries" and str(exc.value) == "inner.tries: must be at least 1, got 0"
    with pytest.raises(FieldError, match="learning_rates.means_final: must be positive"):
        config_from_dict(ReconstructConfig, {"data": ".", "learning_rates": {"means_final": 0.0}})


def test_config_from_dict_starts_a_group_from_its_parents_default():
    config = config_from_dict(AllKinds, {"prompt": "p", "inner": {"tries": 5}})
    assert config.inner == Inner(rate=0.25, tries=5)
    with pytest.raises(ValueError, match="unknown key.*'trys'.*did you mean 'tries'"):
        config_from_dict(AllKinds, {"prompt": "p", "inner": {"trys": 5}})


@pytest.mark.parametrize("kind", [dict[str, int], tuple[str, str], tuple[float, ...], list[int], bytes, int | None])
def test_unsupported_types_raise_type_error_naming_the_field(kind):
    with pytest.raises(TypeError, match="'odd' has an unsupported type"):
        describe_fields(dataclasses.make_dataclass("Odd", [("odd", kind)]))


def test_path_metadata_needs_a_known_kind_on_a_str_or_path():
    with pytest.raises(TypeError, match="metadata path"):
        describe_fields(dataclasses.make_dataclass("Odd", [("odd", str, field(metadata={"path": "dir"}))]))
    with pytest.raises(TypeError, match="metadata path"):
        describe_fields(dataclasses.make_dataclass("Odd", [("odd", int, field(metadata={"path": "file"}))]))


@pytest.mark.parametrize(("name", "label"), [("sh_degree", "SH degree"), ("interval_s", "Interval (s)"), ("s", "S")])
def test_labels_spell_acronyms_and_units(name, label):
    assert field_label(name) == label


# --------------------------------------------------------------------- presets and advanced fields
def test_advanced_fields_are_marked_in_their_specs():
    specs = specs_by_key(AllKinds)
    assert specs["strength"].advanced and not specs["steps"].advanced
    recon = specs_by_key(ReconstructConfig)
    assert {key for key, spec in recon.items() if "." not in key and not spec.advanced} == {
        "data", "out", "steps", "resolution", "background"}


def test_a_preset_sets_every_field_any_preset_names_its_own_or_the_default():
    quick, standard, thorough = config_presets(AllKinds)
    assert preset_values(AllKinds, quick) == {"steps": 5, "inner.tries": 1, "strength": 0.75, "inner.rate": 0.25}
    assert preset_values(AllKinds, standard) == {"steps": 10, "inner.tries": 2, "strength": 0.75, "inner.rate": 0.25}
    assert preset_values(AllKinds, thorough) == {"steps": 500, "inner.tries": 2, "strength": 0.5, "inner.rate": 0.75}
    config = config_from_dict(AllKinds, {"prompt": "p", **nested(preset_values(AllKinds, thorough))})
    assert (config.steps, config.strength, config.inner) == (500, 0.5, Inner(rate=0.75, tries=2))
    assert nested({"a": 1, "g.b": 2, "g.c": 3}) == {"a": 1, "g": {"b": 2, "c": 3}}


def test_the_preset_values_match_is_found_and_a_mix_is_none():
    assert default_preset(AllKinds) is find_preset(AllKinds, "standard")
    thorough = preset_values(AllKinds, find_preset(AllKinds, "thorough"))
    assert matching_preset(AllKinds, thorough).name == "thorough"
    assert matching_preset(AllKinds, {**thorough, "steps": 499}) is None
    assert matching_preset(AllKinds, {"steps": 500}) is None  # the other values unknown
    assert config_presets(Inner) == () and default_preset(Inner) is None


def test_unknown_presets_and_keys_are_named():
    with pytest.raises(KeyError, match="no preset 'slow'; known: quick, standard, thorough"):
        find_preset(AllKinds, "slow")
    odd = dataclasses.make_dataclass("Odd", [("steps", int, field(default=1))])
    odd.PRESETS = (Preset("typo", "Typo", "a misspelt key", {"stesp": 2}),)
    with pytest.raises(KeyError, match="no such setting: stesp"):
        preset_values(odd, odd.PRESETS[0])


def test_reconstruct_defaults_are_its_balanced_preset_and_each_preset_makes_a_valid_config(tmp_path):
    assert [p.name for p in config_presets(ReconstructConfig)] == ["fast", "balanced", "quality"]
    assert default_preset(ReconstructConfig).name == "balanced"
    steps = {}
    for preset in config_presets(ReconstructConfig):
        config = config_from_dict(ReconstructConfig, {"data": str(tmp_path), **nested(preset_values(ReconstructConfig, preset))})
        assert config.densify.refine_stop < config.steps, preset.name  # the last densification settles before the end
        steps[preset.name] = config.steps
    assert steps["fast"] < steps["balanced"] < steps["quality"]
