"""Clips through the studio's File menu: Import PLY Sequence, Export > PLY Sequence and Animated GLB."""

from __future__ import annotations

from pathlib import Path

import imageio
import numpy as np
import pytest

from scene import Document, Layer
from scene.clip import GaussianClip
from scene.transform import Transform
from studio.turntable import TurntableSettings, timeline_times
from tests.scene.test_ply_sequence import FIELDS, moving, write_frames
from tests.studio.conftest import cloud, wait_idle
from tests.studio.test_window_export import record_file_dialogs
from tests.studio.test_window_user import choose


@pytest.fixture
def sequence(tmp_path) -> Path:
    folder = tmp_path / "sources" / "walk"
    write_frames(folder, moving(np.random.default_rng(2), frames=4, n=200))
    return folder


def import_sequence(window, qtbot, folder: Path) -> Layer:
    window.ask_folder = lambda title: str(folder)
    choose(window, "File", "Import PLY Sequence")
    wait_idle(qtbot, window)
    return window.document.current


def assert_same_clip(a: GaussianClip, b: GaussianClip) -> None:
    assert (a.frame_count, a.fps, a.count, a.is_flipbook) == (b.frame_count, b.fps, b.count, b.is_flipbook)
    for k in range(a.frame_count):
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(a.frame(k), name), getattr(b.frame(k), name), err_msg=f"{name} {k}")


def test_import_a_ply_sequence_as_one_clip_layer_in_one_undo_step(make_window, qtbot, sequence) -> None:
    window = make_window()
    layer = import_sequence(window, qtbot, sequence)
    assert window.errors == []
    assert layer.name == "walk" and isinstance(layer.data, GaussianClip)
    assert (layer.data.frame_count, layer.data.fps, layer.data.count) == (4, 24.0, 200)
    assert window.document.undo_stack.undo_text == "Import walk"
    window.document_undo()
    assert window.document.layers == ()


def test_export_a_ply_sequence_and_import_it_again_as_an_equal_clip(make_window, qtbot, sequence, tmp_path, monkeypatch) -> None:
    window = make_window()
    original = import_sequence(window, qtbot, sequence).data
    exports = tmp_path / "exports"
    exports.mkdir()
    asked = record_file_dialogs(monkeypatch, [str(exports / "walk again")])
    choose(window, "File", "Export", "PLY Sequence")
    wait_idle(qtbot, window)
    assert window.errors == [] and asked[0][0] == "Export PLY sequence" and Path(asked[0][1]).name == "walk"
    names = sorted(p.name for p in sequence.iterdir())
    assert sorted(p.name for p in (exports / "walk again").iterdir()) == names
    assert all((exports / "walk again" / n).read_bytes() == (sequence / n).read_bytes() for n in names)
    again = import_sequence(window, qtbot, exports / "walk again")
    assert again.name == "walk again" and len(window.document.layers) == 2
    assert_same_clip(again.data, original)


def test_an_exported_sequence_is_placed_as_in_the_scene(make_window, qtbot, sequence, tmp_path) -> None:
    window = make_window()
    layer = import_sequence(window, qtbot, sequence)
    window.document.set_layer(layer.id, transform=Transform(translation=(0.0, 2.0, 0.0)))
    window.export_ply_sequence(tmp_path / "moved")
    wait_idle(qtbot, window)
    moved = window.files.load_asset(tmp_path / "moved")
    np.testing.assert_allclose(moved.frame(3).means, layer.data.frame(3).means + [0, 2, 0], atol=1e-5)


def test_export_an_animated_glb_of_the_current_clip(make_window, qtbot, sequence, tmp_path, monkeypatch) -> None:
    from tests.gltf_validator import validate

    window = make_window()
    import_sequence(window, qtbot, sequence)
    messages = []
    monkeypatch.setattr(window.status, "showMessage", lambda text, *rest: messages.append(text))
    record_file_dialogs(monkeypatch, [str(tmp_path / "walk")])  # typed without .glb
    choose(window, "File", "Export", "Animated GLB")
    wait_idle(qtbot, window, timeout=60000)
    assert window.errors == []
    report = validate(tmp_path / "walk.glb")
    assert report["issues"]["numErrors"] == 0 and report["info"]["animationCount"] >= 1
    assert any(m.startswith("Wrote walk.glb: ") for m in messages), messages


def test_a_timeline_video_plays_the_in_out_range_from_the_view(make_window, qtbot, sequence, tmp_path, monkeypatch) -> None:
    window = make_window()
    import_sequence(window, qtbot, sequence)
    window.document.set_playback(fps=8.0)
    window._turntable_settings = TurntableSettings(64, 48, frames=2, fps=8)  # the size of the last turntable
    record_file_dialogs(monkeypatch, [str(tmp_path / "walk")])
    choose(window, "File", "Export", "Timeline Video")
    wait_idle(qtbot, window, timeout=60000)
    assert window.errors == []
    reader = imageio.get_reader(tmp_path / "walk.mp4")
    try:
        frames = [frame.astype(float) for frame in reader]
        assert reader.get_meta_data()["size"] == (64, 48)
    finally:
        reader.close()
    assert window.document.play_range() == (0.0, pytest.approx(1 / 6))  # 4 frames at 24 fps
    assert len(frames) == 2  # 1/6 s at 8 fps: the frames starting at 0 and 1/8 s
    assert np.abs(frames[0] - frames[1]).mean() > 0.5  # the clip moved between them


def test_orbits_and_paths_of_a_scene_with_clips_play_the_timeline(make_window, qtbot, sequence) -> None:
    window = make_window()
    import_sequence(window, qtbot, sequence)
    window.document.set_playback(start=0.05)
    np.testing.assert_allclose(timeline_times(window.document, 3, 10.0), [0.05, 0.15, 0.25])
    assert timeline_times(Document(), 3, 10.0) is None  # a still scene keeps its time


def test_clip_files_say_what_went_wrong(make_window, qtbot, sequence, tmp_path, monkeypatch) -> None:
    window = make_window()
    document = Document()
    document.add_layer(Layer("rock", cloud(50)))
    window.set_document(document)
    window.export_ply_sequence(tmp_path / "nothing")
    window.export_animated_glb(tmp_path / "nothing.glb")
    assert window.errors == [
        "Export PLY sequence: Select a clip layer to export first.",
        "Export animated GLB: Select a clip layer to export first.",
    ]
    window.errors.clear()

    empty = tmp_path / "empty"
    empty.mkdir()
    import_sequence(window, qtbot, empty)
    assert len(window.errors) == 1 and window.errors[0].startswith("Import failed:") and "holds no PLY files" in window.errors[0]
    assert len(window.document.layers) == 1
    window.errors.clear()

    import_sequence(window, qtbot, sequence)
    choose(window, "File", "Export", "Layer")
    assert window.errors == ["Export: A clip exports with File > Export > PLY Sequence or Animated GLB."]
    window.errors.clear()
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"jpeg")
    window.export_ply_sequence(photos)
    wait_idle(qtbot, window)
    assert len(window.errors) == 1 and "holds other things than PLY files" in window.errors[0]
    assert [p.name for p in photos.iterdir()] == ["holiday.jpg"]
    window.ask_folder = lambda title: ""  # cancelled: nothing happens
    choose(window, "File", "Import PLY Sequence")
    assert not window.runner.running and len(window.document.layers) == 2
