"""Camera paths in the document: undoable edits like layers', and kept by the project file."""

from __future__ import annotations

import json
import zipfile

import pytest

from scene import Document
from scene.camera_path import CameraKey, CameraPath
from scene.document import NamedPath
from scene.events import PathChanged
from scene.io.project import load_project, save_project


def _path(n: int = 3) -> CameraPath:
    return CameraPath(tuple(CameraKey.look_at((4.0 * i, 1.0, 5.0), (0.0, 0.0, 0.0), float(i)) for i in range(n)))


def test_path_edits_are_undo_steps_and_events() -> None:
    document = Document()
    events = []
    document.events.connect(lambda e: events.append(e) if isinstance(e, PathChanged) else None)
    named = document.add_path(NamedPath(document.unique_path_name(), _path()))
    assert document.paths == (named,) and named.name == "Path"
    assert document.unique_path_name() == "Path 2"
    document.set_path(named.id, named.path.removed(0), text="Delete key")
    assert len(document.named_path(named.id).path.keys) == 2
    assert document.undo_stack.undo_text == "Delete key"
    document.set_path(named.id, name="Fly-through")
    document.undo()
    document.undo()
    assert document.named_path(named.id) == named
    document.remove_path(named.id)
    assert document.paths == ()
    document.undo()
    assert document.paths == (named,)
    assert len(events) == 7 and all(e.path_id == named.id for e in events)


def test_an_edit_that_changes_nothing_is_no_undo_step() -> None:
    document = Document()
    named = document.add_path(NamedPath("a", _path()))
    document.undo_stack.clear()
    document.set_path(named.id, named.path, name="a")
    assert not document.undo_stack.can_undo


def test_bad_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="name must not be empty"):
        NamedPath(" ", _path())
    document = Document()
    named = document.add_path(NamedPath("a", _path()))
    with pytest.raises(ValueError, match="already has a camera path"):
        document.add_path(named)
    with pytest.raises(KeyError):
        document.remove_path("nope")


def test_project_round_trip_keeps_paths(tmp_path) -> None:
    document = Document()
    first = document.add_path(NamedPath("Orbit", _path(4)))
    second = document.add_path(NamedPath("Dolly", CameraPath(_path(2).keys, constant_speed=True)))
    save_project(document, tmp_path / "scene.a4d")
    opened = load_project(tmp_path / "scene.a4d")
    assert opened.paths == (first, second)
    assert not opened.undo_stack.can_undo


def test_projects_without_paths_still_open(tmp_path) -> None:
    save_project(Document(), tmp_path / "old.a4d")
    with zipfile.ZipFile(tmp_path / "old.a4d") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    del manifest["paths"]  # as written before paths were saved
    with zipfile.ZipFile(tmp_path / "old.a4d", "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    assert load_project(tmp_path / "old.a4d").paths == ()


def test_a_broken_path_in_a_project_is_named(tmp_path) -> None:
    from scene.io.errors import FormatError

    save_project(Document(), tmp_path / "bad.a4d")
    with zipfile.ZipFile(tmp_path / "bad.a4d") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["paths"] = [{"id": "x", "name": "p", "path": {"version": 1, "keys": []}}]
    with zipfile.ZipFile(tmp_path / "bad.a4d", "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    with pytest.raises(FormatError, match="camera path 1 is invalid"):
        load_project(tmp_path / "bad.a4d")
