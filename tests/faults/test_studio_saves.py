"""The studio's saves under faults: File > Save on a full disk keeps the project as it was on disk and
the document unsaved; the recovery copy and the note naming its project are one pair, so a full disk
or a crash between the two never offers one document as a copy of another project (which the artist
would then save over)."""

from __future__ import annotations

import errno
import resource
import signal
from pathlib import Path

from scene import Document, Layer
from scene.io.project import load_project
from studio.autosave import Autosaver, find_recovery
from studio.workers import TaskRunner
from tests.faults import report
from tests.studio.conftest import cloud, make_window, wait_idle  # noqa: F401  (make_window: a fixture)


def document(name: str) -> Document:
    document = Document()
    document.add_layer(Layer(name, cloud(20)))  # an undo step: the document is modified
    return document


def test_saving_on_a_full_disk_keeps_the_project_on_disk_and_the_work_unsaved(make_window, qtbot, tmp_path) -> None:
    report.tried("studio save", "full disk")
    window = make_window()
    window.set_document(document("first"))
    project = tmp_path / "scene.a4d"
    window.save_as(project)
    wait_idle(qtbot, window)
    before = project.read_bytes()
    window.document.add_layer(Layer("second", cloud(4000)))  # more than the full disk holds
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 4096, limits[1]))
    try:
        window.save()
        wait_idle(qtbot, window)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, ignored)
    assert project.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".a4d" or p.name.startswith(".")) == ["scene.a4d"]
    assert window.errors == [f"Save failed: {project}: the disk is full or the file is larger than this disk or account allows"]
    assert window.isWindowModified() and [layer.name for layer in window.document.layers] == ["first", "second"]


def test_a_recovery_note_that_cannot_be_written_keeps_the_earlier_pair(qtbot, tmp_path, monkeypatch) -> None:
    report.tried("studio autosave", "full disk")
    folder = tmp_path / "recovery"
    autosaver = Autosaver(folder, TaskRunner(), interval_s=0)
    failures: list[str] = []
    autosaver.failed.connect(failures.append)

    autosaver.watch(document("first"), str(tmp_path / "first.a4d"))
    with qtbot.waitSignal(autosaver.saved, timeout=20000):
        autosaver.autosave_now()

    write_text = Path.write_text

    def full_for_the_note(path: Path, *args, **kwargs):
        if path.name.startswith((".recovery.json", "recovery.json")):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_for_the_note)
    autosaver.watch(document("second"), str(tmp_path / "second.a4d"))
    with qtbot.waitSignal(autosaver.failed, timeout=20000):
        autosaver.autosave_now()

    found = find_recovery(folder)
    assert found is not None and found.source == str(tmp_path / "first.a4d")
    assert [layer.name for layer in load_project(found.path).layers] == ["first"]
    assert sorted(p.name for p in folder.iterdir()) == ["recovery.a4d", "recovery.json"]
    assert len(failures) == 1 and "\n" not in failures[0] and ".part" not in failures[0], failures
