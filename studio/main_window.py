"""The studio's main window: the viewport, the docks, the menus, and the document's file life.

The window holds one :class:`~scene.Document` at a time and follows it through its events (title,
Undo/Redo texts, status bar); panels do the same. Every file operation runs on the task runner,
so the viewport keeps drawing. Dialogs are behind ``ask_*`` methods that tests replace.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Callable, Literal

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
)

import numpy as np

from engines.runtime import JobInfo, JobManager, JobState, discard_checkpoint
from scene import Document, GaussianCloud, Layer, edits
from scene.events import Event
from studio.autosave import Autosaver, Recovery, discard_recovery, find_recovery
from studio.files import PROJECT_SUFFIX, SCREENSHOT_SUFFIX, FileIO
from studio.panels.forms import DataclassForm
from studio.panels.generate import GeneratePanel
from studio.panels.jobs import JobsPanel
from studio.panels.outliner import OutlinerPanel
from studio.panels.properties import PropertiesPanel
from studio.panels.timeline import TimelinePanel
from studio.settings import Settings, data_dir
from studio.tools import BoxSelectTool, BrushSelectTool, MoveSelectionTool
from studio.viewport import SHADINGS, Viewport
from studio.workers import Task, TaskRunner, snapshot

APP_NAME = "Atelier4D"
UnsavedAnswer = Literal["save", "discard", "cancel"]
_EMPTY_CLOUD = GaussianCloud.create(np.zeros((0, 3), np.float32), 0.01, (0.5, 0.5, 0.5))


def device_label(device: str) -> str:
    """The compute device for the status bar, found without importing torch (slow to import).

    The NVIDIA driver lists its GPUs under ``/proc``; "auto" means CUDA when one is listed.
    """
    if device == "cpu":
        return "CPU"
    gpus = Path("/proc/driver/nvidia/gpus")
    for info in sorted(gpus.glob("*/information")) if gpus.is_dir() else ():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                return f"CUDA: {line.split(':', 1)[1].strip()}"
    return "CUDA (not found)" if device == "cuda" else "CPU"


def memory_mb() -> float:
    """This process's resident memory (its peak where the current value cannot be read)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MainWindow(QMainWindow):
    """The studio window. ``files`` and ``recovery_folder`` are injectable for tests."""

    def __init__(
        self,
        settings: Settings,
        files: FileIO | None = None,
        recovery_folder: Path | None = None,
        save_settings: bool = True,
        job_manager: JobManager | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.files = files or FileIO()
        self._save_settings = save_settings
        self.document = Document()
        self._watched: Document | None = None
        self.path: Path | None = None
        self._recovered = False  # the document came from a recovery file: unsaved whatever the stack says
        self._edits = 0  # counts document changes, to tell whether a background save is still current
        self._closing_after_save = False
        self.runner = TaskRunner(self)
        self.runner.task_started.connect(self._show_task)

        self.viewport = Viewport(self.document)
        self.setCentralWidget(self.viewport)
        self.outliner = OutlinerPanel(self.document)
        self.properties = PropertiesPanel(self.document)
        self.generate = GeneratePanel()
        self.jobs = JobsPanel(job_manager)
        self.jobs.open_result.connect(self.open_path)
        self.jobs.snapshot.connect(self._on_job_snapshot)
        self.jobs.finished.connect(self._on_job_finished)
        self._job_layers: dict[str, tuple[Document, str]] = {}
        self._add_engines()
        self.tools = {"box": BoxSelectTool(), "brush": BrushSelectTool(), "move": MoveSelectionTool()}
        self.timeline = TimelinePanel()
        self.docks: dict[str, QDockWidget] = {}
        left, right, bottom = (
            Qt.DockWidgetArea.LeftDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        for title, widget, area in (
            ("Outliner", self.outliner, left),
            ("Properties", self.properties, left),
            ("Generate", self.generate, right),
            ("Jobs", self.jobs, right),
            ("Timeline", self.timeline, bottom),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[title] = dock
        self.tabifyDockWidget(self.docks["Generate"], self.docks["Jobs"])
        self.docks["Generate"].raise_()
        self.resizeDocks([self.docks["Outliner"], self.docks["Generate"]], [300, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Timeline"]], [110], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Outliner"], self.docks["Generate"]], [300, 380], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Outliner"], self.docks["Generate"]], [220, 300], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Timeline"]], [90], Qt.Orientation.Vertical)

        self.autosaver = Autosaver(
            recovery_folder or data_dir(),
            self.runner,
            settings.autosave_interval_s,
            save=lambda document, path: self.files.save_project(document, path),
            parent=self,
        )
        self._build_status_bar()
        self._build_menus()
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.set_document(self.document)

    # ================================================================= documents
    @property
    def is_modified(self) -> bool:
        return self._recovered or self.document.is_modified

    def set_document(self, document: Document, path: Path | None = None) -> None:
        """Show ``document`` (saved at ``path``, or never saved) in every view."""
        if self._watched is not None:
            self._watched.events.disconnect(self._on_document_event)
        self._watched = self.document = document
        self.path = path
        self._recovered = False
        document.events.connect(self._on_document_event)
        for view in (self.viewport, self.outliner, self.properties):
            view.set_document(document)
        self.autosaver.watch(document, "" if path is None else str(path))
        self._refresh()

    def new_document(self) -> None:
        if self.confirm_discard():
            self.set_document(Document())

    def open_path(self, path: str | os.PathLike) -> Task | None:
        """Open a project, import a scene file into a new document, or hand an image to Generate."""
        path = Path(path)
        kind = self.files.kind_of(path)
        if kind == "project":
            return self.open_project(path) if self.confirm_discard() else None
        if kind == "asset":
            if not self.confirm_discard():
                return None
            self.set_document(Document())
            return self.import_files([path])
        if kind == "image":
            self.generate.add_input_image(path)
            self.docks["Generate"].raise_()
            return None
        self.show_error("Cannot open file", f"{path.name}: not a format Atelier4D reads.")
        return None

    def open_project(self, path: Path) -> Task:
        def loaded(document: Document) -> None:
            self.set_document(document, path)
            self._remember(path)
            self._show_saved_view()

        return self.runner.start(f"Opening {path.name}", lambda progress: self.files.load_project(path), loaded, self._failed("Open"))

    def _show_saved_view(self) -> None:
        """The view the project was saved with, else everything framed."""
        if self.document.view is not None:
            self.viewport.set_view(self.document.view)
        else:
            self.viewport.frame_all()

    def import_files(self, paths: list[Path]) -> Task | None:
        """Add each file as a layer of the current document (one undo step each), then frame it."""
        assets = [p for p in paths if self.files.kind_of(p) == "asset"]
        for image in (p for p in paths if self.files.kind_of(p) == "image"):
            self.generate.add_input_image(image)
        if not assets:
            return None
        document = self.document

        def load(progress) -> list:
            loaded = []
            for i, path in enumerate(assets):
                progress.report(i / len(assets), path.name)
                loaded.append((path, self.files.load_asset(path)))
                progress.check()
            return loaded

        def add(loaded: list) -> None:
            if document is not self.document:
                return  # the artist opened another document meanwhile
            for path, data in loaded:
                document.add_layer(Layer(document.unique_name(path.stem), data), text=f"Import {path.name}")
            self.viewport.frame_selected()

        return self.runner.start(f"Importing {', '.join(p.name for p in assets)}", load, add, self._failed("Import"))

    def save(self) -> Task | None:
        """Save to the document's file (asking for one if it has none); runs in the background."""
        if self.path is None:
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self, path: str | os.PathLike | None = None) -> Task | None:
        chosen = path or self.ask_save_path("Save project", f"Atelier4D project (*{PROJECT_SUFFIX})", self._suggested_name(PROJECT_SUFFIX))
        if not chosen:
            return None
        path = Path(chosen)
        if path.suffix.lower() != PROJECT_SUFFIX:
            path = path.with_name(path.name + PROJECT_SUFFIX)
        return self._save_to(path)

    def _save_to(self, path: Path) -> Task:
        self.document.view = self.viewport.camera()
        copy, document, edits = snapshot(self.document), self.document, self._edits

        def saved(_result: object) -> None:
            if document is not self.document:
                return
            self.path = path
            self._remember(path)
            if edits == self._edits:  # nothing changed while saving: this is the saved state
                self._recovered = False
                document.undo_stack.mark_clean()
                self.autosaver.watch(document, str(path))
                self.autosaver.discard()
            self._refresh()
            if self._closing_after_save:
                self.close()

        def failed(message: str) -> None:
            self._closing_after_save = False
            self._failed("Save")(message)

        return self.runner.start(f"Saving {path.name}", lambda progress: self.files.save_project(copy, path), saved, failed)

    def export_layer(self, path: str | os.PathLike | None = None) -> Task | None:
        """Write the current layer as PLY, .splat, GLB or OBJ (by the extension)."""
        layer = self.document.current
        if layer is None:
            self.show_error("Export", "Select a layer to export first.")
            return None
        chosen = path or self.ask_save_path("Export layer", self._export_filter(layer), self._suggested_name(""))
        if not chosen:
            return None
        target, data = Path(chosen), layer.data.transformed(layer.transform.matrix())
        return self.runner.start(f"Exporting {target.name}", lambda progress: self.files.save_asset(target, data), None, self._failed("Export"))

    def export_screenshot(self, path: str | os.PathLike | None = None) -> bool:
        """The viewport as a PNG (``.png`` is added to a name typed without it)."""
        chosen = path or self.ask_save_path("Save screenshot", "PNG image (*.png)", self._suggested_name(SCREENSHOT_SUFFIX))
        if not chosen:
            return False
        target = Path(chosen)
        if target.suffix.lower() != SCREENSHOT_SUFFIX:
            target = target.with_name(target.name + SCREENSHOT_SUFFIX)
        ok = self.viewport.grabFramebuffer().save(str(target))
        if not ok:
            self.show_error("Screenshot", f"Could not write {target}.")
        return ok

    def export_turntable(self, path: str | os.PathLike | None = None) -> Task | None:
        """An MP4 orbiting the scene, rendered offscreen by ``render.video`` in the background."""
        chosen = path or self.ask_save_path("Export turntable", "MP4 video (*.mp4)", self._suggested_name(".mp4"))
        if not chosen:
            return None
        from render.video import render_turntable

        copy, camera, target = snapshot(self.document), self.viewport.camera(), Path(chosen)

        def render(progress) -> None:
            render_turntable(copy, target, camera=camera, progress=lambda f: (progress.report(f), progress.check()))

        return self.runner.start(f"Rendering {target.name}", render, None, self._failed("Turntable"))

    def _export_filter(self, layer: Layer) -> str:
        from scene.io import WRITE_EXTENSIONS, dialog_filter

        return dialog_filter(next(v for k, v in WRITE_EXTENSIONS.items() if isinstance(layer.data, k)))

    def _suggested_name(self, suffix: str) -> str:
        base = self.path.stem if self.path else (self.document.current.name if self.document.current else "untitled")
        folder = self.path.parent if self.path else Path.home()
        return str(folder / f"{base}{suffix}")

    def _remember(self, path: Path) -> None:
        self.settings.add_recent(path)
        if path.suffix.lower() == PROJECT_SUFFIX:
            self.settings.last_project = str(path.resolve())

    def _failed(self, what: str) -> Callable[[str], None]:
        return lambda message: self.show_error(f"{what} failed", message)

    # ================================================================= crash recovery
    def offer_recovery(self) -> Task | None:
        """After a crash: ask to restore the recovery file left behind; drop it if declined."""
        recovery = find_recovery(self.autosaver.folder)
        if recovery is None:
            return None
        if not self.ask_restore(recovery):
            discard_recovery(self.autosaver.folder)
            return None

        def restored(document: Document) -> None:
            self.set_document(document, Path(recovery.source) if recovery.source else None)
            self._recovered = True  # unsaved until the artist saves
            self._show_saved_view()
            self._refresh()

        return self.runner.start("Restoring", lambda progress: self.files.load_project(recovery.path), restored, self._failed("Restore"))

    # ================================================================= edits
    def splat_selection(self) -> tuple[str, object] | None:
        """The current layer's id and splat selection mask, when it has selected splats."""
        layer = self.document.current
        if layer is None or layer.kind != "splats":
            return None
        mask = self.document.splat_selection(layer.id)
        return None if mask is None else (layer.id, mask)

    def delete_selected(self) -> None:
        """Delete the selected splats if there are any, else the selected layers (one undo step)."""
        selection = self.splat_selection()
        if selection is not None:
            edits.delete_selected(self.document, selection[0])
            return
        ids = [i for i in self.outliner.selected_ids() if i is not None]
        if len(ids) == 1:
            self.document.remove_layer(ids[0])
        elif ids:
            with self.document.undo_stack.macro(f"Delete {len(ids)} layers"):
                for layer_id in ids:
                    self.document.remove_layer(layer_id)

    def select_all(self) -> None:
        """All splats of the current splat layer; all layers otherwise."""
        layer = self.document.current
        if layer is not None and layer.kind == "splats":
            edits.select_all(self.document, layer.id)
        else:
            self.outliner.select_all()

    def invert_selection(self) -> None:
        layer = self.document.current
        if layer is not None and layer.kind == "splats":
            edits.invert_selection(self.document, layer.id)

    def separate_selection(self) -> None:
        """Move the selected splats into a new layer."""
        selection = self.splat_selection()
        if selection is not None:
            edits.separate_selected(self.document, selection[0])

    def crop_to_selection(self) -> None:
        """Keep only the splats inside the bounding box of the selected ones."""
        selection = self.splat_selection()
        if selection is not None:
            layer_id, mask = selection
            centres = edits.world_centres(self.document.layer(layer_id))[mask]
            edits.crop_to_box(self.document, layer_id, centres.min(axis=0), centres.max(axis=0))

    def set_tool(self, name: str) -> None:
        """``navigate``, ``box``, ``brush`` or ``move``: what the left button does in the viewport."""
        self.viewport.set_tool(self.tools.get(name))
        self.tool_actions[name].setChecked(True)

    # ================================================================= jobs
    def _add_engines(self) -> None:
        """One Generate tab per registered engine (engines whose module fails to import are left out)."""
        from engines.registry import engine_names, find_engine, load_engines

        load_engines()
        for name in engine_names():
            self.generate.add_engine(name, find_engine(name).config_cls, lambda config, n=name: self.run_engine(n, config))

    @property
    def job_manager(self) -> JobManager:
        """The engines' job queue, started on first use (it runs workers in other processes)."""
        if self.jobs.manager is None:
            self.jobs.set_manager(JobManager())
        return self.jobs.manager

    def run_engine(self, engine: str, config: object = None) -> str:
        """Start a job and add the layer its snapshots will stream into (one undo step).

        Each job gets a new run folder in the cache, so it checkpoints and Resume continues it
        after a cancel or a crash; the device setting goes to the worker as is ("auto" is resolved
        there, where torch is loaded anyway).
        """
        runs = self.settings.cache_path / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        run_dir = tempfile.mkdtemp(prefix=f"{engine}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=runs)
        job_id = self.job_manager.submit(engine, config, run_dir=run_dir, device=self.settings.device)
        layer = self.document.add_layer(Layer(self.document.unique_name(engine), _EMPTY_CLOUD), text=f"Generate {engine}")
        self._job_layers[job_id] = (self.document, layer.id)
        self.docks["Jobs"].raise_()
        return job_id

    def _on_job_snapshot(self, job_id: str, payload: object) -> None:
        """The newest snapshot of a job replaces its layer's data (no undo step), if the layer is still there."""
        document, layer_id = self._job_layers.get(job_id, (None, None))
        if document is None or not any(layer.id == layer_id for layer in document.layers):
            return
        first = document.layer(layer_id).data is _EMPTY_CLOUD
        document.replace_data_live(layer_id, payload)
        if first and document is self.document:
            self.viewport.frame_selected()

    def _on_job_finished(self, job_id: str, info: JobInfo) -> None:
        """Tell the artist why a job failed; its layer keeps the last snapshot it received.

        A finished job's layer already holds its final state: engines yield it as their last
        snapshot (reconstruct yields the cloud it writes) and the worker always ships the last one.
        Its checkpoint cannot be resumed any more, so it is deleted (the outputs stay); a failed
        or cancelled job keeps its own for Resume.
        """
        if job_id not in self._job_layers:
            return
        if info.state is JobState.FAILED:
            self.show_error(f"Generate {info.engine} failed", info.error.message)
        elif info.state is JobState.FINISHED and info.run_dir is not None:
            discard_checkpoint(info.run_dir)

    def _on_document_event(self, event: Event) -> None:
        if event.kind == "undo_changed":
            self._edits += 1
        self._refresh()

    def _refresh(self) -> None:
        """Title, Undo/Redo texts and the splat count, from the document."""
        name = self.path.name if self.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — {APP_NAME}")
        self.setWindowModified(self.is_modified)
        stack = self.document.undo_stack
        self.undo_action.setEnabled(stack.can_undo)
        self.undo_action.setText(f"&Undo {stack.undo_text}".rstrip())
        self.redo_action.setEnabled(stack.can_redo)
        self.redo_action.setText(f"&Redo {stack.redo_text}".rstrip())
        has_layer = self.document.current is not None
        for action in (self.delete_action, self.export_layer_action):
            action.setEnabled(has_layer)
        splats = sum(l.data.count for l in self.document.layers if l.visible and isinstance(l.data, GaussianCloud))
        self.splat_label.setText(f"{splats:,} splats")

    # ================================================================= closing
    def confirm_discard(self) -> bool:
        """True when the current document may be replaced: saved, or the artist says so."""
        if not self.is_modified:
            return True
        answer = self.ask_unsaved_changes()
        if answer == "save":
            self.save()  # replacing waits for nothing: the save works on a snapshot
            return True
        return answer == "discard"

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_modified and not self._closing_after_save:
            answer = self.ask_unsaved_changes()
            if answer == "cancel":
                event.ignore()
                return
            if answer == "save":
                self._closing_after_save = True
                if self.save() is None:  # no file chosen
                    self._closing_after_save = False
                event.ignore()  # closes again once the save is done
                return
        elif self._closing_after_save and self.is_modified:
            event.ignore()  # the save is still running
            return
        self.runner.wait()
        self.jobs.timer.stop()
        self.viewport.release_gl()
        if self.jobs.manager is not None:
            self.jobs.manager.shutdown()
        self.autosaver.discard()
        if self._save_settings:
            self.settings.save()
        event.accept()

    # ================================================================= dialogs (tests replace these)
    def ask_unsaved_changes(self) -> UnsavedAnswer:
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self,
            APP_NAME,
            f"Save the changes to {self.path.name if self.path else 'Untitled'}?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_restore(self, recovery: Recovery) -> bool:
        name = Path(recovery.source).name if recovery.source else "an unsaved document"
        answer = QMessageBox.question(
            self, APP_NAME, f"Atelier4D did not close properly. Restore the autosaved copy of {name}?"
        )
        return answer == QMessageBox.StandardButton.Yes

    def ask_open_paths(self, title: str, filter_: str) -> list[str]:
        return QFileDialog.getOpenFileNames(self, title, "", filter_)[0]

    def ask_save_path(self, title: str, filter_: str, suggested: str) -> str:
        return QFileDialog.getSaveFileName(self, title, suggested, filter_)[0]

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def edit_preferences(self) -> Settings | None:
        """The Preferences dialog; returns the edited settings, or None when cancelled."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Preferences")
        form = DataclassForm(Settings, self.settings)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(form)
        layout.addWidget(buttons)
        return form.value() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def apply_preferences(self, settings: Settings | None) -> None:
        if settings is None:
            return
        self.settings = settings
        self.autosaver.set_interval(settings.autosave_interval_s)
        self.device_label.setText(device_label(settings.device))
        if self._save_settings:
            settings.save()

    # ================================================================= drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        projects = [p for p in paths if self.files.kind_of(p) == "project"]
        if projects:
            self.open_path(projects[0])
        else:
            self.import_files(paths)
        event.acceptProposedAction()

    # ================================================================= status bar
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.task_label = QLabel()
        self.task_progress = QProgressBar()
        self.task_progress.setRange(0, 1000)
        self.task_progress.setMaximumWidth(160)
        self.task_cancel = QToolButton()
        self.task_cancel.setText("✕")
        self.task_cancel.setToolTip("Cancel")
        self._shown_task: Task | None = None
        self.task_cancel.clicked.connect(lambda: self._shown_task.cancel() if self._shown_task else None)
        for widget in (self.task_label, self.task_progress, self.task_cancel):
            bar.addWidget(widget)
            widget.hide()
        self.device_label = QLabel(device_label(self.settings.device))
        self.fps_label = QLabel()
        self.splat_label = QLabel()
        self.memory_label = QLabel()
        for label in (self.device_label, self.fps_label, self.splat_label, self.memory_label):
            bar.addPermanentWidget(label)
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start(1000)
        self._update_status()

    def _update_status(self) -> None:
        fps = self.viewport.fps
        self.fps_label.setText(f"{fps:.0f} fps" if fps else "idle")  # a still view draws nothing
        self.memory_label.setText(f"{memory_mb():,.0f} MB")

    def _show_task(self, task: Task) -> None:
        """The newest background task in the status bar, with its progress and a cancel button."""
        if task.name == "Autosave":
            return
        # No busy animation while a task cannot tell how far it got: with an OpenGL widget in the
        # window every repaint of the bar composites the whole window, which a software GL does
        # slowly, on the GUI thread, while the task wants the CPU too.
        self.task_label.setText(f"{task.name}…")
        self.task_progress.hide()
        for widget in (self.task_label, self.task_cancel):
            widget.show()
        self._shown_task = task

        def progressed(fraction: float, text: str) -> None:
            self.task_progress.setVisible(fraction >= 0)
            self.task_progress.setValue(int(max(fraction, 0) * 1000))
            self.task_label.setText(f"{task.name}: {text}" if text else f"{task.name}…")

        def finished() -> None:
            if not any(t.name != "Autosave" for t in self.runner.running if t is not task):
                for widget in (self.task_label, self.task_progress, self.task_cancel):
                    widget.hide()

        task.progressed.connect(progressed)
        task.finished.connect(finished)

    # ================================================================= menus
    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence.StandardKey | str | tuple[str, ...] | None = None,
    ) -> QAction:
        """A menu item; a tuple of shortcuts gives it several (the menu shows the first)."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts([QKeySequence(key) for key in (shortcut if isinstance(shortcut, tuple) else (shortcut,))])
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        keys = QKeySequence.StandardKey
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&New", self.new_document, keys.New)
        self._action(file, "&Open…", self._open_dialog, keys.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action(file, "&Save", self.save, keys.Save)
        self._action(file, "Save &As…", self.save_as, keys.SaveAs)
        file.addSeparator()
        self._action(file, "&Import…", self._import_dialog, "Ctrl+I")
        export = file.addMenu("&Export")
        self.export_layer_action = self._action(export, "Layer (PLY, .splat, GLB, OBJ)…", self.export_layer, "Ctrl+E")
        self._action(export, "Screenshot (PNG)…", self.export_screenshot, "Ctrl+Shift+P")
        turntable = self._action(export, "Turntable (MP4)…", self.export_turntable)
        turntable.setEnabled(importlib.util.find_spec("render.video") is not None)
        file.addSeparator()
        self._action(file, "&Quit", self.close, keys.Quit)

        edit = bar.addMenu("&Edit")
        self.undo_action = self._action(edit, "&Undo", self.document_undo, keys.Undo)
        # both, as the README says: QKeySequence(StandardKey.Redo) is one key, Ctrl+Shift+Z on Linux
        self.redo_action = self._action(edit, "&Redo", self.document_redo, ("Ctrl+Y", "Ctrl+Shift+Z"))
        edit.addSeparator()
        self.delete_action = self._action(edit, "&Delete", self.delete_selected, keys.Delete)
        self._action(edit, "Select &All", self.select_all, keys.SelectAll)
        self._action(edit, "&Invert Selection", self.invert_selection, "Ctrl+Shift+I")
        self._action(edit, "Se&parate Selection", self.separate_selection, "Ctrl+Shift+D")
        self._action(edit, "&Crop to Selection", self.crop_to_selection, "Ctrl+Shift+K")
        edit.addSeparator()
        self._action(edit, "&Preferences…", lambda: self.apply_preferences(self.edit_preferences()), keys.Preferences)

        view = bar.addMenu("&View")
        self._action(view, "&Frame Selected", self.viewport.frame_selected, "F")
        self._action(view, "&Reset View", self.viewport.reset_view, "Home")
        shading = view.addMenu("&Shading")
        group = QActionGroup(self)
        self.shading_actions: dict[str, QAction] = {}
        for i, mode in enumerate(SHADINGS, start=1):
            action = self._action(shading, mode.capitalize(), lambda m=mode: self.viewport.set_shading(m), str(i))
            action.setCheckable(True)
            action.setChecked(mode == self.viewport.shading)
            group.addAction(action)
            self.shading_actions[mode] = action
        tools = bar.addMenu("&Tools")
        tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key in (
            ("navigate", "&Navigate", "Q"), ("box", "&Box Select", "B"), ("brush", "B&rush Select", "C"),
            ("move", "&Move Selection", "G"),
        ):
            action = self._action(tools, text, lambda n=name: self.set_tool(n), key)
            action.setCheckable(True)
            action.setChecked(name == "navigate")
            tool_group.addAction(action)
            self.tool_actions[name] = action
        panels = view.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())

    def document_undo(self) -> None:
        self.document.undo()

    def document_redo(self) -> None:
        self.document.redo()

    def _open_dialog(self) -> None:
        paths = self.ask_open_paths("Open", self.files.import_filter())
        if paths:
            self.open_path(paths[0])

    def _import_dialog(self) -> None:
        paths = self.ask_open_paths("Import", self.files.import_filter())
        if paths:
            self.import_files([Path(p) for p in paths])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self._action(self.recent_menu, path, lambda p=path: self.open_path(p))
        if not self.settings.recent_files:
            self.recent_menu.addAction("(none)").setEnabled(False)
