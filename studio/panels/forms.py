"""A Qt form built from a config dataclass, so the GUI offers exactly the options the CLI does.

Supported field types: ``int``, ``float``, ``bool``, ``str``, ``Enum`` subclasses, ``Literal[...]``,
``pathlib.Path``, fixed-length tuples of ``int``/``float`` and ``list[str]`` (one item a line).
Field ``metadata`` may carry ``help`` (tooltip), ``min``, ``max``, ``step``, and ``gui: False`` to
leave a field out of the form (it keeps the initial value). :meth:`DataclassForm.value` builds the config
instance (so its own ``__post_init__`` validation runs).
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from pathlib import Path
from typing import Any, Callable, Literal

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

_BIG = 1e9


class _Field:
    """One editor widget and how to read and write the Python value it stands for."""

    def __init__(self, widget: QWidget, get: Callable[[], Any], set_: Callable[[Any], None]) -> None:
        self.widget, self.get, self.set = widget, get, set_


def _spin(kind: type, meta: typing.Mapping[str, Any]) -> QSpinBox | QDoubleSpinBox:
    if kind is int:
        box = QSpinBox()
        box.setRange(int(meta.get("min", -(2**31) + 1)), int(meta.get("max", 2**31 - 1)))
        box.setSingleStep(int(meta.get("step", 1)))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(int(meta.get("decimals", 4)))
        box.setRange(float(meta.get("min", -_BIG)), float(meta.get("max", _BIG)))
        box.setSingleStep(float(meta.get("step", 0.1)))
    return box


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
        hints = typing.get_type_hints(config_type)
        self._fields: dict[str, _Field] = {}
        self._hidden: dict[str, Any] = {}
        for f in dataclasses.fields(config_type):
            if not f.init:
                continue
            if f.metadata.get("gui", True) is False:
                self._hidden[f.name] = None
                continue
            editor = self._editor(f.name, hints[f.name], f.metadata)
            editor.widget.setObjectName(f.name)
            if "help" in f.metadata:
                editor.widget.setToolTip(str(f.metadata["help"]))
            self.layout_.addRow(f.name.replace("_", " ").capitalize(), editor.widget)
            self._fields[f.name] = editor
        self.set_value(initial if initial is not None else _defaults(config_type))

    def editor(self, name: str) -> QWidget:
        """The widget editing field ``name`` (for tests and for panels that customise one)."""
        return self._fields[name].widget

    def value(self) -> Any:
        """A new config instance from the editors' current values."""
        values = {name: f.get() for name, f in self._fields.items()}
        return self.config_type(**self._hidden, **values)

    def set_value(self, config: Any | dict[str, Any]) -> None:
        values = config if isinstance(config, dict) else dataclasses.asdict(config)
        for name, value in values.items():
            if name in self._fields and value is not None:
                self._fields[name].set(value)
            elif name in self._hidden:
                self._hidden[name] = value

    def _editor(self, name: str, kind: Any, meta: typing.Mapping[str, Any]) -> _Field:
        origin = typing.get_origin(kind)
        if kind is bool:
            box = QCheckBox()
            return _Field(box, box.isChecked, box.setChecked)
        if kind in (int, float):
            spin = _spin(kind, meta)
            return _Field(spin, spin.value, spin.setValue)
        if kind is str:
            line = QLineEdit()
            return _Field(line, line.text, line.setText)
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return _choices(QComboBox(), [(m.name.lower(), m) for m in kind])
        if origin is Literal:
            return _choices(QComboBox(), [(str(v), v) for v in typing.get_args(kind)])
        if isinstance(kind, type) and issubclass(kind, Path):
            return self._path_editor(name)
        if origin is tuple:
            return self._tuple_editor(kind, meta)
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

    def _path_editor(self, name: str) -> _Field:
        row = QWidget()
        line = QLineEdit()
        browse = QPushButton("…")
        browse.setObjectName(f"{name}_browse")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(line)
        layout.addWidget(browse)

        def pick() -> None:
            chosen = self.ask_path(name, line.text())
            if chosen:
                line.setText(chosen)

        browse.clicked.connect(pick)
        return _Field(row, lambda: Path(line.text()), lambda v: line.setText(str(v)))

    def ask_path(self, name: str, current: str) -> str:
        """The file dialog behind a path field's button (tests replace this method)."""
        return QFileDialog.getOpenFileName(self, name.replace("_", " ").capitalize(), current)[0]

    @staticmethod
    def _tuple_editor(kind: Any, meta: typing.Mapping[str, Any]) -> _Field:
        args = typing.get_args(kind)
        if not args or Ellipsis in args or any(a not in (int, float) for a in args):
            raise TypeError(f"DataclassForm: only fixed-length tuples of int/float are supported, got {kind!r}")
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        spins = [_spin(a, meta) for a in args]
        for spin in spins:
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
