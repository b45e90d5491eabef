"""The main window's file commands: open, import, save, export, recovery, and files dropped on it.

A mixin of :class:`studio.main_window.MainWindow`: it works on the window's document, task runner and
dialogs (``ask_*``, ``show_error``). Every file operation runs on the task runner, on a snapshot of
the document, so the viewport keeps drawing and the artist keeps editing. Clips come in from a folder
of PLY frames and go out as one, or as an animated GLB.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog

from engines.fields import REQUIRED
from scene import Document, Layer
from scene.clip import GaussianClip
from scene.io import FormatError, atomic_output
from studio.autosave import discard_recovery, find_recovery
from studio.files import PROJECT_SUFFIX, SCREENSHOT_SUFFIX, VIDEO_SUFFIX
from studio.tools import REPORT_MS
from studio.turntable import TurntableSettings, orbit_start, timeline_times, timeline_video_times
from studio.workers import Progress, Task, snapshot

GLB_SUFFIX = ".glb"


class FileCommands:
    """Open, import, save and export for :class:`~studio.main_window.MainWindow`."""

    _last_folder: Path | None = None  # where the artist last picked a file to write
    _turntable_settings = TurntableSettings()  # the last turntable's, offered again

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
            self.give_image(path)
            return None
        self.show_error("Cannot open file", f"{path.name}: not a format Atelier4D reads.")
        return None

    def give_image(self, path: Path) -> bool:
        """Make an image the input of Generate: the current tab's image field if it has one, else the first
        engine's that has; the Generate dock comes to the front. Says why when no engine takes images."""
        engines = self._image_engines()
        if not engines:
            self.show_error("Import image", f"{path.name}: no engine of the Generate panel takes an image.")
            return False
        panel = self.generate
        panel.setCurrentIndex(next(i for i in range(panel.count()) if panel.tabText(i) == engines[0]))
        panel.add_input_image(path)
        self.docks["Generate"].raise_()
        return True

    def _image_engines(self) -> list[str]:
        """The Generate tabs whose engine takes an image: the current tab first, then those that need
        one (image-to-3d) before those that take one among other inputs (animate-4d's image or video)."""
        panel = self.generate
        needs: dict[str, bool] = {}
        for name, form in panel.forms.items():
            images = [s for s in form.fields() if s.path == "image" and s.gui]
            if images:
                needs[name] = any(s.default is REQUIRED for s in images)
        current = panel.tabText(panel.currentIndex())
        return sorted(needs, key=lambda name: (name != current, not needs[name]))

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
        images = [p for p in paths if self.files.kind_of(p) == "image"]
        if images:
            self.give_image(images[0])  # an engine takes one picture
        if not assets:
            return None
        return self._import(assets, lambda path, progress: self.files.load_asset(path))

    def import_ply_sequence(self, folder: str | os.PathLike | None = None) -> Task | None:
        """A folder of PLY frames (``frame_0000.ply ...``, as SuperSplat and DreamGaussian4D write them)
        as one clip layer at 24 fps, in one undo step; the frames are read in the background."""
        from scene.io.ply_sequence import read_ply_sequence

        chosen = folder or self.ask_folder("Import PLY sequence")
        if not chosen:
            return None

        def read(path: Path, progress: Progress) -> GaussianClip:
            clip = read_ply_sequence(path, progress=lambda f: (progress.report(f, path.name), progress.check()))
            clip.bounds()  # cached by the clip: computed here, off the GUI thread, which frames it next
            return clip

        return self._import([Path(chosen)], read)

    def _import(self, paths: list[Path], read: Callable[[Path, Progress], Any]) -> Task:
        """Read each path in the background with ``read``, then add it as a layer (one undo step each) and frame it."""
        document = self.document

        def load(progress) -> list:
            loaded = []
            for i, path in enumerate(paths):
                progress.report(i / len(paths), path.name)
                loaded.append((path, read(path, progress)))
                progress.check()
            return loaded

        def add(loaded: list) -> None:
            if document is not self.document:
                return  # the artist opened another document meanwhile
            for path, data in loaded:
                document.add_layer(Layer(document.unique_name(path.stem), data), text=f"Import {path.name}")
            self.viewport.frame_selected()

        return self.runner.start(f"Importing {', '.join(p.name for p in paths)}", load, add, self._failed("Import"))

    def save(self) -> Task | None:
        """Save to the document's file (asking for one if it has none); runs in the background."""
        if self.path is None:
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self, path: str | os.PathLike | None = None) -> Task | None:
        path = self._target_file(path, "Save project", f"Atelier4D project (*{PROJECT_SUFFIX})", self._document_name(), PROJECT_SUFFIX)
        if path is None:
            return None
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
        from scene.io import WRITE_EXTENSIONS, dialog_filter

        layer = self.document.current
        if layer is None:
            self.show_error("Export", "Select a layer to export first.")
            return None
        extensions = WRITE_EXTENSIONS.get(layer.kind, ())
        if isinstance(layer.data, GaussianClip):
            self.show_error("Export", "A clip exports with File > Export > PLY Sequence or Animated GLB.")
            return None
        if not extensions:
            self.show_error("Export", f"A {layer.payload_kind.label} layer has no file format of its own; save it in a project.")
            return None
        target = self._target(path, "Export layer", dialog_filter(extensions), layer.name, extensions[0])
        if target is None:
            return None
        data = _placed(layer)
        return self.runner.start(f"Exporting {target.name}", lambda progress: self.files.save_asset(target, data), None, self._failed("Export"))

    def export_ply_sequence(self, path: str | os.PathLike | None = None) -> Task | None:
        """The current clip layer, placed as in the scene, as a folder of PLY frames (``frame_0000.ply ...``,
        one per frame it plays); written in the background, replacing a former sequence only once done."""
        from scene.io.ply_sequence import write_ply_sequence

        layer = self._current_clip("Export PLY sequence")
        if layer is None:
            return None
        target = self._target(path, "Export PLY sequence", "Folder of PLY frames (*)", layer.name, "")
        if target is None:
            return None

        def write(progress: Progress) -> None:
            write_ply_sequence(_placed(layer), target, progress=lambda f: (progress.report(f), progress.check()))

        return self.runner.start(f"Exporting {target.name}", write, None, self._failed("Export"))

    def export_animated_glb(self, path: str | os.PathLike | None = None) -> Task | None:
        """The current clip layer, placed as in the scene, as an animated GLB (a mesh moving with the splats);
        made in the background, what was written said in the status bar."""
        layer = self._current_clip("Export animated GLB")
        if layer is None:
            return None
        target = self._target_file(path, "Export animated GLB", "Binary glTF (*.glb)", layer.name, GLB_SUFFIX)
        if target is None:
            return None

        def write(progress: Progress) -> str:
            from engines.meshing.animated import write_animated_glb

            progress.report(-1.0, "meshing the splats")
            return write_animated_glb(_placed(layer), target)

        def written(summary: str) -> None:
            self.status.showMessage(f"Wrote {target.name}: {summary}", REPORT_MS)

        return self.runner.start(f"Exporting {target.name}", write, written, self._failed("Export"))

    def _current_clip(self, title: str) -> Layer | None:
        """The current layer when it is a clip; else None, the artist told why."""
        layer = self.document.current
        if layer is None or not isinstance(layer.data, GaussianClip):
            self.show_error(title, "Select a clip layer to export first.")
            return None
        return layer

    def export_screenshot(self, path: str | os.PathLike | None = None) -> bool:
        """The viewport as a PNG (``.png`` is added to a name typed without it), written whole or not at all
        (encoded first, then written beside the target and renamed over it: a full disk keeps the old file)."""
        target = self._target_file(path, "Save screenshot", "PNG image (*.png)", self._document_name(), SCREENSHOT_SUFFIX)
        if target is None:
            return False
        encoded = QByteArray()
        buffer = QBuffer(encoded)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self.viewport.grabFramebuffer().save(buffer, "PNG"):
            self.show_error("Screenshot failed", f"{target}: the picture could not be encoded")
            return False
        try:
            with atomic_output(target) as tmp:
                tmp.write_bytes(encoded.data())
        except FormatError as exc:
            self._failed("Screenshot")(str(exc))
            return False
        return True

    def export_turntable(self, path: str | os.PathLike | None = None, settings: TurntableSettings | None = None) -> Task | None:
        """An MP4 orbiting the current layer (else the visible ones), of the size, length and frame rate the
        artist picks (:meth:`ask_turntable_settings`), framed on its dense part; rendered in the background."""
        current = self.document.current
        subject = current if current is not None and current.visible else None
        settings = settings or self.ask_turntable_settings(
            self._turntable_settings, f"'{subject.name}'" if subject else "the visible layers"
        )
        if settings is None:
            return None
        target = self._target_file(path, "Export turntable", "MP4 video (*.mp4)", subject.name if subject else self._document_name(), VIDEO_SUFFIX)
        if target is None:
            return None
        from render.video import render_turntable

        self._turntable_settings = settings
        copy, view = snapshot(self.document), self.viewport.camera()

        def render(progress) -> None:
            layers = None if subject is None else [copy.layer(subject.id)]
            camera, centre = orbit_start(copy, settings.width, settings.height, layers, view=view)
            render_turntable(
                copy, target, camera=camera, target=centre, frames=settings.frames, fps=settings.fps,
                progress=lambda f: (progress.report(f), progress.check()),
                times=timeline_times(copy, settings.frames, settings.fps),
            )

        return self.runner.start(f"Rendering {target.name}", render, None, self._failed("Turntable"))

    def export_timeline_video(self, path: str | os.PathLike | None = None) -> Task | None:
        """An MP4 of the timeline's in-out range at its frame rate, seen from the viewport's camera at the
        last turntable's size; rendered in the background on a snapshot, with progress and Cancel."""
        fps = self.document.playback.fps
        times = timeline_video_times(self.document, fps)
        size = self._turntable_settings
        try:
            video = TurntableSettings(size.width, size.height, len(times), fps)
        except ValueError as exc:
            self.show_error("Export timeline video", str(exc))
            return None
        target = self._target_file(path, "Export timeline video", "MP4 video (*.mp4)", self._document_name(), VIDEO_SUFFIX)
        if target is None:
            return None
        from render.video import render_video

        copy = snapshot(self.document)
        camera = dataclasses.replace(self.viewport.camera(), width=video.width, height=video.height, cx=None, cy=None)

        def render(progress) -> None:
            cameras = [camera] * video.frames
            render_video(copy, target, cameras, fps, progress=lambda f: (progress.report(f), progress.check()), times=times)

        return self.runner.start(f"Rendering {target.name}", render, None, self._failed("Timeline video"))

    def ask_turntable_settings(self, settings: TurntableSettings, subject: str) -> TurntableSettings | None:
        """The turntable dialog, filled with ``settings``; None when cancelled (tests replace this)."""
        from studio.turntable_dialog import TurntableDialog

        dialog = TurntableDialog(settings, subject, self)
        return dialog.settings() if dialog.exec() == TurntableDialog.DialogCode.Accepted else None

    def _target(self, path: str | os.PathLike | None, title: str, filter_: str, name: str, suffix: str) -> Path | None:
        """``path``, or the file the artist picks (``name`` + ``suffix`` suggested in :meth:`_suggested_folder`);
        its folder is the next suggestion. None when the artist cancels."""
        chosen = path or self.ask_save_path(title, filter_, str(self._suggested_folder() / f"{_file_name(name)}{suffix}"))
        if not chosen:
            return None
        self._last_folder = Path(chosen).parent
        return Path(chosen)

    def _target_file(self, path: str | os.PathLike | None, title: str, filter_: str, name: str, suffix: str) -> Path | None:
        """:meth:`_target`, ending in ``suffix`` (added when the artist typed the name without it)."""
        chosen = self._target(path, title, filter_, name, suffix)
        if chosen is not None and chosen.suffix.lower() != suffix:
            chosen = chosen.with_name(chosen.name + suffix)
        return chosen

    def _suggested_folder(self) -> Path:
        """Where file dialogs start: the folder last used, else the project's, else the home folder
        (never the folder the studio was started from)."""
        return self._last_folder or (self.path.parent if self.path else Path.home())

    def _document_name(self) -> str:
        """The project's name, else the current layer's, else "untitled": the name suggested for its files."""
        if self.path:
            return self.path.stem
        return self.document.current.name if self.document.current else "untitled"

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

    def ask_folder(self, title: str) -> str:
        """A folder the artist picks ("" when cancelled); tests replace this."""
        return QFileDialog.getExistingDirectory(self, title, str(self._suggested_folder()))

    def _open_dialog(self) -> None:
        paths = self.ask_open_paths("Open", self.files.import_filter(images=bool(self._image_engines())))
        if paths:
            self.open_path(paths[0])

    def _import_dialog(self) -> None:
        paths = self.ask_open_paths("Import", self.files.import_filter(images=bool(self._image_engines())))
        if paths:
            self.import_files([Path(p) for p in paths])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self._action(self.recent_menu, path, lambda p=path: self.open_path(p))
        if not self.settings.recent_files:
            self.recent_menu.addAction("(none)").setEnabled(False)


def _placed(layer: Layer) -> Any:
    """The layer's data with its transform baked in, as exports write it (untouched when it has none, so a
    clip's frames go out exactly as they came in)."""
    if layer.transform.is_identity():
        return layer.data
    return layer.payload_kind.transformed(layer.data, layer.transform.matrix())


def _file_name(name: str) -> str:
    """``name`` as a file name: characters no file system takes replaced, "untitled" when nothing is left."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(" .") or "untitled"
