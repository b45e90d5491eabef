"""A Qt form built from a config dataclass, so the GUI offers exactly the options the CLI does.

Supported field types: ``int``, ``float``, ``bool``, ``str``, ``Enum`` subclasses, ``Literal[...]``,
``pathlib.Path``, fixed-length tuples of ``int``/``float`` and ``list[str]`` (one item a line).
Tooltips are the fields' docstrings (:func:`engines.registry.field_docs`, the text of the CLI's
``--help`` too); field ``metadata`` may carry ``help`` (a tooltip that wins over the docstring), ``min``,
``max``, ``step``, ``decimals``, ``path`` (``"file"``, ``"folder"`` or ``"save"``: a ``str`` or
``Path`` field edited with a browse button opening that dialog), and ``gui: False`` to leave a field out of the form (it keeps the
initial value). :meth:`DataclassForm.value` builds the config instance (so its own ``__post_init__``
validation runs).

The form lives in a narrow dock, so editors shrink to a few characters' width instead of asking for
room for their longest value, and rows wrap (label above editor) only when even that does not fit.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import typing
from pathlib import Path
from typing import Any, Callable, Literal

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from engines.registry import field_docs

_BIG = 1e9
PathMode = Literal["file", "folder", "save"]  # which dialog a path field's browse button opens
_WORDS = {
    "cpu": "CPU",
    "dssim": "D-SSIM",
    "fps": "FPS",
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


def field_label(name: str) -> str:
    """A short, readable label for the field ``name``: ``sh_degree`` -> "SH degree", ``delay_s`` -> "Delay (s)"."""
    words = name.split("_")
    unit = f" ({words.pop()})" if len(words) > 1 and words[-1] in _UNITS else ""
    text = " ".join(_WORDS.get(word, word) for word in words)
    return text[:1].upper() + text[1:] + unit


def _narrow(widget: QWidget, chars: int) -> None:
    """Let ``widget`` shrink to about ``chars`` digits wide (a spin box asks for room for its whole range)."""
    metrics = widget.fontMetrics()
    widget.setMinimumWidth(chars * metrics.horizontalAdvance("0") + 2 * metrics.height())  # + frame and arrows


class _Field:
    """One editor widget and how to read and write the Python value it stands for."""

    def __init__(self, widget: QWidget, get: Callable[[], Any], set_: Callable[[Any], None]) -> None:
        self.widget, self.get, self.set = widget, get, set_


def _spin(kind: type, meta: typing.Mapping[str, Any], chars: int = 6, typical: float | None = None) -> QSpinBox | QDoubleSpinBox:
    """A spin box for an ``int`` or ``float`` within ``meta``'s bounds, about ``chars`` digits wide at least.

    A float's arrows step by a tenth of the value's magnitude (0.2 steps by 0.01, 0.0002 by
    0.00001) unless ``meta`` gives a step, and it shows enough decimals for its ``typical`` value.
    """
    if kind is int:
        box = QSpinBox()
        box.setRange(int(meta.get("min", -(2**31) + 1)), int(meta.get("max", 2**31 - 1)))
        box.setSingleStep(int(meta.get("step", 1)))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(int(meta.get("decimals", _decimals_for(typical))))
        box.setRange(float(meta.get("min", -_BIG)), float(meta.get("max", _BIG)))
        if "step" in meta:
            box.setSingleStep(float(meta["step"]))
        else:
            box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    _narrow(box, chars)
    return box


def _decimals_for(value: float | None) -> int:
    """Decimals that show ``value`` with two significant digits, 4 at least, 10 at most."""
    if not value:
        return 4
    return int(min(10, max(4, 1 - math.floor(math.log10(abs(value))))))


class _WheelGuard(QObject):
    """Gives wheel events to an editor only once it has focus: scrolling a long form must scroll
    the form, not change whatever value passes under the pointer."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # filtered and ignored: Qt hands the event on to the parents (the scroll area)
            return True
        return False


def _choices(box: QComboBox, options: list[tuple[str, Any]]) -> _Field:
    for label, value in options:
        box.addItem(label, value)
    values = [v for _, v in options]
    return _Field(box, lambda: values[box.currentIndex()], lambda v: box.setCurrentIndex(values.index(v)))


class DataclassForm(QWidget):
    """A ``QFormLayout`` with one editor per field of ``config_type``."""

    def __init__(self, config_type: type, initial: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not dataclasses.is_dataclass(config_type):
            raise TypeError(f"{config_type!r} is not a dataclass")
        self.config_type = config_type
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)  # the panel or dialog around it has margins
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout_.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        hints = typing.get_type_hints(config_type)
        docs = field_docs(config_type)
        self._fields: dict[str, _Field] = {}
        self._hidden: dict[str, Any] = {}
        self._wheel_guard = _WheelGuard(self)
        self.required: set[str] = set()  # fields the config has no default for (labelled "Name *")
        for f in dataclasses.fields(config_type):
            if not f.init:
                continue
            if f.metadata.get("gui", True) is False:
                self._hidden[f.name] = None
                continue
            editor = self._editor(f.name, hints[f.name], f.metadata, f.default)
            editor.widget.setObjectName(f.name)
            for widget in [editor.widget, *editor.widget.findChildren(QWidget)]:
                if isinstance(widget, (QAbstractSpinBox, QComboBox)):
                    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not focused by the wheel either
                    widget.installEventFilter(self._wheel_guard)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required:
                self.required.add(f.name)
            label = QLabel(field_label(f.name) + (" *" if required else ""))
            label.setBuddy(editor.widget)
            tip = ("Required. " if required else "") + str(f.metadata.get("help", docs.get(f.name, "")))
            for widget in (label, editor.widget):
                widget.setToolTip(tip)
            self.layout_.addRow(label, editor.widget)
            self._fields[f.name] = editor
        self.set_value(initial if initial is not None else _defaults(config_type))

    def editor(self, name: str) -> QWidget:
        """The widget editing field ``name`` (for tests and for panels that customise one)."""
        return self._fields[name].widget

    def value(self) -> Any:
        """A new config instance from the editors' current values."""
        values = {name: f.get() for name, f in self._fields.items()}
        return self.config_type(**self._hidden, **values)

    def problems(self) -> list[str]:
        """What keeps the form from making a config, in words: required fields left empty."""
        return [
            f"{field_label(name)} is required" for name in sorted(self.required)
            if name in self._fields and str(self._fields[name].get()) in ("", ".")  # Path("") reads "."
        ]

    def set_value(self, config: Any | dict[str, Any]) -> None:
        """Show the values of a config instance or dict (fields it lacks, or sets to None, keep theirs)."""
        values = config if isinstance(config, dict) else dataclasses.asdict(config)
        for name, value in values.items():
            if name in self._fields and value is not None:
                self._fields[name].set(value)
            elif name in self._hidden:
                self._hidden[name] = value

    def _editor(self, name: str, kind: Any, meta: typing.Mapping[str, Any], default: Any = None) -> _Field:
        origin = typing.get_origin(kind)
        if kind is bool:
            box = QCheckBox()
            return _Field(box, box.isChecked, box.setChecked)
        if kind in (int, float):
            spin = _spin(kind, meta, typical=default if isinstance(default, float) else None)
            return _Field(spin, spin.value, spin.setValue)
        if kind is str and "path" in meta:
            return self._path_editor(name, meta["path"], str)
        if kind is str:
            line = QLineEdit()
            return _Field(line, line.text, line.setText)
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return _choices(QComboBox(), [(m.name.lower(), m) for m in kind])
        if origin is Literal:
            return _choices(QComboBox(), [(str(v), v) for v in typing.get_args(kind)])
        if isinstance(kind, type) and issubclass(kind, Path):
            return self._path_editor(name, meta.get("path", "file"), Path)
        if origin is tuple:
            return self._tuple_editor(name, kind, meta)
        if origin is list and typing.get_args(kind) in ((str,), (Path,)):
            item = typing.get_args(kind)[0]
            text = QPlainTextEdit()
            text.setMaximumHeight(80)
            return _Field(
                text,
                lambda: [item(line.strip()) for line in text.toPlainText().splitlines() if line.strip()],
                lambda v: text.setPlainText("\n".join(str(x) for x in v)),
            )
        raise TypeError(f"DataclassForm: field {name!r} has an unsupported type {kind!r}")

    def _path_editor(self, name: str, mode: PathMode, convert: Callable[[str], Any]) -> _Field:
        """A line edit with a browse button; ``mode`` says which dialog the button opens."""
        if mode not in typing.get_args(PathMode):
            raise TypeError(f"DataclassForm: field {name!r}: metadata path must be one of {typing.get_args(PathMode)}")
        row = QWidget()
        line = QLineEdit()
        browse = QToolButton()
        browse.setText("…")
        browse.setObjectName(f"{name}_browse")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(line)
        layout.addWidget(browse)

        def pick() -> None:
            chosen = self.ask_path(name, line.text(), mode)
            if chosen:
                line.setText(chosen)

        browse.clicked.connect(pick)
        return _Field(row, lambda: convert(line.text()), lambda v: line.setText(str(v)))

    def ask_path(self, name: str, current: str, mode: PathMode) -> str:
        """The dialog behind a path field's button: an existing file, a folder, or a file to write
        (tests replace this method)."""
        title = field_label(name)
        if mode == "folder":
            return QFileDialog.getExistingDirectory(self, title, current)
        if mode == "save":
            return QFileDialog.getSaveFileName(self, title, current)[0]
        return QFileDialog.getOpenFileName(self, title, current)[0]

    @staticmethod
    def _tuple_editor(name: str, kind: Any, meta: typing.Mapping[str, Any]) -> _Field:
        args = typing.get_args(kind)
        if not args or Ellipsis in args or any(a not in (int, float) for a in args):
            raise TypeError(
                f"DataclassForm: field {name!r}: only fixed-length tuples of int/float are supported, got {kind!r}"
            )
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        spins = [_spin(a, meta, chars=3) for a in args]
        for spin in spins:  # compact: typed in, no arrows
            spin.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            layout.addWidget(spin)

        def set_(values: Any) -> None:
            for spin, v in zip(spins, values):
                spin.setValue(v)

        return _Field(row, lambda: tuple(a(s.value()) for a, s in zip(args, spins)), set_)


def _defaults(config_type: type) -> dict[str, Any]:
    """Field defaults, for forms of configs that cannot be built without arguments."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config_type):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out
