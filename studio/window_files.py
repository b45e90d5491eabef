"""The main window's file commands: open, import, save, export, recovery, and files dropped on it.

A mixin of :class:`studio.main_window.MainWindow`: it works on the window's document, task runner and
dialogs (``ask_*``, ``show_error``). Every file operation runs on the task runner, on a snapshot of
the document, so the viewport keeps drawing and the artist keeps editing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from PySide6.QtGui import QDragEnterEvent, QDropEvent

from scene import Document, Layer
from studio.autosave import discard_recovery, find_recovery
from studio.files import PROJECT_SUFFIX, SCREENSHOT_SUFFIX
from studio.workers import Task, snapshot


class FileCommands:
    """Open, import, save and export for :class:`~studio.main_window.MainWindow`."""

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
            if self.generate.add_input_image(path):
                self.docks["Generate"].raise_()
            else:
                self.show_error("Open image", f"{path.name}: no engine of the Generate panel takes an image yet.")
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
        target, data = Path(chosen), layer.payload_kind.transformed(layer.data, layer.transform.matrix())
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

        return dialog_filter(WRITE_EXTENSIONS.get(layer.kind, ()))

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
