"""The Preferences dialog: a General tab (the form of :class:`~studio.settings.Settings` and where
engines run, :mod:`studio.panels.engines_on`) and the Models page (:mod:`studio.panels.models_page`).

Both tabs edit copies; :meth:`PreferencesDialog.settings` puts them together into the settings
the window applies and saves when the artist presses OK, and Cancel leaves everything as it was
(a model downloaded meanwhile stays downloaded).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from studio.panels.engines_on import EnginesOnBox
from studio.panels.forms import DataclassForm
from studio.panels.models_page import ModelsPage
from studio.settings import Settings
from studio.workers import TaskRunner


class PreferencesDialog(QDialog):
    """Edits ``settings``; downloads and checks run on ``runner`` (the window's, so its status bar
    shows them and they go on after the dialog closes; a runner of the dialog's own when None)."""

    def __init__(self, settings: Settings, runner: TaskRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        runner = runner or TaskRunner(self)
        self.general = DataclassForm(Settings, settings)
        self.engines_on = EnginesOnBox(settings.engines_on, settings.cluster_address, runner)
        self.models = ModelsPage(settings, runner)
        general_page = QWidget()  # the form at its natural height, at the top
        general_layout = QVBoxLayout(general_page)
        general_layout.addWidget(self.engines_on)
        general_layout.addWidget(self.general)
        general_layout.addStretch(1)
        general_scroll = QScrollArea()
        general_scroll.setWidgetResizable(True)
        general_scroll.setWidget(general_page)
        self.tabs = QTabWidget()
        self.tabs.addTab(general_scroll, "General")
        self.tabs.addTab(self.models, "Models")
        self.tabs.currentChanged.connect(self._models_follow_general)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.resize(820, 720)

    def settings(self) -> Settings:
        """The settings as the dialog shows them: the General tab's values (where engines run among
        them), the Models page's choices."""
        engines_on, address = self.engines_on.value()
        return dataclasses.replace(
            self.general.value(), engines_on=engines_on, cluster_address=address, model_choices=self.models.choices(),
            allow_pickle_models=self.models.allowed_pickle(),
        )

    def accept(self) -> None:
        """Close with OK, unless a choice cannot be taken: a cluster without an address (the box
        says so), a model field's value (its row says why)."""
        if not self.engines_on.check():
            self.tabs.setCurrentIndex(0)
            return
        if self.models.problems():
            self.tabs.setCurrentWidget(self.models)
            return
        super().accept()

    def _models_follow_general(self) -> None:
        """The Models page looks where the General tab says (model folders, offline), saved or not."""
        if self.tabs.currentWidget() is self.models and not self.general.problems():
            general = self.general.value()
            self.models.set_search(general.model_folders, general.offline)
