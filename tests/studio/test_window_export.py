"""Export and import as an artist meets them: where the file dialogs start, the turntable dialog and
its framing (in the studio and in ``atelier4d render --orbit``), and images handed to Generate."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QFileDialog, QLineEdit

from scene import Document, GaussianCloud, Layer
from scene.io import save
from studio.cli import main
from studio.turntable import TurntableSettings
from studio.turntable_dialog import TurntableDialog
from tests.engines.test_fields import AllKinds
from tests.studio.conftest import cloud, wait_idle
from tests.studio.test_window_user import choose, drop_files


def rock_with_floaters() -> GaussianCloud:
    """A solid white unit cube of splats and a few opaque ones 40 units away."""
    rng = np.random.default_rng(0)
    means = np.concatenate([rng.uniform(-0.5, 0.5, (3000, 3)), rng.uniform(38.0, 42.0, (15, 3))])
    return GaussianCloud.create(means, 0.06, np.full((len(means), 3), 0.95), 0.95)


def record_file_dialogs(monkeypatch, answers: list[str]) -> list[tuple[str, str, str]]:
    """Replace the file dialogs: each call records (title, suggested path, filter) and gives the next answer."""
    asked = []

    def ask(parent, title, directory, filter_, *rest):
        asked.append((title, directory, filter_))
        return answers.pop(0), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", ask)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a: ([ask(*a)[0]], ""))
    return asked


def covered(frame: np.ndarray) -> float:
    """The share of a frame's pixels that show something bright (the white cube on black)."""
    return float((frame.astype(int).max(axis=-1) > 60).mean())


# ----------------------------------------------------------------------------- where dialogs start
def test_export_suggests_the_layers_name_in_the_last_folder_used(make_window, qtbot, tmp_path, monkeypatch):
    install = tmp_path / "install"
    install.mkdir()
    monkeypatch.chdir(install)  # the studio was started from its install folder
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    exports = tmp_path / "exports"
    exports.mkdir()
    window = make_window()
    document = Document()
    document.add_layer(Layer("Torus knot", cloud(200)))
    window.set_document(document)
    asked = record_file_dialogs(monkeypatch, [str(exports / "knot.splat"), str(exports / "shot.png")])

    choose(window, "File", "Export", "Layer")  # nothing saved yet: the home folder, the layer's name
    wait_idle(qtbot, window)
    assert asked[-1][:2] == ("Export layer", str(tmp_path / "home" / "Torus knot.ply"))
    choose(window, "File", "Export", "Screenshot")  # then where the artist last wrote
    assert asked[-1][1] == str(exports / "Torus knot.png")
    assert (exports / "knot.splat").is_file() and (exports / "shot.png").is_file()

    project = tmp_path / "projects" / "scene.a4d"
    window2 = make_window()
    window2.set_document(document, project)  # a saved project: its folder, still the layer's name
    asked = record_file_dialogs(monkeypatch, [""])
    choose(window2, "File", "Export", "Layer")
    assert asked[-1][1] == str(project.parent / "Torus knot.ply")
    assert not asked[-1][1].startswith(str(install))


# ----------------------------------------------------------------------------- the turntable dialog
def test_the_turntable_dialog_asks_size_frames_or_duration_and_fps(qtbot):
    dialog = TurntableDialog(TurntableSettings(), "'rock'")
    qtbot.addWidget(dialog)
    boxes = (dialog.width_box, dialog.height_box, dialog.frames_box, dialog.duration_box, dialog.fps_box)
    assert all(box.toolTip() for box in boxes)
    assert dialog.settings() == TurntableSettings(1280, 720, 120, 30.0) and dialog.duration_box.value() == 4.0

    def type_into(box, text: str) -> None:
        box.lineEdit().selectAll()
        qtbot.keyClicks(box.lineEdit(), text)

    type_into(dialog.width_box, "640")
    type_into(dialog.height_box, "480")
    type_into(dialog.frames_box, "90")
    assert dialog.duration_box.value() == 3.0  # frames and duration are one number
    type_into(dialog.duration_box, "2")
    assert dialog.frames_box.value() == 60
    type_into(dialog.fps_box, "24")
    assert dialog.frames_box.value() == 48 and dialog.duration_box.value() == 2.0  # a new rate keeps the duration
    assert dialog.settings() == TurntableSettings(640, 480, 48, 24.0)


def test_turntable_export_asks_then_frames_the_dense_part_of_the_layer(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    document = Document()
    document.add_layer(Layer("rock", rock_with_floaters()))
    window.set_document(document)
    window.viewport.frame_all()  # the viewport's own framing takes the floaters in: the rock is a speck
    offered = []

    def ask(settings, subject):
        offered.append((settings, subject))
        return TurntableSettings(96, 64, frames=8, fps=8)

    window.ask_turntable_settings = ask
    asked = record_file_dialogs(monkeypatch, [str(tmp_path / "spin")])  # typed without .mp4
    choose(window, "File", "Export", "Turntable")
    wait_idle(qtbot, window, timeout=60000)
    assert window.errors == []
    assert offered == [(TurntableSettings(), "'rock'")] and asked[-1][1].endswith("rock.mp4")
    reader = imageio.get_reader(tmp_path / "spin.mp4")
    try:
        frames = [frame for frame in reader]  # list() asks the length, which ffmpeg does not know
        assert reader.get_meta_data()["size"] == (96, 64)
    finally:
        reader.close()
    assert len(frames) == 8
    assert min(covered(frame) for frame in frames) > 0.1  # the rock fills the picture all the way round
    assert window._turntable_settings == TurntableSettings(96, 64, frames=8, fps=8)  # offered next time


def test_render_orbit_frames_the_dense_part_too(tmp_path, capsys):
    save(tmp_path / "rock.ply", rock_with_floaters())
    status = main(["render", str(tmp_path / "rock.ply"), "--orbit", "4", "--size", "96x64", "--out", str(tmp_path / "frames")])
    assert status == 0, capsys.readouterr().err
    frames = [imageio.imread(path) for path in sorted((tmp_path / "frames").iterdir())]
    assert len(frames) == 4 and min(covered(frame) for frame in frames) > 0.1
    assert main(["render", str(tmp_path / "rock.ply"), "--orbit", "4", "--fps", "500", "--out", str(tmp_path / "a.mp4")]) == 1
    assert "1 to 240 frames a second" in capsys.readouterr().err


# ----------------------------------------------------------------------------- images
def test_an_image_is_not_offered_when_no_engine_takes_one_and_says_why(make_window, tmp_path, monkeypatch):
    image = tmp_path / "cat.png"
    image.write_bytes(b"")
    import engines.registry

    everything = engines.registry.engine_names
    monkeypatch.setattr(engines.registry, "engine_names", lambda: [n for n in everything() if n not in ("image-to-3d", "outpaint-scene", "animate-4d")])
    window = make_window()
    assert not window._image_engines()  # none of the engines left takes an image
    asked = record_file_dialogs(monkeypatch, [str(image)])
    choose(window, "File", "Import")
    assert "*.ply" in asked[-1][2] and "*.png" not in asked[-1][2]
    assert window.errors == ["Import image: cat.png: no engine of the Generate panel takes an image."]
    assert window.document.layers == ()


def test_an_imported_or_dropped_image_becomes_the_input_of_generate(make_window, tmp_path, monkeypatch):
    image, photo = tmp_path / "cat.png", tmp_path / "dog.jpg"
    for path in (image, photo):
        path.write_bytes(b"")
    window = make_window()
    form = window.generate.forms["image-to-3d"]
    tabs = [window.generate.tabText(i) for i in range(window.generate.count())]
    window.generate.setCurrentIndex(tabs.index("text-to-3d"))  # an engine taking no image in front ...
    window.docks["Jobs"].raise_()  # ... and the Jobs dock over Generate
    asked = record_file_dialogs(monkeypatch, [str(image)])
    choose(window, "File", "Import")
    assert "*.png" in asked[-1][2]
    assert window.errors == []
    assert window.generate.tabText(window.generate.currentIndex()) == "image-to-3d"
    assert form.editor("image").findChild(QLineEdit).text() == str(image)
    assert not window.docks["Generate"].visibleRegion().isEmpty()  # the artist sees where it went

    window.docks["Jobs"].raise_()
    assert drop_files(window.viewport, [QUrl.fromLocalFile(str(photo))]) == (True, True)
    assert form.editor("image").findChild(QLineEdit).text() == str(photo)
    assert not window.docks["Generate"].visibleRegion().isEmpty() and window.errors == []
