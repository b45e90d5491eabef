"""Every field of every engine config (and of a test-only config of every kind) is offered by the
GUI's form and by the CLI with the same default, and both refuse a bad value before a run starts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLabel, QPushButton

from engines import registry
from engines.fields import FieldSpec, describe_fields
from engines.registry import config_from_dict, engine_names, find_engine, load_engines, register_engine
from studio.cli import main
from studio.commands.generate import config_values, option_name
from studio.panels.forms import DataclassForm
from studio.panels.generate import GeneratePanel
from tests.engines.test_fields import AllKinds
from tests.studio.test_generate_cli import engine_parser

load_engines()
TEST_ONLY = {"all_kinds": AllKinds}
# the engines the app offers (test engines other test modules register in this process are left out)
ENGINES = [name for name in engine_names() if find_engine(name).module in registry.ENGINE_MODULES] + list(TEST_ONLY)


def never_run(config: Any, ctx: Any) -> Iterator[Any]:
    """The engine of the test-only configs: a run reaching it is a test failure."""
    raise AssertionError("a run started")
    yield


@pytest.fixture(autouse=True)
def test_engines(monkeypatch):
    """The test-only configs registered as engines, for this test alone."""
    monkeypatch.setattr(registry, "_ENGINES", dict(registry._ENGINES))
    for name, config_cls in TEST_ONLY.items():
        register_engine(name, config_cls)(never_run)


@pytest.fixture
def no_worker(monkeypatch) -> list:
    """Runs the CLI would start (none should)."""
    started: list = []
    monkeypatch.setattr("engines.runtime.foreground.run_foreground", lambda *a, **k: started.append(a) or 0)
    return started


def leaves(config_cls: type) -> list[FieldSpec]:
    """Every field that holds a value (inside groups too)."""
    return [item for spec in describe_fields(config_cls) for item in spec.walk() if item.kind != "group"]


def sample(spec: FieldSpec, folder: Path) -> str:
    """A valid text for a field that has no default."""
    if spec.path == "folder":
        return str(folder)
    if spec.path in ("file", "image"):
        (folder / "input.png").write_bytes(b"")
        return str(folder / "input.png")
    return {"int": "1", "float": "0.5"}.get(spec.kind, "something")


def required_argv(config_cls: type, folder: Path) -> list[str]:
    return [text for spec in leaves(config_cls) if spec.required for text in (option_name(spec.key), sample(spec, folder))]


def value_at(config: Any, key: str) -> Any:
    for name in key.split("."):
        config = getattr(config, name)
    return config


def make_form(qtbot, config_cls: type) -> DataclassForm:
    form = DataclassForm(config_cls)
    qtbot.addWidget(form)
    return form


def fill_required(form: DataclassForm, config_cls: type, folder: Path) -> None:
    for spec in leaves(config_cls):
        if spec.required:
            form.set_field(spec.key, spec.parse(sample(spec, folder)))


# --------------------------------------------------------------------- every field in both
@pytest.mark.parametrize("name", ENGINES)
def test_the_cli_offers_every_field_with_its_default(name, tmp_path):
    config_cls = find_engine(name).config_cls
    parser = engine_parser(name)
    actions = {action.dest: action for action in parser._actions}
    for spec in leaves(config_cls):
        action = actions[spec.key]
        assert option_name(spec.key) in action.option_strings and action.required == spec.required, spec.key
    config = config_from_dict(config_cls, config_values(parser.parse_args(required_argv(config_cls, tmp_path)), config_cls))
    for spec in leaves(config_cls):
        if not spec.required:
            assert value_at(config, spec.key) == spec.default, spec.key


@pytest.mark.parametrize("name", ENGINES)
def test_the_form_offers_every_field_with_the_clis_default(name, qtbot, tmp_path):
    config_cls = find_engine(name).config_cls
    form = make_form(qtbot, config_cls)
    for spec in (item for top in describe_fields(config_cls) for item in top.walk()):
        if spec.gui:
            assert form.editor(spec.key).objectName() == spec.key
            assert spec.doc and spec.doc in form.editor(spec.key).toolTip(), spec.key
        else:
            with pytest.raises(KeyError):
                form.editor(spec.key)
    fill_required(form, config_cls, tmp_path)
    parser = engine_parser(name)
    from_cli = config_from_dict(config_cls, config_values(parser.parse_args(required_argv(config_cls, tmp_path)), config_cls))
    assert form.value() == from_cli


def test_the_test_only_config_covers_every_kind():
    specs = [item for spec in describe_fields(AllKinds) for item in spec.walk()]
    assert {spec.kind for spec in specs} == {"bool", "int", "float", "str", "choice", "path", "tuple", "list", "group"}
    assert {spec.path for spec in specs} >= {"image", "save"} and any(spec.multiline for spec in specs)
    assert {type(c) for spec in specs for c in spec.choices} >= {str} and any(spec.model for spec in specs)
    assert {spec.items for spec in specs if spec.kind == "tuple"} == {(int, int), (float, float, float)}
    assert any(not spec.gui for spec in specs)


# --------------------------------------------------------------------- bad values refused by both
def bad_values(config_cls: type, folder: Path) -> Iterator[tuple[FieldSpec, str]]:
    """For each field that can be given a bad value: the field and such a value as text."""
    for spec in leaves(config_cls):
        if spec.minimum is not None:
            low = spec.minimum - 1
            yield spec, ",".join([spec.to_text(low)] * len(spec.items)) if spec.kind == "tuple" else spec.to_text(low)
        elif spec.maximum is not None:
            yield spec, spec.to_text(spec.maximum + 1)
        if spec.kind == "choice":
            yield spec, "no-such-choice"
        if spec.path in ("file", "image", "folder"):
            yield spec, str(folder / "missing" / "input.png")
        if spec.extensions and spec.path == "save":
            yield spec, str(folder / "out.unknown")


@pytest.mark.parametrize("name", ENGINES)
def test_the_cli_refuses_bad_values_naming_the_option_before_a_run(name, tmp_path, capsys, no_worker):
    config_cls = find_engine(name).config_cls
    cases = list(bad_values(config_cls, tmp_path))
    assert cases
    for spec, text in cases:
        with pytest.raises(SystemExit) as exc:
            main(["generate", name, *required_argv(config_cls, tmp_path), option_name(spec.key), text])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and f"argument {option_name(spec.key)}" in err, (spec.key, text, err)
    assert no_worker == []


@pytest.mark.parametrize("name", ENGINES)
def test_the_cli_names_a_missing_required_option(name, tmp_path, capsys, no_worker):
    config_cls = find_engine(name).config_cls
    required = [spec for spec in leaves(config_cls) if spec.required]
    assert required
    for spec in required:
        argv = required_argv(config_cls, tmp_path)
        at = argv.index(option_name(spec.key))
        with pytest.raises(SystemExit) as exc:
            main(["generate", name, *argv[:at], *argv[at + 2 :]])
        assert exc.value.code == 2 and option_name(spec.key) in capsys.readouterr().err
    assert no_worker == []


@pytest.mark.parametrize("name", ENGINES)
def test_the_form_cannot_hold_values_out_of_range_or_outside_the_choices(name, qtbot):
    form = make_form(qtbot, find_engine(name).config_cls)
    for spec in leaves(find_engine(name).config_cls):
        if not spec.gui:
            continue
        editor = form.editor(spec.key)
        spins = [editor] if isinstance(editor, QAbstractSpinBox) else editor.findChildren(QAbstractSpinBox)
        for spin in spins:
            if spec.minimum is not None:
                assert spin.minimum() == spec.minimum, spec.key
            if spec.maximum is not None:
                assert spin.maximum() == spec.maximum, spec.key
        if spec.kind == "choice":
            assert isinstance(editor, QComboBox)
            assert [editor.itemData(i) for i in range(editor.count())] == list(spec.choices)


@pytest.mark.parametrize("name", ENGINES)
def test_run_refuses_what_the_config_refuses_and_names_the_field(name, qtbot, tmp_path):
    config_cls = find_engine(name).config_cls
    sent: list = []
    panel = GeneratePanel()
    qtbot.addWidget(panel)
    form = panel.add_engine(name, config_cls, sent.append)
    run = panel.findChild(QPushButton, "run")
    error = panel.currentWidget().widget().findChild(QLabel, "error")
    defaults = {spec.name: spec.default for spec in describe_fields(config_cls) if not spec.required}
    for spec in (s for s in leaves(config_cls) if s.gui and (s.required or s.kind == "path")):
        form.set_value(defaults)  # only this field is bad
        fill_required(form, config_cls, tmp_path)
        bad = "" if spec.required else str(tmp_path / "missing" / "input.png")
        if spec.path == "save":
            bad = str(tmp_path / "out.unknown")
        form.set_field(spec.key, spec.parse(bad))
        qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
        label = form.label_of(spec.key)
        assert sent == [] and not error.isHidden() and error.text().startswith(label), (spec.key, error.text())
        assert any(problem.startswith(label) for problem in form.problems())
    form.set_value(defaults)
    fill_required(form, config_cls, tmp_path)
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    assert len(sent) == 1 and error.isHidden()


def test_a_groups_own_check_is_named_with_the_group_in_the_form(qtbot, tmp_path):
    form = make_form(qtbot, find_engine("reconstruct").config_cls)
    form.set_field("data", str(tmp_path))
    form.editor("learning_rates.means").setValue(0.0)  # in the spin's range, refused by LearningRates
    assert form.problems() == ["Learning rates › Means: must be positive, got 0"]


def test_options_are_dotted_inside_groups():
    parser = engine_parser("all_kinds")
    args = parser.parse_args(["--prompt", "p", "--inner.tries", "4", "--tags", "x", "y", "--no-flag", "--mode", "careful"])
    assert isinstance(args, argparse.Namespace)
    config = config_from_dict(AllKinds, config_values(args, AllKinds))
    assert (config.inner.tries, config.inner.rate, config.tags, config.mode.name) == (4, 0.25, ["x", "y"], "CAREFUL")
