"""Autosave: a recovery copy of a modified document, offered back after a crash.

Every ``interval_s`` seconds, if the document changed since the last autosave and is not saved,
a snapshot is written to the recovery file in the background. A clean exit deletes it, so finding
one at start-up means the last session ended badly. A small JSON file beside it remembers which
project the recovery copy belongs to; the two are written as a set (both or neither), so a crash or
a full disk mid-write never pairs one session's copy with another project's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from scene import Document
from scene.events import DocumentEvent, UndoChanged
from scene.io.atomic import atomic_outputs
from studio.workers import TaskRunner, snapshot

SaveFn = Callable[[Document, Path], None]
RECOVERY_NAME = "recovery.a4d"


def default_save(document: Document, path: Path) -> None:
    from scene.io.project import save_project

    save_project(document, path)


@dataclass(frozen=True)
class Recovery:
    """A recovery file left by an earlier session, and the project it was a copy of (if saved)."""

    path: Path
    source: str  # "" for a never-saved document


def find_recovery(folder: Path) -> Recovery | None:
    """The recovery file in ``folder``, if a previous session left one."""
    path = folder / RECOVERY_NAME
    if not path.exists():
        return None
    try:
        source = json.loads(_info_path(path).read_text(encoding="utf-8")).get("source", "")
    except (OSError, ValueError, AttributeError):
        source = ""
    return Recovery(path, source if isinstance(source, str) else "")


def discard_recovery(folder: Path) -> None:
    path = folder / RECOVERY_NAME
    for p in (path, _info_path(path)):
        p.unlink(missing_ok=True)


def _info_path(path: Path) -> Path:
    return path.with_suffix(".json")


class Autosaver(QObject):
    """Watches one document at a time and writes recovery copies of it on a timer."""

    saved = Signal(str)  # the recovery path, after each autosave
    failed = Signal(str)

    def __init__(
        self,
        folder: Path,
        runner: TaskRunner,
        interval_s: int,
        save: SaveFn = default_save,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.folder = folder
        self._runner = runner
        self._save = save
        self._document: Document | None = None
        self._source = ""
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.autosave_now)
        self.set_interval(interval_s)

    @property
    def path(self) -> Path:
        return self.folder / RECOVERY_NAME

    def set_interval(self, seconds: int) -> None:
        """0 turns autosave off."""
        self._timer.stop()
        if seconds > 0:
            self._timer.start(int(seconds * 1000))

    def watch(self, document: Document, source: str = "") -> None:
        """Follow ``document`` (saved at ``source``, or never saved) instead of the previous one."""
        if self._document is not None:
            self._document.events.disconnect(self._on_event)
        self._document = document
        self._source = source
        self._dirty = document.is_modified
        document.events.connect(self._on_event)

    def _on_event(self, event: DocumentEvent) -> None:
        if isinstance(event, UndoChanged):  # the only kind of change that makes a document unsaved
            self._dirty = True

    def autosave_now(self) -> None:
        """Write a recovery copy if there is something unsaved; drop it when all is saved."""
        document = self._document
        if document is None or not self._dirty:
            return
        self._dirty = False
        if not document.is_modified:
            discard_recovery(self.folder)
            return
        copy, path, source = snapshot(document), self.path, self._source

        def write(progress) -> str:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_outputs([path, _info_path(path)]) as (copy_tmp, info_tmp):  # a pair: never one session's
                self._save(copy, copy_tmp)  # copy with another's project named beside it
                info_tmp.write_text(json.dumps({"source": source}), encoding="utf-8")
            return str(path)

        self._runner.start("Autosave", write, self.saved.emit, self._on_failed)

    def _on_failed(self, message: str) -> None:
        self._dirty = True  # try again next time
        self.failed.emit(message)

    def discard(self) -> None:
        """Delete the recovery copy: on a clean exit or once the document is saved."""
        self._dirty = False
        discard_recovery(self.folder)
