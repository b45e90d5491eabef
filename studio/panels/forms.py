"""A Qt form built from a config dataclass, so the GUI offers exactly the options the CLI does.

The form is built on the same field description as the CLI (:func:`engines.fields.describe_fields`):
one editor per field kind (check box, spin box, combo box, line edit with a browse button for paths,
a row of spin boxes for a tuple, a text box for a list or a multi-line prompt) and a titled group
box for a nested config. Tooltips are the fields' docs (the text of the CLI's ``--help`` too);
metadata ``step`` and ``decimals`` tune the spin boxes, ``gui: False`` leaves a field out of the
form (it keeps the initial value), ``advanced`` puts it under a folded "Advanced" section. A config
with presets (:class:`engines.fields.Preset`) gets a "Preset" box above its fields: choosing one sets
the fields it names, a field edited by hand keeps its value, and the box shows the preset the values
match ("Custom" when none). :meth:`DataclassForm.value` builds the config instance, so its
own ``__post_init__`` validation runs; :meth:`DataclassForm.problems` says in words what keeps it
from being built.

The form lives in a narrow dock, so editors shrink to a few characters' width instead of asking for
room for their longest value, and rows wrap (label above editor) only when even that does not fit.
"""

from __future__ import annotations

import math
import secrets
from typing import Any, Callable, Iterator

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engines.fields import FieldError, FieldSpec, PathKind, config_presets, describe_fields, matching_preset, preset_values

_BIG = 1e9
_INT_LIMIT = 2**31 - 1
CUSTOM = "Custom"
"""What the preset box shows when the values match none of the presets."""


def _narrow(widget: QWidget, chars: int) -> None:
    """Let ``widget`` shrink to about ``chars`` digits wide (a spin box asks for room for its whole range)."""
    metrics = widget.fontMetrics()
    widget.setMinimumWidth(chars * metrics.horizontalAdvance("0") + 2 * metrics.height())  # + frame and arrows


class _Field:
    """One editor widget and how to read and write the Python value it stands for."""

    def __init__(self, widget: QWidget, get: Callable[[], Any], set_: Callable[[Any], None]) -> None:
        self.widget, self.get, self.set = widget, get, set_


def _dice_icon(colour: QColor, side: int = 32) -> QIcon:
    """A die showing five, drawn in ``colour`` (no emoji font needed)."""
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = painter.pen()
    pen.setColor(colour)
    pen.setWidthF(side / 14)
    painter.setPen(pen)
    margin = side / 10
    painter.drawRoundedRect(QRectF(margin, margin, side - 2 * margin, side - 2 * margin), side / 6, side / 6)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    dot = side / 10
    for x, y in ((0.3, 0.3), (0.7, 0.3), (0.5, 0.5), (0.3, 0.7), (0.7, 0.7)):
        painter.drawEllipse(QRectF(x * side - dot, y * side - dot, 2 * dot, 2 * dot))
    painter.end()
    return QIcon(pixmap)


def _with_dice(spin: QSpinBox, key: str) -> QWidget:
    """``spin`` with a dice button that rolls a new random seed into it (a seed field)."""
    row = QWidget()
    dice = QToolButton()
    dice.setIcon(_dice_icon(dice.palette().buttonText().color()))
    dice.setText("Roll")
    dice.setObjectName(f"{key}_dice")
    dice.setToolTip("A new random seed: the same seed gives the same result, another one a new variation")
    dice.clicked.connect(lambda: spin.setValue(spin.minimum() + secrets.randbelow(spin.maximum() - spin.minimum() + 1)))
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(spin, 1)
    layout.addWidget(dice)
    return row


def _spin(kind: type, spec: FieldSpec, chars: int = 6, typical: float | None = None) -> QSpinBox | QDoubleSpinBox:
    """A spin box for an ``int`` or ``float`` within ``spec``'s range, about ``chars`` digits wide at least.

    A float's arrows step by a tenth of the value's magnitude (0.2 steps by 0.01, 0.0002 by
    0.00001) unless the metadata gives a step, and it shows enough decimals for its ``typical`` value.
    """
    low, high = spec.minimum, spec.maximum
    if kind is int:
        box = QSpinBox()
        box.setRange(int(-_INT_LIMIT if low is None else low), int(_INT_LIMIT if high is None else high))
        box.setSingleStep(int(spec.meta.get("step", 1)))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(int(spec.meta.get("decimals", _decimals_for(typical))))
        box.setRange(float(-_BIG if low is None else low), float(_BIG if high is None else high))
        if "step" in spec.meta:
            box.setSingleStep(float(spec.meta["step"]))
        else:
            box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    _narrow(box, chars)
    return box


def _decimals_for(value: float | None) -> int:
    """Decimals that show ``value`` with two significant digits at least (more when it has them),
    4 at least, 10 at most."""
    if not value:
        return 4
    exact = next((d for d in range(10) if round(value, d) == value), 10)
    return int(min(10, max(4, exact, 1 - math.floor(math.log10(abs(value))))))


class _WheelGuard(QObject):
    """Gives wheel events to an editor only once it has focus: scrolling a long form must scroll
    the form, not change whatever value passes under the pointer."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # filtered and ignored: Qt hands the event on to the parents (the scroll area)
            return True
        return False


def _text_box(spec: FieldSpec) -> _Field:
    """Several lines of text: a list (one item a line) or a multi-line string."""
    text = QPlainTextEdit()
    text.setMaximumHeight(80)
    return _Field(text, lambda: spec.parse(text.toPlainText()), lambda v: text.setPlainText(spec.to_text(v)))


class DataclassForm(QWidget):
    """A ``QFormLayout`` with one editor per field of ``config_type`` (a group box per nested config),
    its presets above them and its advanced fields in a folded section below.

    ``specs`` is for the form of a group inside another form: its fields' description, with the
    parent's defaults and dotted names.
    """

    changed = Signal()
    """Any editor's value changed (by hand or by a preset)."""

    def __init__(
        self, config_type: type, initial: Any = None, parent: QWidget | None = None,
        *, specs: tuple[FieldSpec, ...] | None = None,
    ) -> None:
        super().__init__(parent)
        self.config_type = config_type
        self.specs = describe_fields(config_type) if specs is None else specs
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)  # the panel or dialog around it has margins
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout_.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._fields: dict[str, _Field] = {}
        self._groups: dict[str, DataclassForm] = {}
        self._hidden: dict[str, Any] = {}
        self._wheel_guard = _WheelGuard(self)
        self.required: set[str] = {s.name for s in self.specs if s.required and s.gui}  # labelled "Name *"
        self.presets = config_presets(config_type) if specs is None else ()
        self.preset_box: QComboBox | None = self._preset_box() if self.presets else None
        self.advanced_toggle: QToolButton | None = None
        self.advanced: QWidget | None = None
        for spec in sorted(self.specs, key=lambda s: s.advanced):  # the folded section after every plain row
            if not spec.gui:
                self._hidden[spec.name] = None if spec.required else spec.default
                continue
            editor = self._editor(spec)
            editor.widget.setObjectName(spec.key)
            tip = ("Required. " if spec.required else "") + spec.doc
            editor.widget.setToolTip(tip)
            rows = self._advanced_rows() if spec.advanced else self.layout_
            if spec.kind == "group":
                rows.addRow(editor.widget)
            else:
                self._guard_wheel(editor.widget)
                self._report_changes(editor.widget)
                label = QLabel(spec.label + (" *" if spec.required else ""))
                label.setBuddy(editor.widget)
                label.setToolTip(tip)
                rows.addRow(label, editor.widget)
            self._fields[spec.name] = editor
        self.set_value(initial if initial is not None else _defaults(self.specs))
        if self.preset_box is not None:
            self.changed.connect(self._show_matching_preset)
            self._show_matching_preset()

    # ----------------------------------------------------------------- presets and advanced fields
    def _preset_box(self) -> QComboBox:
        """The "Preset" row: one item per preset (its doc as the item's tooltip), then "Custom"."""
        box = QComboBox()
        box.setObjectName("preset")
        for preset in self.presets:
            box.addItem(preset.label, preset.name)
            box.setItemData(box.count() - 1, preset.doc, Qt.ItemDataRole.ToolTipRole)
        box.addItem(CUSTOM, None)
        box.setItemData(box.count() - 1, "Settings of your own: choose a preset to start again from one",
                        Qt.ItemDataRole.ToolTipRole)
        tip = "Settings chosen together; a setting you change afterwards keeps your value.\n" + "\n".join(
            f"{preset.label}: {preset.doc}" for preset in self.presets)
        box.setToolTip(tip)
        box.currentIndexChanged.connect(self._on_preset_chosen)
        self._guard_wheel(box)
        label = QLabel("Preset")
        label.setBuddy(box)
        label.setToolTip(tip)
        self.layout_.addRow(label, box)
        return box

    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_box.itemData(index)
        if name is None:  # "Custom" by hand: the box goes back to the preset the values are, if any
            self._show_matching_preset()
        else:
            self.apply_preset(name)

    def apply_preset(self, name: str) -> None:
        """Set the fields the preset ``name`` names (KeyError for an unknown name)."""
        preset = next((p for p in self.presets if p.name == name), None)
        if preset is None:
            raise KeyError(f"{self.config_type.__name__} has no preset {name!r}")
        for key, value in preset_values(self.config_type, preset).items():
            self.set_field(key, value)

    def _show_matching_preset(self) -> None:
        """Show the preset the editors' values are, or "Custom" (without applying anything)."""
        keys = {key for preset in self.presets for key in preset.values}
        preset = matching_preset(self.config_type, {key: self._field(key).get() for key in keys})
        self.preset_box.blockSignals(True)
        self.preset_box.setCurrentIndex(self.preset_box.findData(preset.name) if preset else self.preset_box.count() - 1)
        self.preset_box.blockSignals(False)

    def _advanced_rows(self) -> QFormLayout:
        """The rows of the "Advanced" section, folded until its toggle is clicked (made on first use)."""
        if self.advanced is None:
            self.advanced_toggle = QToolButton()
            self.advanced_toggle.setObjectName("advanced")
            self.advanced_toggle.setText("Advanced")
            self.advanced_toggle.setToolTip("Show or hide the settings the preset chooses for you")
            self.advanced_toggle.setCheckable(True)
            self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
            self.advanced_toggle.setAutoRaise(True)
            self.advanced = QWidget()
            rows = QFormLayout(self.advanced)
            rows.setContentsMargins(0, 0, 0, 0)
            rows.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            rows.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            self.advanced.hide()
            self.advanced_toggle.toggled.connect(self.show_advanced)
            self.layout_.addRow(self.advanced_toggle)
            self.layout_.addRow(self.advanced)
        return self.advanced.layout()

    def show_advanced(self, shown: bool = True) -> None:
        """Unfold (or fold) the "Advanced" section."""
        if self.advanced is None:
            return
        self.advanced_toggle.setChecked(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.advanced.setVisible(shown)

    def _report_changes(self, editor: QWidget) -> None:
        """Emit :attr:`changed` whenever ``editor`` (or a widget in it) changes its value."""
        for widget in [editor, *editor.findChildren(QWidget)]:
            if isinstance(widget, QAbstractSpinBox):
                widget.valueChanged.connect(self.changed)
            elif isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(self.changed)
            elif isinstance(widget, (QLineEdit, QPlainTextEdit)) and not isinstance(widget.parentWidget(), QAbstractSpinBox):
                widget.textChanged.connect(self.changed)
            elif isinstance(widget, QAbstractButton) and widget.isCheckable():
                widget.toggled.connect(self.changed)

    def _guard_wheel(self, editor: QWidget) -> None:
        for widget in [editor, *editor.findChildren(QWidget)]:
            if isinstance(widget, (QAbstractSpinBox, QComboBox)):
                widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not focused by the wheel either
                widget.installEventFilter(self._wheel_guard)

    # ----------------------------------------------------------------- reading and writing
    def editor(self, name: str) -> QWidget:
        """The widget editing field ``name``, dotted for a group's field: ``densify.refine_every``."""
        return self._field(name).widget

    def value(self) -> Any:
        """A new config instance from the editors' current values (its validation runs)."""
        values = {name: f.get() for name, f in self._fields.items()}
        return self.config_type(**self._hidden, **values)

    def problems(self) -> list[str]:
        """What keeps the form from making a config, in words naming the fields: required fields
        left empty, else the config's own objection."""
        missing = [f"{label} is required" for label, spec in self._labelled() if spec.required and spec.gui
                   and str(self._field(spec.key).get()) in ("", ".")]  # Path("") reads "."
        if missing:
            return missing
        try:
            self.value()
        except FieldError as exc:
            return [f"{self.label_of(exc.field)}: {exc.reason}"]
        except (TypeError, ValueError) as exc:  # a check across fields
            return [str(exc)]
        return []

    def set_value(self, config: Any) -> None:
        """Show the values of a config instance or dict (fields it lacks, or sets to None, keep theirs);
        a group takes an instance of its config or a dict of some of its fields. A key that names no
        field raises KeyError, so a renamed field cannot be set in vain."""
        values = config if isinstance(config, dict) else {s.name: getattr(config, s.name) for s in self.specs}
        unknown = sorted(set(values) - set(self._fields) - set(self._hidden))
        if unknown:
            raise KeyError(f"{self.config_type.__name__} has no field {', '.join(unknown)}")
        for name, value in values.items():
            if name in self._fields and value is not None:
                self._fields[name].set(value)
            elif name in self._hidden:
                self._hidden[name] = value

    def set_field(self, key: str, value: Any) -> None:
        """Show ``value`` in the editor of the field with the dotted ``key``."""
        self._field(key).set(value)

    def fields(self) -> Iterator[FieldSpec]:
        """Every field of the form, groups' fields after their group."""
        for spec in self.specs:
            yield from spec.walk()

    def label_of(self, key: str) -> str:
        """The label of the field with the dotted ``key``, with its groups': "Densify › Refine every"."""
        return next((label for label, spec in self._labelled() if spec.key == key), key)

    def _labelled(self) -> Iterator[tuple[str, FieldSpec]]:
        for spec in self.specs:
            yield spec.label, spec
            for label, inner in (self._groups[spec.name]._labelled() if spec.name in self._groups else ()):
                yield f"{spec.label} › {label}", inner

    def _field(self, key: str) -> _Field:
        group, _, rest = key.partition(".")
        return self._groups[group]._field(rest) if rest else self._fields[key]

    # ----------------------------------------------------------------- editors
    def _editor(self, spec: FieldSpec) -> _Field:
        if spec.kind == "bool":
            box = QCheckBox()
            return _Field(box, box.isChecked, box.setChecked)
        if spec.kind in ("int", "float"):
            typical = spec.default if isinstance(spec.default, float) else None
            spin = _spin(int if spec.kind == "int" else float, spec, typical=typical)
            if spec.meta.get("seed"):
                return _Field(_with_dice(spin, spec.key), spin.value, spin.setValue)
            return _Field(spin, spin.value, spin.setValue)
        if spec.kind == "path":
            return self._path_editor(spec)
        if spec.kind == "str" and spec.multiline or spec.kind == "list":
            return _text_box(spec)
        if spec.kind == "str":
            line = QLineEdit()
            if spec.model is not None:  # an editable list of known models comes with the model settings
                line.setPlaceholderText(f"{spec.model} model: hub ID or folder")
                line.setProperty("model_role", spec.model)
            return _Field(line, lambda: spec.parse(line.text()), line.setText)
        if spec.kind == "choice":
            box = QComboBox()
            for choice in spec.choices:
                box.addItem(spec.to_text(choice), choice)
            return _Field(
                box, lambda: spec.choices[box.currentIndex()], lambda v: box.setCurrentIndex(spec.choices.index(v))
            )
        if spec.kind == "tuple":
            return self._tuple_editor(spec)
        return self._group_editor(spec)

    def _group_editor(self, spec: FieldSpec) -> _Field:
        """A titled box around the form of a nested config."""
        box = QGroupBox(spec.label)
        inner = DataclassForm(spec.config_type, spec.default, box, specs=spec.fields)
        inner.changed.connect(self.changed)
        QVBoxLayout(box).addWidget(inner)
        self._groups[spec.name] = inner

        def get() -> Any:
            try:
                return inner.value()
            except FieldError as exc:
                raise exc.within(spec.name) from None

        return _Field(box, get, inner.set_value)

    def _path_editor(self, spec: FieldSpec) -> _Field:
        """A line edit with a browse button opening the dialog the field's path kind calls for."""
        row = QWidget()
        line = QLineEdit()
        browse = QToolButton()
        browse.setText("…")
        browse.setObjectName(f"{spec.key}_browse")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(line)
        layout.addWidget(browse)

        def pick() -> None:
            chosen = self.ask_path(spec.key, line.text(), spec.path)
            if chosen:
                line.setText(chosen)

        browse.clicked.connect(pick)
        return _Field(row, lambda: spec.parse(line.text()), lambda v: line.setText(str(v)))

    def ask_path(self, name: str, current: str, mode: PathKind) -> str:
        """The dialog behind a path field's button: an existing file or image, a folder, or a file to
        write, offering the field's extensions (tests replace this method)."""
        spec = next(s for s in self.fields() if s.key == name)
        title = spec.label
        if mode == "folder":
            return QFileDialog.getExistingDirectory(self, title, current)
        patterns = " ".join(f"*{e}" for e in spec.extensions)
        filters = f"{'Images' if mode == 'image' else title} ({patterns});;All files (*)" if patterns else ""
        if mode == "save":
            return QFileDialog.getSaveFileName(self, title, current, filters)[0]
        return QFileDialog.getOpenFileName(self, title, current, filters)[0]

    @staticmethod
    def _tuple_editor(spec: FieldSpec) -> _Field:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        spins = [_spin(item, spec, chars=3) for item in spec.items]
        for spin in spins:  # compact: typed in, no arrows
            spin.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            layout.addWidget(spin)

        def set_(values: Any) -> None:
            for spin, v in zip(spins, values):
                spin.setValue(v)

        return _Field(row, lambda: tuple(item(s.value()) for item, s in zip(spec.items, spins)), set_)


def _defaults(specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """Field defaults, for forms of configs that cannot be built without arguments."""
    return {spec.name: spec.default for spec in specs if not spec.required}
