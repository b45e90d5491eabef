"""The studio's main window: the viewport, the docks, the menus, and the document it shows.

The window holds one :class:`~scene.Document` at a time and follows it through its events (title,
Undo/Redo texts, status bar); panels do the same. Its commands live by concern in their own
modules: files (:mod:`studio.window_files`), edits (:mod:`studio.window_edits`), animation
(:mod:`studio.animation_actions`), generation jobs
(:mod:`studio.window_jobs`), and the status bar (:mod:`studio.status_bar`); camera paths have their dock
(:mod:`studio.panels.paths`) and viewport tool (:mod:`studio.path_tool`). Dialogs are behind
``ask_*`` methods that tests replace.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Callable, Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QScrollArea,
    QWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
)

from engines.runtime import JobManager
from scene import Document
from scene.events import DocumentEvent, PlaybackChanged, TimeChanged, UndoChanged
from studio.animation_actions import AnimationCommands
from studio.autosave import Autosaver, Recovery
from studio.files import VIDEO_SUFFIX, FileIO
from studio.jobs import JobLayers
from studio.panels.generate import GeneratePanel
from studio.panels.jobs import JobsPanel
from studio.panels.outliner import OutlinerPanel
from studio.panels.paths import PathsPanel
from studio.panels.properties import PropertiesPanel
from studio.panels.timeline import TimelinePanel
from studio.playback import Player
from studio.path_tool import PathEditTool
from studio.preferences import PreferencesDialog
from studio.settings import Settings, data_dir
from studio.tools import REPORT_MS, BoxSelectTool, BrushSelectTool, MoveSelectionTool
from studio.status_bar import StatusBar
from studio.turntable import TurntableSettings, timeline_times
from studio.viewport import SHADINGS, Viewport
from studio.window_edits import EditCommands
from studio.window_files import FileCommands
from studio.window_jobs import JobCommands
from studio.workers import Task, TaskRunner, snapshot

APP_NAME = "Atelier4D"
UnsavedAnswer = Literal["save", "discard", "cancel"]

class MainWindow(FileCommands, EditCommands, JobCommands, AnimationCommands, QMainWindow):
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

        self.viewport = Viewport(self.document)
        self.viewport.apply_settings(settings)
        self.setCentralWidget(self.viewport)
        self.outliner = OutlinerPanel(self.document)
        self.properties = PropertiesPanel(self.document)
        self.generate = GeneratePanel(mask_folder=self.settings.cache_path / "masks")
        self.jobs = JobsPanel(job_manager)
        self.jobs.show_result.connect(self.show_job_result)
        self.jobs.snapshot.connect(self._on_job_snapshot)
        self.jobs.finished.connect(self._on_job_finished)
        self.job_layers = JobLayers()
        self._add_engines()
        self.outliner.run_again.connect(self.run_again)
        self.outliner.animate.connect(self.animate_layer)
        self.properties.run_again.connect(self.run_again)
        self.tools = {
            "box": BoxSelectTool(report=lambda text: self.status.showMessage(text, REPORT_MS)),
            "brush": BrushSelectTool(),
            "move": MoveSelectionTool(),
        }
        self.player = Player(self.document, parent=self)
        self.timeline = TimelinePanel(self.document, self.player)
        self.viewport.addActions(self.timeline.transport_actions)  # Space, arrows: in the viewport as in the timeline
        self.timeline.group_chosen.connect(self.properties.clip_section.set_current_group)
        self.paths_panel = PathsPanel(self.document, self.viewport)
        self.paths_panel.render_requested.connect(lambda path_id: self.export_path_video(path_id))
        self.paths_panel.error.connect(lambda title, text: self.show_error(title, text))
        self.tools["path"] = PathEditTool(picked=self.paths_panel.select)
        self.docks: dict[str, QDockWidget] = {}
        left, right, bottom = (
            Qt.DockWidgetArea.LeftDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        for title, widget, area in (
            ("Outliner", self.outliner, left),
            ("Properties", _scrolled(self.properties), left),  # a clip's animation section is tall
            ("Generate", self.generate, right),
            ("Jobs", self.jobs, right),
            ("Paths", self.paths_panel, right),
            ("Timeline", self.timeline, bottom),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[title] = dock
        self.tabifyDockWidget(self.docks["Generate"], self.docks["Jobs"])
        self.tabifyDockWidget(self.docks["Jobs"], self.docks["Paths"])
        self.docks["Generate"].raise_()
        self.resizeDocks([self.docks["Outliner"], self.docks["Generate"]], [300, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Timeline"]], [150], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Outliner"], self.docks["Generate"]], [300, 380], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Outliner"], self.docks["Generate"]], [220, 300], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Timeline"]], [150], Qt.Orientation.Vertical)

        self.autosaver = Autosaver(
            recovery_folder or data_dir(),
            self.runner,
            settings.autosave_interval_s,
            save=lambda document, path: self.files.save_project(document, path),
            parent=self,
        )
        self.status = StatusBar(self.runner, settings.device, lambda: self.viewport.fps, self)
        self.setStatusBar(self.status)
        self.jobs.activity.connect(self.status.show_jobs)
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
        for view in (self.viewport, self.outliner, self.properties, self.timeline, self.paths_panel):
            view.set_document(document)
        self.autosaver.watch(document, "" if path is None else str(path))
        self._refresh()

    def set_tool(self, name: str) -> None:
        """``navigate``, ``box``, ``brush``, ``move`` or ``path``: what the left button does in the viewport."""
        self.viewport.set_tool(self.tools.get(name))
        self.tool_actions[name].setChecked(True)

    def _on_document_event(self, event: DocumentEvent) -> None:
        if isinstance(event, (TimeChanged, PlaybackChanged)):
            return  # nothing the window itself shows depends on the time; the Timeline follows it
        if isinstance(event, UndoChanged):
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
        self.run_again_action.setEnabled(has_layer and self.document.current.provenance is not None)
        self.animate_action.setEnabled(has_layer and self.document.current.kind == "splats")
        self.status.show_document(self.document)

    def export_path_video(
        self, path_id: str | None = None, target: str | os.PathLike | None = None, settings: TurntableSettings | None = None
    ) -> Task | None:
        """An MP4 flown along the camera path ``path_id`` (default: the Paths panel's current one): frame k shows
        the path's camera at k / fps seconds, at the size and frame rate of ``settings`` (default: the last
        turntable's). Rendered in the background on a snapshot, with progress and Cancel in the status bar."""
        path_id = path_id or self.paths_panel.path_id
        if path_id is None:
            self.show_error("Render video along path", "Make a camera path first (Paths panel: New path).")
            return None
        named = self.document.named_path(path_id)
        settings = settings or self._turntable_settings
        times = named.path.frames(settings.fps)
        try:
            TurntableSettings(settings.width, settings.height, len(times), settings.fps)
        except ValueError as exc:
            self.show_error("Render video along path", str(exc))
            return None
        chosen = self._target_file(target, "Render video along path", "MP4 video (*.mp4)", named.name, VIDEO_SUFFIX)
        if chosen is None:
            return None
        from render.video import render_video

        copy, path = snapshot(self.document), named.path

        def render(progress) -> None:
            cameras = path.cameras(settings.fps, settings.width, settings.height)
            render_video(
                copy, chosen, cameras, settings.fps, progress=lambda f: (progress.report(f), progress.check()),
                times=timeline_times(copy, len(cameras), settings.fps),
            )

        return self.runner.start(f"Rendering {chosen.name}", render, None, self._failed("Video along path"))

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
        self.player.pause()
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
        dialog = PreferencesDialog(self.settings, self.runner, self)
        edited = dialog.settings() if dialog.exec() == QDialog.DialogCode.Accepted else None
        dialog.deleteLater()  # a download it started goes on in the runner, shown in the status bar
        return edited

    def apply_preferences(self, settings: Settings | None) -> None:
        if settings is None:
            return
        self.settings = settings
        self.follow_cluster_preference()
        self.autosaver.set_interval(settings.autosave_interval_s)
        self.generate.mask_folder = settings.cache_path / "masks"
        self.status.set_device(settings.device)
        self.viewport.apply_settings(settings)
        if self._save_settings:
            settings.save()

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
        self._action(file, "Import PLY Se&quence…", self.import_ply_sequence)
        export = file.addMenu("&Export")
        self.export_layer_action = self._action(export, "Layer (PLY, .splat, GLB, OBJ)…", self.export_layer, "Ctrl+E")
        self._action(export, "PLY Sequence…", self.export_ply_sequence)
        self._action(export, "Animated GLB…", self.export_animated_glb)
        self._action(export, "Screenshot (PNG)…", self.export_screenshot, "Ctrl+Shift+P")
        turntable = self._action(export, "Turntable (MP4)…", self.export_turntable)
        along_path = self._action(export, "Video Along Path (MP4)…", self.export_path_video)
        timeline = self._action(export, "Timeline Video (MP4)…", self.export_timeline_video)
        for action in (turntable, along_path, timeline):
            action.setEnabled(importlib.util.find_spec("render.video") is not None)
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

        generate = bar.addMenu("&Generate")
        self.run_again_action = self._action(generate, "Run &Again", self.run_again, "Ctrl+Shift+R")
        self.run_again_action.setToolTip("Make the current layer again: its engine, settings and seed")
        self.animate_action = self._action(generate, "A&nimate Layer…", self.animate_layer)
        self.animate_action.setToolTip("Make the current splat layer move (animate-4d with this object)")

        view = bar.addMenu("&View")
        self._action(view, "Frame &All", self.viewport.frame_all, "Home")
        self._action(view, "&Frame Selected", self.viewport.frame_selected, "F")
        self._action(view, "&Reset View", self.viewport.reset_view)  # the home view of Preferences
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
            ("move", "&Move Selection", "G"), ("path", "&Path Edit", "P"),
        ):
            action = self._action(tools, text, lambda n=name: self.set_tool(n), key)
            action.setCheckable(True)
            action.setChecked(name == "navigate")
            tool_group.addAction(action)
            self.tool_actions[name] = action
        view.addMenu("Play&back").addActions(self.timeline.transport_actions)
        show_paths = self._action(view, "Camera &Paths", lambda: self.viewport.set_show_paths(show_paths.isChecked()))
        show_paths.setCheckable(True)
        show_paths.setChecked(self.viewport.show_paths)
        panels = view.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())
        self._build_animation_menu(bar)


def _scrolled(panel: QWidget) -> QScrollArea:
    """``panel`` in a frameless scroll area that scrolls up and down only: the dock keeps the panel's
    width (room for its rows and the scroll bar), as it did without one."""
    area = QScrollArea()
    area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area
