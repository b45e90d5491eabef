"""Preferences > Models: the model each role uses, where it is, and getting, checking or removing it.

The page offers what ``atelier4d models`` offers, from the same code (:mod:`engines.models`): the
inventory says where each role's model is and how big, ``fetch`` downloads it, ``verify_model``
checks it loads, ``check_folder`` judges a folder, ``remove_from_cache`` deletes a download. It
edits its own copy of the choices and of the roles allowed pickle weights; the Preferences dialog
reads them back when the artist presses OK. Downloads and checks run on the studio's
:class:`~studio.workers.TaskRunner` with a progress bar and Cancel; the dialogs it opens are behind
``ask_*`` methods that tests replace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engines.models import ROLES, ModelError, ModelRole, ModelSource
from engines.models.folders import check_folder
from engines.models.hub import downloads_off, fetch
from engines.models.inventory import RoleStatus, disk_usage, remove_from_cache, role_status, size_text
from engines.models.loading import verify_model
from studio.settings import Settings
from studio.workers import Progress, Task, TaskRunner

PICKLE_TIP = "pickle weights (.bin/.ckpt) can run code when loaded; allow only for models you trust"
_WHERE = {
    "folder": "Here, your own folder",
    "model folder": "Here, in one of your model folders",
    "cache": "Here, downloaded",
    "missing": "Not here",
}
_ERROR_STYLE = "color: #e06c60;"


class RoleRow(QGroupBox):
    """One role's box: its choice, where its model is, its actions, and the progress of its task.

    The row only shows; :class:`ModelsPage` acts. It follows one task at a time (a download or a
    check) and says when that task has ended with :attr:`task_ended`."""

    task_ended = Signal()

    def __init__(self, role: ModelRole, parent: QWidget | None = None) -> None:
        super().__init__(f"{role.label} ({role.name})", parent)
        self.role = role
        self.task: Task | None = None
        self.status: RoleStatus | None = None
        purpose = QLabel(f"For {role.purpose}.", wordWrap=True)
        purpose.setEnabled(False)  # the muted look of a caption
        self.choice_edit = QLineEdit()
        self.choice_edit.setPlaceholderText(f"{role.default} (default)")
        self.choice_edit.setToolTip("A hub id (organisation/name, optionally @revision) or a folder; empty: the default")
        self.folder_button = QPushButton("Use folder…")
        self.folder_button.setToolTip(f"Use a folder of your own holding a {role.label.lower()} model")
        self.reset_button = QPushButton("Reset to default")
        self.reset_button.setToolTip(f"Use the default model, {role.default}")
        self.status_label = QLabel()
        self.folder_label = QLabel()
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setEnabled(False)
        self.download_button = QPushButton("Download")
        self.verify_button = QPushButton("Verify")
        self.verify_button.setToolTip("Check every part of the model is there and that it loads (nothing is run)")
        self.remove_button = QPushButton("Remove from cache")
        self.pickle_box = QCheckBox("Allow pickle weights")
        self.pickle_box.setToolTip(PICKLE_TIP)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.message_label = QLabel(wordWrap=True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(purpose)
        layout.addLayout(_row(self.choice_edit, self.folder_button, self.reset_button))
        layout.addWidget(self.status_label)
        layout.addWidget(self.folder_label)
        layout.addLayout(_row(self.download_button, self.verify_button, self.remove_button, None, self.pickle_box))
        layout.addLayout(_row(self.progress_bar, self.cancel_button))
        layout.addWidget(self.message_label)
        self.cancel_button.clicked.connect(self.cancel)
        self._show_busy(False)
        self.message_label.hide()

    # ----------------------------------------------------------------- what the row shows
    def show_status(self, status: RoleStatus, choice: str) -> None:
        """The model chosen (``choice``, empty for the default) and where it is."""
        self.status = status
        if not self.choice_edit.hasFocus():
            self.choice_edit.setText(choice)
        self.reset_button.setEnabled(not status.is_default)
        detail = size_text(status.size_bytes) if status.here else "download it, or use a folder of your own"
        self.status_label.setText(f"{_WHERE[status.where]}: {detail}")
        self.folder_label.setText(str(status.folder) if status.folder else "")
        self.folder_label.setVisible(status.here and status.where != "folder")  # a folder of one's own is in the field
        self._enable_actions()

    def show_message(self, text: str, error: bool = False) -> None:
        """A line under the row: the outcome of the last action, red when it failed."""
        self.message_label.setText(text)
        self.message_label.setStyleSheet(_ERROR_STYLE if error else "")
        self.message_label.setVisible(bool(text))

    def _enable_actions(self) -> None:
        status, busy = self.status, self.task is not None
        hub_model = status is not None and not status.source.is_folder
        self.download_button.setEnabled(not busy and hub_model and not status.here)
        self.download_button.setToolTip(
            "Your own folder is used where it is" if status is not None and status.source.is_folder else
            "Already on this machine" if status is not None and status.here else
            "Download the model into the Hugging Face cache"
        )
        self.verify_button.setEnabled(not busy and status is not None and status.here)
        self.remove_button.setEnabled(not busy and status is not None and status.where == "cache")
        self.remove_button.setToolTip(
            "Delete the downloaded model from the cache" if self.remove_button.isEnabled() else
            "Only a downloaded model can be removed here; your own folders stay yours"
        )

    # ----------------------------------------------------------------- following a task
    def follow(self, task: Task) -> None:
        """Show ``task``'s progress and outcome until it ends (connected before it runs)."""
        self.task = task
        task.progressed.connect(self.show_progress)
        task.succeeded.connect(self.show_message)
        task.failed.connect(self._show_failure)
        task.cancelled.connect(self._show_cancelled)
        task.finished.connect(self._end_task)
        self.show_message(f"{task.name}…")
        self.progress_bar.setRange(0, 0)  # busy until the first report
        self._show_busy(True)

    def show_progress(self, fraction: float, text: str) -> None:
        if fraction >= 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(fraction * 1000))
        if text:
            self.show_message(text)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.show_message("Cancelling…")

    def _show_failure(self, text: str) -> None:
        self.show_message(text, error=True)

    def _show_cancelled(self) -> None:
        self.show_message(f"{self.task.name} cancelled" if self.task else "Cancelled")

    def _end_task(self) -> None:
        self.task = None
        self._show_busy(False)
        self.task_ended.emit()

    def _show_busy(self, busy: bool) -> None:
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._enable_actions()


class ModelsPage(QWidget):
    """Every role's model, with the choice, status and actions of :class:`RoleRow`; the total size."""

    def __init__(self, settings: Settings, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._choices = dict(settings.model_choices)
        self._pickle = list(settings.allow_pickle_models)
        self._model_folders: list[str] = list(settings.model_folders)
        self._offline = settings.offline
        self.intro = QLabel(wordWrap=True)
        self.total_label = QLabel()
        self.total_label.setObjectName("total")
        self.rows: dict[str, RoleRow] = {}
        boxes = QWidget()
        boxes_layout = QVBoxLayout(boxes)
        for role in ROLES.values():
            row = RoleRow(role)
            self._connect(row)
            boxes_layout.addWidget(row)
            self.rows[role.name] = row
        boxes_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(boxes)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.total_label)
        self.refresh()

    def _connect(self, row: RoleRow) -> None:
        name = row.role.name
        row.pickle_box.setChecked(name in self._pickle)
        row.choice_edit.editingFinished.connect(lambda: self.choose(name, row.choice_edit.text()))
        row.folder_button.clicked.connect(lambda: self.use_folder(name))
        row.reset_button.clicked.connect(lambda: self.reset(name))
        row.download_button.clicked.connect(lambda: self.download(name))
        row.verify_button.clicked.connect(lambda: self.verify(name))
        row.remove_button.clicked.connect(lambda: self.remove(name))
        row.pickle_box.toggled.connect(lambda allowed: self.allow_pickle(name, allowed))
        row.task_ended.connect(self.refresh)

    # ----------------------------------------------------------------- what the dialog reads back
    def choices(self) -> dict[str, str]:
        """Role -> the user's hub id or folder, for the roles not on their default."""
        return dict(self._choices)

    def allowed_pickle(self) -> list[str]:
        """The roles allowed to load pickle weights."""
        return list(self._pickle)

    def problems(self) -> list[str]:
        """Take what each field holds as the role's choice; what could not be taken, and why (each
        row shows its own reason too)."""
        refused = [name for name, row in self.rows.items() if not self.choose(name, row.choice_edit.text())]
        return [f"{ROLES[name].label}: {self.rows[name].message_label.text()}" for name in refused]

    def set_search(self, model_folders: Sequence[str], offline: bool) -> None:
        """Look in ``model_folders`` and follow ``offline`` (the General tab's values, maybe unsaved)."""
        self._model_folders, self._offline = list(model_folders), offline
        self.refresh()

    # ----------------------------------------------------------------- actions
    def refresh(self) -> None:
        """Every role's status and the total size, from the folders and the cache as they are now."""
        statuses = [self._status(name) for name in self.rows]
        for status in statuses:
            self.rows[status.role.name].show_status(status, self._choices.get(status.role.name, ""))
        here = sum(status.here for status in statuses)
        self.total_label.setText(
            f"{here} of {len(statuses)} roles have their model on this machine, "
            f"{size_text(disk_usage(statuses))} on disk in all."
        )
        off = " Downloads are off (Offline, on the General tab)." if downloads_off(self._offline) else ""
        self.intro.setText(
            "Each role is a kind of model the generators use. Leave the field empty for the default, "
            "type another model's hub id (organisation/name, optionally @revision), or use a folder of your own." + off
        )

    def choose(self, name: str, text: str) -> bool:
        """Make ``text`` (a hub id, a folder, empty for the default) ``name``'s choice; False, and the
        reason shown in the row, when it is not a hub id or not a valid model folder for the role."""
        role, row = ROLES[name], self.rows[name]
        if text.strip() == self._choices.get(name, ""):
            return True  # unchanged: a chosen folder that has gone since shows as not here, and is kept
        try:
            choice = _choice(role, text, name in self._pickle)
        except (ValueError, ModelError) as exc:
            row.show_message(str(exc), error=True)
            return False
        if choice == self._choices.get(name, ""):
            return True
        if choice:
            self._choices[name] = choice
        else:
            self._choices.pop(name, None)
        row.show_message("")
        self.refresh()
        return True

    def use_folder(self, name: str) -> None:
        """Ask for a folder and make it the role's choice if it holds a valid model for the role."""
        folder = self.ask_folder(ROLES[name])
        if folder:
            self.choose(name, str(Path(folder).resolve()))

    def reset(self, name: str) -> None:
        """Back to the role's default model."""
        self.rows[name].choice_edit.setText("")
        self.rows[name].show_message("")
        self.choose(name, "")

    def allow_pickle(self, name: str, allowed: bool) -> None:
        if allowed and name not in self._pickle:
            self._pickle.append(name)
        elif not allowed and name in self._pickle:
            self._pickle.remove(name)

    def download(self, name: str) -> Task | None:
        """Download the role's chosen hub model in the background (the row shows progress and Cancel)."""
        if not self.choose(name, self.rows[name].choice_edit.text()):
            return None
        role, source = ROLES[name], self._source(name)
        options = {"model_folders": tuple(self._model_folders), "offline": self._offline, "allow_pickle": name in self._pickle}

        def work(progress: Progress) -> str:
            def report(fraction: float | None, text: str) -> None:
                progress.check()  # a cancel raises here, which stops the download
                progress.report(-1 if fraction is None else fraction, text)

            folder = fetch(role, source, **options, progress=report)
            return f"The {name} model {source} is in {folder}"

        return self._start(name, f"Downloading the {name} model", work)

    def verify(self, name: str) -> Task | None:
        """Check in the background that the role's model is complete and loads."""
        if not self.choose(name, self.rows[name].choice_edit.text()):
            return None
        status, role = self.rows[name].status, ROLES[name]
        if status is None or not status.here:
            self.rows[name].show_message(f"The {name} model {self._source(name)} is not on this machine: download it first", error=True)
            return None
        folder, allow = status.folder, name in self._pickle

        def work(progress: Progress) -> str:
            progress.report(-1, f"loading the {name} model {status.source}")
            verify_model(role, folder, allow_pickle=allow)
            return f"OK: the {name} model is complete and loads as {role.loaded_as}"

        return self._start(name, f"Verifying the {name} model", work)

    def remove(self, name: str) -> None:
        """Delete the role's downloaded model from the cache, once the artist confirms."""
        status = self.rows[name].status
        if status is None or status.where != "cache":
            return
        sharing = [other for other, row in self.rows.items() if other != name and row.status and row.status.folder == status.folder]
        also = f" The {' and '.join(sharing)} {'roles use' if len(sharing) > 1 else 'role uses'} it too." if sharing else ""
        question = (f"Delete the downloaded {name} model {status.source} ({size_text(status.size_bytes)}) from the cache?"
                    f"{also} It will need downloading again.")
        if not self.ask_confirm("Remove from cache", question):
            return
        try:
            freed = remove_from_cache(status.source)
        except OSError as exc:
            self.rows[name].show_message(f"The {name} model could not be removed: {exc}", error=True)
            return
        self.rows[name].show_message(f"Removed {status.source} from the cache ({size_text(freed)} freed)")
        self.refresh()

    # ----------------------------------------------------------------- dialogs (tests replace these)
    def ask_folder(self, role: ModelRole) -> str:
        """A folder chosen by the artist, or "" when they cancel."""
        return QFileDialog.getExistingDirectory(self, f"Folder of the {role.label.lower()} model")

    def ask_confirm(self, title: str, question: str) -> bool:
        return QMessageBox.question(self, title, question) == QMessageBox.StandardButton.Yes

    # ----------------------------------------------------------------- helpers
    def _source(self, name: str) -> ModelSource:
        return ModelSource.parse(self._choices.get(name, ROLES[name].default))

    def _status(self, name: str) -> RoleStatus:
        return role_status(ROLES[name], self._choices.get(name, ROLES[name].default), self._model_folders)

    def _start(self, name: str, title: str, work: Callable[[Progress], Any]) -> Task:
        """Run ``work`` for the row of ``name``; the row follows the task from before it runs (the
        runner announces a task before starting it), so no signal of a quick task is missed.
        Quitting the studio cancels it (a download can be resumed later; a save is never cut)."""
        row = self.rows[name]
        self.runner.task_started.connect(row.follow)
        try:
            return self.runner.start(title, work, cancel_on_quit=True)
        finally:
            self.runner.task_started.disconnect(row.follow)


def _choice(role: ModelRole, text: str, allow_pickle: bool) -> str:
    """``text`` as a choice for ``role``: "" for the default, else the hub id or the folder, checked;
    ValueError or ModelError saying why it cannot be."""
    text = text.strip()
    if text in ("", role.default):
        return ""
    source = ModelSource.parse(text)
    if source.folder is not None:
        check_folder(role, source.folder, allow_pickle)
    return str(source)


def _row(*widgets: QWidget | None) -> QHBoxLayout:
    """Widgets side by side; None is a stretch."""
    layout = QHBoxLayout()
    for widget in widgets:
        if widget is None:
            layout.addStretch(1)
        else:
            layout.addWidget(widget)
    return layout
