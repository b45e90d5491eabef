"""Forms built from config dataclasses: every field type, tooltips, labels, a narrow dock, and the CLI."""

from __future__ import annotations

import dataclasses
import enum
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QWidget,
)

from engines import registry
from engines.fields import field_docs, field_label
from engines.reconstruct import ReconstructConfig
from engines.registry import engine_names, load_engines
from studio.cli import main
from studio.panels.forms import DataclassForm
from studio.panels.generate import GeneratePanel
from studio.settings import Settings
from tests.engines.test_fields import AllKinds
from tests.studio.test_window_user import drop_files


class Quality(enum.Enum):
    DRAFT = 1
    FINAL = 2


@dataclass
class Everything:
    """A config with a field of every type the form supports."""

    count: int = 3
    """How many things."""
    ratio: float = 0.5
    flag: bool = False
    name: str = "a"
    quality: Quality = Quality.DRAFT
    backend: Literal["auto", "torch"] = "auto"
    image: Path = Path("in.png")
    size: tuple[int, int] = (64, 32)
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    prompts: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    sh_degree: int = field(default=1, metadata={"help": "Metadata help wins."})
    """A docstring the metadata's help overrides."""
    token: str = field(default="kept", metadata={"gui": False})
    dataset: str = field(default="", metadata={"path": "folder"})
    out: str = field(default="", metadata={"path": "save"})


OTHER = Everything(
    count=-7,
    ratio=0.125,
    flag=True,
    name="b",
    quality=Quality.FINAL,
    backend="torch",
    image=Path("/data/out.ply"),
    size=(5, 6),
    colour=(0.25, -0.5, 1.0),
    prompts=["a cat", "a dog"],
    folders=[Path("/a"), Path("/b")],
    sh_degree=2,
    token="other",
    dataset="/data/lego",
    out="/tmp/lego.ply",
)


@dataclass
class Checked:
    steps: int = 10

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise ValueError("steps must be positive")


@dataclass
class Sub(Everything):
    extra: int = 0
    """Declared in a subclass."""


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Everything) if f.name != "token"])
def test_every_field_type_round_trips(qtbot, name):
    form = DataclassForm(Everything)
    qtbot.addWidget(form)
    assert form.value() == Everything()
    changed = dataclasses.replace(Everything(), **{name: getattr(OTHER, name)})
    form.set_value(changed)
    assert form.value() == changed


def test_path_fields_browse_with_the_dialog_their_metadata_names(qtbot):
    form = DataclassForm(Everything)
    qtbot.addWidget(form)
    asked = []
    form.ask_path = lambda name, current, mode: asked.append((name, mode)) or f"/picked/{name}"
    for name in ("image", "dataset", "out"):
        qtbot.mouseClick(form.findChild(QToolButton, f"{name}_browse"), Qt.MouseButton.LeftButton)
    assert asked == [("image", "file"), ("dataset", "folder"), ("out", "save")]
    value = form.value()
    assert (value.image, value.dataset, value.out) == (Path("/picked/image"), "/picked/dataset", "/picked/out")


def test_a_whole_config_round_trips(qtbot):
    form = DataclassForm(Everything, OTHER)
    qtbot.addWidget(form)
    assert form.value() == OTHER


def test_value_runs_the_configs_validation(qtbot):
    form = DataclassForm(Checked)
    qtbot.addWidget(form)
    form.editor("steps").setValue(0)
    with pytest.raises(ValueError, match="positive"):
        form.value()


@pytest.mark.parametrize("kind", [dict[str, int], tuple[str, str], tuple[float, ...], list[int], bytes])
def test_unsupported_types_raise_type_error(qtbot, kind):
    config = dataclasses.make_dataclass("Odd", [("odd", kind)])
    with pytest.raises(TypeError, match="odd"):
        DataclassForm(config)


def test_gui_false_fields_keep_their_value(qtbot):
    form = DataclassForm(Everything, Everything(token="secret"))
    qtbot.addWidget(form)
    assert form.findChild(QWidget, "token") is None
    with pytest.raises(KeyError):
        form.editor("token")
    assert form.value().token == "secret"
    form.set_value(dataclasses.replace(OTHER, token="again"))
    assert form.value().token == "again"


def test_tooltips_come_from_field_docstrings_and_help_wins(qtbot):
    form = DataclassForm(Sub)
    qtbot.addWidget(form)
    assert form.editor("count").toolTip() == "How many things."
    assert form.layout_.labelForField(form.editor("count")).toolTip() == "How many things."
    assert form.editor("extra").toolTip() == "Declared in a subclass."  # the subclass's own docs ...
    assert form.editor("sh_degree").toolTip() == "Metadata help wins."  # ... and the base's
    assert form.editor("ratio").toolTip() == ""


def test_every_reconstruct_field_has_its_docstring_as_tooltip(qtbot):
    form = DataclassForm(ReconstructConfig)
    qtbot.addWidget(form)
    docs = field_docs(ReconstructConfig)
    assert set(docs) == {f.name for f in dataclasses.fields(ReconstructConfig)}
    for name, doc in docs.items():
        assert form.editor(name).toolTip() == ("Required. " if name == "data" else "") + doc
    assert docs["sh_degree"] == "Spherical-harmonic degree of the colours (0: no view dependence)."


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("steps", "Steps"),
        ("views_per_step", "Views per step"),
        ("sh_degree", "SH degree"),
        ("lambda_dssim", "Lambda D-SSIM"),
        ("ssim_weight", "SSIM weight"),
        ("lr", "LR"),
        ("position_lr", "Position LR"),
        ("background_rgb", "Background RGB"),
        ("gpu_id", "GPU ID"),
        ("ui_scale", "UI scale"),
        ("autosave_interval_s", "Autosave interval (s)"),
        ("size_px", "Size (px)"),
        ("s", "S"),
    ],
)
def test_labels_are_short_and_spell_acronyms(name, label):
    assert field_label(name) == label


def test_form_rows_use_the_labels(qtbot):
    form = DataclassForm(Settings)
    qtbot.addWidget(form)
    assert form.layout_.labelForField(form.editor("autosave_interval_s")).text() == "Autosave interval (s)"
    assert form.layout_.labelForField(form.editor("ui_scale")).text() == "UI scale"


def reconstruct_panel(qtbot, width: int, on_run=lambda config: None) -> GeneratePanel:
    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.add_engine("reconstruct", ReconstructConfig, on_run)
    panel.resize(width, 500)  # short enough for a vertical scroll bar, which takes width too
    with qtbot.waitExposed(panel):
        panel.show()
    return panel


@pytest.mark.parametrize("width", [340, 280])
def test_the_reconstruct_tab_fits_a_narrow_dock(qtbot, width):
    panel = reconstruct_panel(qtbot, width)
    panel.forms["reconstruct"].show_advanced(True)  # all of it
    scroll = panel.currentWidget()
    assert isinstance(scroll, QScrollArea)
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0)  # laid out again
    assert scroll.horizontalScrollBar().maximum() == 0
    assert scroll.widget().width() <= scroll.viewport().width()
    description = scroll.widget().findChildren(QLabel)[0]
    assert description.text().startswith("Settings of a reconstruction")


def test_run_sends_the_config_built_from_the_form(qtbot, tmp_path):
    sent = []
    panel = reconstruct_panel(qtbot, 340, sent.append)
    form = panel.forms["reconstruct"]
    form.editor("data").findChild(QLineEdit).setText(str(tmp_path))
    form.editor("steps").setValue(12)
    form.editor("background").findChildren(QDoubleSpinBox)[1].setValue(0.5)
    form.editor("densify.refine_every").setValue(7)
    qtbot.mouseClick(panel.findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    densify = dataclasses.replace(ReconstructConfig(data=str(tmp_path)).densify, refine_every=7)
    assert sent == [ReconstructConfig(data=str(tmp_path), steps=12, background=(1.0, 0.5, 1.0), densify=densify)]


def test_run_names_what_is_missing_or_wrong_instead_of_starting(qtbot, tmp_path):
    sent = []
    panel = reconstruct_panel(qtbot, 340, sent.append)
    form = panel.forms["reconstruct"]
    error = panel.currentWidget().widget().findChild(QLabel, "error")
    assert form.required == {"data"} and form.layout_.labelForField(form.editor("data")).text() == "Data *"
    run = panel.findChild(QPushButton, "run")
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    assert sent == [] and error.isVisible() and error.text() == "Data is required"
    form.editor("data").findChild(QLineEdit).setText(str(tmp_path / "missing"))
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    assert sent == [] and error.text() == f"Data: no such folder: {str(tmp_path / 'missing')!r}"
    form.editor("data").findChild(QLineEdit).setText(str(tmp_path))
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    assert sent == [ReconstructConfig(data=str(tmp_path))] and not error.isVisible()


def test_run_shows_the_configs_own_validation_error(qtbot):
    sent = []
    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.add_engine("checked", Checked, sent.append)
    panel.forms["checked"].editor("steps").setValue(0)
    qtbot.mouseClick(panel.findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    error = panel.currentWidget().widget().findChild(QLabel, "error")
    assert sent == [] and "positive" in error.text()


def test_the_raw_settings_fold_away_under_advanced(qtbot):
    panel = reconstruct_panel(qtbot, 340)
    form = panel.forms["reconstruct"]
    basic = ["data", "out", "steps", "resolution", "background"]
    advanced = ["sh_degree", "lambda_dssim", "backend", "densify", "densify.refine_every", "learning_rates.means"]
    assert all(form.editor(key).isVisible() for key in basic)
    assert not any(form.editor(key).isVisible() for key in advanced)
    scroll = panel.currentWidget()
    assert scroll.verticalScrollBar().maximum() == 0  # the folded form fits the dock
    toggle = form.advanced_toggle
    assert toggle.text() == "Advanced" and not toggle.isChecked()
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert toggle.isChecked() and all(form.editor(key).isVisible() for key in basic + advanced)
    assert form.layout_.indexOf(toggle) > max(form.layout_.indexOf(form.editor(key)) for key in basic)  # below them
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert not any(form.editor(key).isVisible() for key in advanced)


def test_a_preset_sets_the_advanced_fields_and_a_hand_edit_keeps_its_value(qtbot, tmp_path):
    sent = []
    panel = reconstruct_panel(qtbot, 340, sent.append)
    form = panel.forms["reconstruct"]
    box = form.preset_box
    assert [box.itemText(i) for i in range(box.count())] == ["Fast preview", "Balanced", "Quality", "Custom"]
    assert box.currentText() == "Balanced" and form.editor("steps").value() == ReconstructConfig.steps
    assert box.isVisible() and form.layout_.indexOf(box) < form.layout_.indexOf(form.editor("data"))  # on top
    form.editor("data").findChild(QLineEdit).setText(str(tmp_path))

    box.setCurrentIndex(box.findText("Fast preview"))
    fast = next(p for p in ReconstructConfig.PRESETS if p.name == "fast").values
    assert form.editor("steps").value() == fast["steps"] and form.editor("sh_degree").value() == fast["sh_degree"]
    assert form.editor("densify.max_splats").value() == fast["densify.max_splats"]
    form.editor("densify.max_splats").setValue(1234)  # the artist's own budget
    assert box.currentText() == "Custom"
    qtbot.mouseClick(panel.findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    (config,) = sent
    assert config.densify.max_splats == 1234 and config.steps == fast["steps"] and config.sh_degree == fast["sh_degree"]

    box.setCurrentIndex(box.findText("Balanced"))  # back to the defaults, every one of them
    assert form.value() == ReconstructConfig(data=str(tmp_path)) and box.currentText() == "Balanced"
    form.editor("steps").setValue(fast["steps"])
    assert box.currentText() == "Custom"  # one preset value is not the preset
    box.setCurrentIndex(box.findText("Custom"))  # picked by hand: nothing changes
    assert form.editor("steps").value() == fast["steps"] and form.editor("sh_degree").value() == ReconstructConfig.sh_degree


def test_a_form_without_presets_or_advanced_fields_has_neither(qtbot):
    form = DataclassForm(Everything)
    qtbot.addWidget(form)
    assert form.preset_box is None and form.advanced_toggle is None and form.findChild(QComboBox, "preset") is None


def test_small_floats_show_their_digits_and_step_by_their_magnitude(qtbot):
    panel = reconstruct_panel(qtbot, 340)
    grad = panel.forms["reconstruct"].editor("densify.grow_grad2d")
    assert grad.text() == "0.00020"  # two significant digits
    grad.stepUp()
    assert grad.value() == pytest.approx(0.00021)
    lam = panel.forms["reconstruct"].editor("lambda_dssim")
    lam.stepUp()
    assert lam.value() == pytest.approx(0.21)


def test_the_wheel_scrolls_the_form_instead_of_changing_the_value_under_it(qtbot):
    panel = reconstruct_panel(qtbot, 340)
    steps = panel.forms["reconstruct"].editor("steps")
    before = steps.value()
    centre = QPointF(steps.width() / 2, steps.height() / 2)
    wheel = QWheelEvent(
        centre, steps.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(steps, wheel)
    # left alone and ignored: Qt hands a real (spontaneous) wheel event on to the scroll area then
    assert steps.value() == before and not wheel.isAccepted()
    panel.activateWindow()
    qtbot.waitActive(panel)
    steps.setFocus()  # once the artist clicked into it, the wheel edits it
    qtbot.waitUntil(steps.hasFocus)
    QApplication.sendEvent(steps, wheel)
    assert steps.value() != before


def test_a_broken_engine_module_is_left_out_and_the_cli_says_why(monkeypatch, capsys):
    monkeypatch.setattr(registry, "ENGINE_MODULES", registry.ENGINE_MODULES + ("engines.no_such_engine",))
    failed = load_engines()
    assert list(failed) == ["engines.no_such_engine"]
    assert isinstance(failed["engines.no_such_engine"], ModuleNotFoundError)
    assert "reconstruct" in engine_names()

    assert main(["generate", "no-such-engine", "--steps", "3"]) == 1  # a module's "_" is its engine's "-"
    error = capsys.readouterr().err
    assert "the no-such-engine engine cannot run here: its code failed to load (ModuleNotFoundError" in error
    assert "bootstrap.sh" in error


def test_an_image_dropped_on_the_generate_dock_fills_the_engines_first_image_field(qtbot, tmp_path):
    panel = GeneratePanel()
    qtbot.addWidget(panel)
    panel.add_engine("reconstruct", ReconstructConfig, lambda config: None)
    image = tmp_path / "cat.png"
    image.write_bytes(b"")
    assert not panel.add_input_image(image)  # no field of reconstruct takes an image
    assert drop_files(panel, [QUrl.fromLocalFile(str(image))]) == (False, False)  # left to the window
    form = panel.add_engine("all_kinds", AllKinds, lambda config: None)
    panel.setCurrentIndex(1)
    assert drop_files(panel, [QUrl.fromLocalFile(str(tmp_path / "notes.txt"))]) == (False, False)
    assert drop_files(panel, [QUrl.fromLocalFile(str(image))]) == (True, True)
    assert form.editor("image").findChild(QLineEdit).text() == str(image)
    form.set_field("prompt", "a cat")
    assert form.value().image == str(image)


def test_the_preferences_round_trip_through_the_form(qtbot, tmp_path):
    settings = Settings(model_folders=["/models", "/more"], device="cpu", cache_folder=str(tmp_path),
                        autosave_interval_s=30, ui_scale=1.5, recent_files=["/a.a4d"], last_project="/a.a4d")
    form = DataclassForm(Settings, settings)
    qtbot.addWidget(form)
    assert form.value() == settings
    assert form.editor("autosave_interval_s").maximum() == 3600 and form.editor("ui_scale").minimum() == 0.5
    with pytest.raises(KeyError):
        form.editor("recent_files")  # gui False: kept, not shown


def test_a_seed_field_has_a_dice_that_rolls_a_new_seed(qtbot):
    from PySide6.QtWidgets import QToolButton

    from engines.text_to_3d import TextTo3DConfig

    form = DataclassForm(TextTo3DConfig)
    qtbot.addWidget(form)
    form.set_value({"prompt": "a fox"})
    dice = form.findChild(QToolButton, "seed_dice")
    assert dice is not None and dice.toolTip()
    rolled = set()
    for _ in range(3):
        qtbot.mouseClick(dice, Qt.MouseButton.LeftButton)
        rolled.add(form.value().seed)
    assert len(rolled) > 1 and all(0 <= seed < 2**31 for seed in rolled)
