"""Every field of every engine config (and of a test-only config of every kind) is offered by the
GUI's form and by the CLI with the same default, and both refuse a bad value before a run starts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterator

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLabel, QPushButton, QToolButton, QToolTip, QWidget

from engines import registry
from engines.fields import FieldSpec, config_presets, default_preset, describe_fields, preset_values
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
        name = "input" + (spec.extensions[0] if spec.extensions else ".png")  # a file of a kind the field takes
        (folder / name).write_bytes(b"")
        return str(folder / name)
    if spec.path == "save":
        return str(folder / ("output" + (spec.extensions[0] if spec.extensions else "")))
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


# --------------------------------------------------------------------- presets in both
PRESET_ENGINES = [name for name in ENGINES if config_presets(TEST_ONLY.get(name) or find_engine(name).config_cls)]


def test_the_app_engines_with_long_forms_have_presets():
    assert "reconstruct" in PRESET_ENGINES and "all_kinds" in PRESET_ENGINES


@pytest.mark.parametrize("name", PRESET_ENGINES)
def test_each_preset_gives_the_same_config_in_the_form_and_the_cli(name, qtbot, tmp_path, no_worker):
    config_cls = find_engine(name).config_cls
    form = make_form(qtbot, config_cls)
    fill_required(form, config_cls, tmp_path)
    assert form.preset_box.currentData() == default_preset(config_cls).name  # the defaults are a preset
    parser = engine_parser(name)
    for preset in config_presets(config_cls):
        form.preset_box.setCurrentIndex(form.preset_box.findData(preset.name))  # as a pick from the list does
        from_cli = config_from_dict(
            config_cls, config_values(parser.parse_args([*required_argv(config_cls, tmp_path), "--preset", preset.name]), config_cls))
        assert form.value() == from_cli, preset.name
        for key, value in preset_values(config_cls, preset).items():
            assert value_at(from_cli, key) == value, (preset.name, key)


@pytest.mark.parametrize("name", PRESET_ENGINES)
def test_a_setting_changed_after_a_preset_keeps_its_value(name, qtbot, tmp_path):
    config_cls = find_engine(name).config_cls
    last = config_presets(config_cls)[-1]
    key = next(iter(last.values))
    spec = next(spec for spec in leaves(config_cls) if spec.key == key)
    mine = spec.maximum if spec.maximum is not None and spec.maximum != last.values[key] else last.values[key] + 1
    form = make_form(qtbot, config_cls)
    fill_required(form, config_cls, tmp_path)
    form.preset_box.setCurrentIndex(form.preset_box.findData(last.name))
    form.editor(key).setValue(mine)  # by hand, after the preset
    assert value_at(form.value(), key) == mine and form.preset_box.currentText() == "Custom"
    others = {k: v for k, v in preset_values(config_cls, last).items() if k != key}
    assert all(value_at(form.value(), k) == v for k, v in others.items())

    for argv in (["--preset", last.name, option_name(key), str(mine)], [option_name(key), str(mine), "--preset", last.name]):
        args = engine_parser(name).parse_args([*required_argv(config_cls, tmp_path), *argv])
        config = config_from_dict(config_cls, config_values(args, config_cls))
        assert value_at(config, key) == mine and all(value_at(config, k) == v for k, v in others.items()), argv


def test_an_unknown_preset_is_a_usage_error_naming_the_known_ones(tmp_path, capsys, no_worker):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "reconstruct", "--data", str(tmp_path), "--preset", "slow"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--preset: invalid choice: 'slow'" in err and "'fast', 'balanced', 'quality'" in err
    assert no_worker == []


# --------------------------------------------------------------------- tooltips
def hover_tooltip(widget: QWidget) -> str:
    """The tooltip Qt shows when the pointer rests on the middle of ``widget`` (a child without a
    tooltip of its own shows its parent's); empty when no widget takes the event."""
    centre = widget.rect().center()
    event = QHelpEvent(QEvent.Type.ToolTip, centre, widget.mapToGlobal(centre))
    QApplication.sendEvent(widget, event)
    return QToolTip.text() if event.isAccepted() and QToolTip.isVisible() else ""


@pytest.mark.parametrize("name", ENGINES)
def test_every_field_of_every_engine_form_shows_a_tooltip(name, qtbot):
    """Hovering any part of any field's editor (a spin box of a row, a path's line edit, a group's
    box), its label, the preset box and the Advanced toggle shows a tooltip that says something."""
    panel = GeneratePanel()
    qtbot.addWidget(panel)
    form = panel.add_engine(name, find_engine(name).config_cls, lambda config: None)
    panel.resize(400, 3000)
    with qtbot.waitExposed(panel):
        panel.show()
    form.show_advanced(True)
    for spec in (item for top in describe_fields(form.config_type) for item in top.walk()):
        if not spec.gui:
            continue
        editor = form.editor(spec.key)
        label = editor.parentWidget().layout().labelForField(editor) if spec.kind != "group" else None
        parts = [editor, *(w for w in editor.findChildren(QWidget) if w.isVisible() and not isinstance(w, QToolButton)),
                 *([label] if label is not None else [])]
        if spec.kind == "group":  # the group's own box, not the fields inside it
            parts = [editor]
        for part in parts:
            assert part.isVisible(), (spec.key, part)
            tip = hover_tooltip(part)
            assert spec.doc and spec.doc in tip, (spec.key, type(part).__name__, tip)
    for extra in (form.preset_box, form.advanced_toggle):
        if extra is not None:
            assert len(hover_tooltip(extra)) > 20, extra.objectName()
