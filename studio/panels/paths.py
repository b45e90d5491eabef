"""The Paths dock: the document's camera paths and their keys, edited as undo steps.

A view over :attr:`scene.Document.paths` like the Outliner over the layers: the list of paths, the
current path's keys with their times, and the commands: New path, Delete path, Add key (the
viewport's current view, after the selected key), Delete key, Up/Down (the key's pose moves in the
order, the times stay), the selected key's time, Preview (the viewport flies along the path, until
its end or Stop), Load/Save as JSON, and Render video (``render_requested``: the window renders it
in the background). The current path and key are drawn lit in the viewport; the Path Edit tool
(:mod:`studio.path_tool`) drags them. File dialogs are behind ``ask_*`` methods that tests replace.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from render.controllers import OrbitController
from scene import Document
from scene.camera_path import CameraKey, CameraPath
from scene.document import NamedPath
from scene.events import DocumentEvent, PathChanged
from studio.viewport import Viewport

KEY_GAP_S = 1.0
"""How long after the last key a key added at the end comes."""
PREVIEW_INTERVAL_MS = 33
JSON_FILTER = "Camera path (*.json)"


class PathsPanel(QWidget):
    """Lists ``document``'s camera paths and edits them; flies ``viewport`` along one for a preview."""

    render_requested = Signal(str)  # a path id: render a video along it
    error = Signal(str, str)  # title, text: something the artist must be told

    def __init__(self, document: Document, viewport: Viewport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewport = viewport
        self.paths = QListWidget()
        self.paths.setMaximumHeight(90)
        self.paths.currentRowChanged.connect(self._on_path_row)
        self.keys = QListWidget()
        self.keys.currentRowChanged.connect(self._on_key_row)
        self.time_box = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=36000.0, singleStep=0.25, suffix=" s")
        self.time_box.setToolTip("When the camera reaches the selected key, in seconds from the start")
        self.time_box.editingFinished.connect(lambda: self.set_key_time(self.time_box.value()))
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        for i, (name, text, tip, slot) in enumerate((
            ("new", "New path", "Start a path at the current view", self.new_path),
            ("delete_path", "Delete path", "Delete the selected path", self.delete_path),
            ("load", "Load…", "Add a path from a JSON file", self.load_path),
            ("save", "Save…", "Write the selected path as JSON", self.save_path),
            ("add", "Add key", "Add the current view as a key after the selected one", self.add_key),
            ("delete", "Delete key", "Delete the selected key", self.delete_key),
            ("up", "Move up", "Fly through the selected key earlier (the times stay)", lambda: self.move_key(-1)),
            ("down", "Move down", "Fly through the selected key later (the times stay)", lambda: self.move_key(1)),
            ("preview", "Preview", "Fly the viewport along the path; click again to stop", self.toggle_preview),
            ("render", "Render video…", "Render an MP4 along the path", self._request_render),
        )):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, s=slot: s())
            grid.addWidget(button, i // 2, i % 2)
            self.buttons[name] = button
        self.buttons["preview"].setCheckable(True)
        form = QFormLayout()
        form.addRow("Key time", self.time_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.paths)
        layout.addWidget(self.keys)
        layout.addLayout(form)
        layout.addLayout(grid)
        self.preview_timer = QTimer(self, interval=PREVIEW_INTERVAL_MS)
        self.preview_timer.timeout.connect(self._preview_step)
        self._clock = QElapsedTimer()
        self._view_before: OrbitController | None = None
        self.path_id: str | None = None
        self.key: int | None = None
        self.document = document
        document.events.connect(self._on_event)
        self._show()

    def set_document(self, document: Document) -> None:
        self.stop_preview()
        self.document.events.disconnect(self._on_event)
        self.document = document
        document.events.connect(self._on_event)
        self.path_id, self.key = None, None
        self._show()

    # ----------------------------------------------------------------- selection
    @property
    def current(self) -> NamedPath | None:
        return None if self.path_id is None else self.document.named_path(self.path_id)

    def select(self, path_id: str | None, key: int | None = None) -> None:
        """Make ``path_id`` the current path and ``key`` its selected key (both shown lit in the viewport)."""
        self.path_id, self.key = path_id, key
        self._show()

    # ----------------------------------------------------------------- commands
    def new_path(self, path: CameraPath | None = None, name: str | None = None) -> NamedPath:
        """Add ``path`` (default: one key at the current view) as a new path, and select it."""
        path = path or CameraPath((CameraKey.from_camera(self.viewport.camera(), 0.0),))
        named = self.document.add_path(NamedPath(name or self.document.unique_path_name(), path))
        self.select(named.id, 0)
        return named

    def delete_path(self) -> None:
        if self.current is not None:
            self.stop_preview()
            self.document.remove_path(self.path_id)

    def add_key(self) -> None:
        """The current view as a key: midway in time after the selected key, or a second after the last."""
        named = self.current
        if named is None:
            self.new_path()
            return
        keys = named.path.keys
        index = len(keys) - 1 if self.key is None else self.key
        after = keys[index].time
        time = (after + keys[index + 1].time) / 2.0 if index + 1 < len(keys) else after + KEY_GAP_S
        self._edit(named.path.added(CameraKey.from_camera(self.viewport.camera(), time)), "Add key", index + 1)

    def delete_key(self) -> None:
        named = self.current
        if named is None or self.key is None:
            return
        if len(named.path.keys) == 1:
            self.error.emit("Delete key", f"{named.name} has only this key; delete the path instead.")
            return
        self._edit(named.path.removed(self.key), f"Delete key {self.key + 1}", min(self.key, len(named.path.keys) - 2))

    def move_key(self, step: int) -> None:
        """Move the selected key's pose ``step`` places along the path (-1 earlier, 1 later)."""
        named = self.current
        if named is None or self.key is None or not 0 <= self.key + step < len(named.path.keys):
            return
        to = self.key + step
        self._edit(named.path.reordered(self.key, to), f"Move key {self.key + 1}", to)

    def set_key_time(self, time: float) -> None:
        """Give the selected key the time ``time`` seconds (it may change places with its neighbours)."""
        named = self.current
        if named is None or self.key is None or named.path.keys[self.key].time == time:
            return
        key = replace(named.path.keys[self.key], time=time)
        try:
            path = named.path.replaced(self.key, key)
        except ValueError as exc:
            self.error.emit("Key time", str(exc))
            self._show()
            return
        self._edit(path, f"Time of key {self.key + 1}", path.keys.index(key))

    def load_path(self, file: str | None = None) -> NamedPath | None:
        """Add the path saved in ``file`` (default: the one the artist picks) and select it."""
        file = file or self.ask_open_file()
        if not file:
            return None
        try:
            path = CameraPath.load(file)
        except ValueError as exc:
            self.error.emit("Load camera path", str(exc))
            return None
        return self.new_path(path, self.document.unique_path_name(Path(file).name.split(".")[0]))

    def save_path(self, file: str | None = None) -> bool:
        """Write the current path as JSON to ``file`` (default: the one the artist picks)."""
        named = self.current
        if named is None:
            return False
        file = file or self.ask_save_file(f"{named.name}.json")
        if not file:
            return False
        try:
            named.path.save(file)
        except OSError as exc:
            self.error.emit("Save camera path", f"Could not write {file}: {exc.strerror or exc}")
            return False
        return True

    # ----------------------------------------------------------------- preview
    @property
    def previewing(self) -> bool:
        return self.preview_timer.isActive()

    def toggle_preview(self) -> None:
        self.stop_preview() if self.previewing else self.start_preview()

    def start_preview(self) -> None:
        """Fly the viewport along the current path in real time; the view comes back when it stops."""
        if self.current is None or self.previewing:
            self.buttons["preview"].setChecked(self.previewing)
            return
        self._view_before = self.viewport.controller
        self._clock.start()
        self.preview_timer.start()
        self.buttons["preview"].setChecked(True)
        self.buttons["preview"].setText("Stop")
        self._preview_step()

    def stop_preview(self) -> None:
        self.preview_timer.stop()
        self.buttons["preview"].setChecked(False)
        self.buttons["preview"].setText("Preview")
        if self._view_before is not None:
            self.viewport.controller, self._view_before = self._view_before, None
            self.viewport.camera_changed()

    def _preview_step(self) -> None:
        named = self.current
        t = self._clock.elapsed() / 1000.0
        if named is None or t > named.path.duration:
            self.stop_preview()
            return
        camera = named.path.camera_at(t, 1, 1)
        self.viewport.controller = OrbitController.from_camera(camera, self.viewport.controller.distance)
        self.viewport.camera_changed()

    # ----------------------------------------------------------------- dialogs (tests replace these)
    def ask_open_file(self) -> str:
        return QFileDialog.getOpenFileName(self, "Load camera path", "", JSON_FILTER)[0]

    def ask_save_file(self, suggested: str) -> str:
        return QFileDialog.getSaveFileName(self, "Save camera path", suggested, JSON_FILTER)[0]

    # ----------------------------------------------------------------- helpers
    def _edit(self, path: CameraPath, text: str, key: int) -> None:
        self.key = key
        self.document.set_path(self.path_id, path, text=text)
        self._show()

    def _request_render(self) -> None:
        if self.path_id is not None:
            self.render_requested.emit(self.path_id)

    def _on_event(self, event: DocumentEvent) -> None:
        if isinstance(event, PathChanged):
            self._show()

    def _on_path_row(self, row: int) -> None:
        paths = self.document.paths
        if 0 <= row < len(paths) and paths[row].id != self.path_id:
            self.select(paths[row].id, 0)

    def _on_key_row(self, row: int) -> None:
        if row >= 0 and row != self.key:
            self.select(self.path_id, row)

    def _show(self) -> None:
        """The lists, the time box, the buttons and the viewport's lit path, from the document."""
        paths = self.document.paths
        if not any(named.id == self.path_id for named in paths):  # deleted, undone, or a new document
            self.path_id, self.key = (paths[-1].id, 0) if paths else (None, None)
        named = self.current
        keys = () if named is None else named.path.keys
        if self.key is not None and not keys:
            self.key = None
        elif keys and (self.key is None or self.key >= len(keys)):
            self.key = len(keys) - 1
        with QSignalBlocker(self.paths), QSignalBlocker(self.keys), QSignalBlocker(self.time_box):
            self.paths.clear()
            self.paths.addItems([f"{p.name}  ({len(p.path.keys)} keys, {p.path.duration:g} s)" for p in paths])
            self.paths.setCurrentRow(next((i for i, p in enumerate(paths) if p.id == self.path_id), -1))
            self.keys.clear()
            self.keys.addItems([f"Key {i + 1}   {k.time:.2f} s" for i, k in enumerate(keys)])
            self.keys.setCurrentRow(-1 if self.key is None else self.key)
            self.time_box.setEnabled(self.key is not None)
            self.time_box.setValue(0.0 if self.key is None else keys[self.key].time)
        has_key = self.key is not None
        for name, enabled in (
            ("delete_path", named is not None), ("save", named is not None), ("delete", has_key),
            ("up", has_key and self.key > 0), ("down", has_key and self.key < len(keys) - 1),
            ("preview", named is not None and named.path.duration > 0), ("render", named is not None),
        ):
            self.buttons[name].setEnabled(enabled)
        self.viewport.set_path_selection(self.path_id, self.key)
