"""The Generate dock: one tab per engine, each a form built from the engine's config dataclass.

Engine issues call :meth:`GeneratePanel.add_engine`; the panel knows nothing of any engine. A tab
scrolls only vertically: its form narrows to the dock's width, however narrow the dock is docked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from studio.panels.forms import DataclassForm


class GeneratePanel(QTabWidget):
    """Tabs of engine forms; shows a hint until the first engine is added."""

    image_imported = Signal(str)  # an image dropped or imported for the generators to use

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = QLabel("No generators are installed yet.")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addTab(self._placeholder, "Generate")
        self.forms: dict[str, DataclassForm] = {}
        self.input_images: list[Path] = []

    def add_engine(self, name: str, config_type: type, on_run: Callable[[Any], None]) -> DataclassForm:
        """A tab named ``name`` whose Run button calls ``on_run(config)``."""
        if self._placeholder is not None:
            self.removeTab(self.indexOf(self._placeholder))
            self._placeholder.deleteLater()
            self._placeholder = None
        page = QWidget()
        layout = QVBoxLayout(page)
        if config_type.__doc__ and not config_type.__doc__.startswith(config_type.__name__ + "("):
            layout.addWidget(QLabel(config_type.__doc__.strip().split("\n\n")[0], wordWrap=True))
        form = DataclassForm(config_type)
        run = QPushButton("Run")
        run.setObjectName("run")
        error = QLabel(wordWrap=True)
        error.setObjectName("error")
        error.setStyleSheet("color: #d33;")
        error.hide()
        run.clicked.connect(lambda: self._run(form, error, on_run))
        layout.addWidget(form)
        layout.addWidget(run)
        layout.addWidget(error)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        self.addTab(scroll, name)
        self.forms[name] = form
        return form

    @staticmethod
    def _run(form: DataclassForm, error: QLabel, on_run: Callable[[Any], None]) -> None:
        """Build the config and hand it on; or say, under the button, why it cannot be built."""
        problems = form.problems()
        if not problems:
            try:
                config = form.value()
            except (TypeError, ValueError) as exc:  # the config's own validation
                problems = [str(exc)]
        error.setText("\n".join(problems))
        error.setVisible(bool(problems))
        if not problems:
            on_run(config)

    def add_input_image(self, path: str | Path) -> None:
        """Remember an imported image as input for image-conditioned engines."""
        self.input_images.append(Path(path))
        self.image_imported.emit(str(path))
