"""Which camera path a run follows: the one typed in its form, or one of the document's.

A Generate form gets a :class:`PathChoice` under it when its config has a *camera path field*: a
text field (a preset's name or a saved path's file) whose metadata has ``camera_path`` set, e.g.
``trajectory: str = field(default="lookaround", metadata={"camera_path": True})``. Its combo offers
"as typed" (the field's text, which is then what a run gets) and each camera path of the document
by name, listed afresh whenever the combo opens. While a document path is chosen the field is
greyed out: the run follows that path, which the window writes to the job's run folder as JSON
and gives the field as that file (:meth:`GeneratePanel.add_engine`).
"""

from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from scene.camera_path import CameraPath
from scene.document import NamedPath
from studio.panels.forms import DataclassForm


class PathChoice(QWidget):
    """The combo choosing the camera path of ``form``'s field ``key``: as typed, or one of ``paths()``."""

    def __init__(
        self, form: DataclassForm, key: str, paths: Callable[[], Sequence[NamedPath]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.form, self.key, self.paths = form, key, paths
        self.combo = _OpeningCombo(self.refresh)
        self.combo.setObjectName("path_choice")
        self.combo.setToolTip("The camera path the run follows: the one typed above, or a camera path of the document")
        self.combo.currentIndexChanged.connect(lambda _index: self._grey_field())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Path:"))
        layout.addWidget(self.combo, 1)
        self._line().textChanged.connect(lambda _text: self._name_typed())
        self.refresh()

    def _line(self) -> QLineEdit:
        editor = self.form.editor(self.key)
        return editor if isinstance(editor, QLineEdit) else editor.findChild(QLineEdit)

    def refresh(self) -> None:
        """List the document's paths as they are now, keeping the chosen one chosen while it exists."""
        chosen = self.combo.currentData()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("", None)
        self._name_typed()
        for named in self.paths():
            self.combo.addItem(named.name, named.id)
        self.combo.setCurrentIndex(max(0, self.combo.findData(chosen)) if chosen is not None else 0)
        self.combo.blockSignals(False)
        self._grey_field()

    def choose(self, name: str) -> None:
        """Choose the document's camera path called ``name`` (a ``KeyError`` when there is none)."""
        self.refresh()
        index = self.combo.findText(name)
        if index <= 0:
            raise KeyError(f"the document has no camera path called {name!r}")
        self.combo.setCurrentIndex(index)

    def chosen(self) -> CameraPath | None:
        """The document path a run follows; None when it follows the field as typed. A ``ValueError``
        saying so when the chosen path has left the document (deleted, or another document opened)."""
        path_id = self.combo.currentData()
        if path_id is None:
            return None
        named = next((named for named in self.paths() if named.id == path_id), None)
        if named is None:
            raise ValueError(f"Path: the camera path {self.combo.currentText()!r} is no longer in the document; choose another")
        return named.path

    def _name_typed(self) -> None:
        self.combo.setItemText(0, f"{self._line().text().strip() or '(none)'} (as typed)")

    def _grey_field(self) -> None:
        self.form.editor(self.key).setEnabled(self.combo.currentData() is None)


class _OpeningCombo(QComboBox):
    """A combo that calls ``opening()`` before it shows its list."""

    def __init__(self, opening: Callable[[], None]) -> None:
        super().__init__()
        self.opening = opening

    def showPopup(self) -> None:
        self.opening()
        super().showPopup()
