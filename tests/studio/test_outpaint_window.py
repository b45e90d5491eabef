"""Generate > outpaint-scene from the window: the picture and its depth previewed in the tab, a run
growing a splat layer whose camera path joins the document, and a run along a document path."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from benches.outpaint import walk
from engines.runtime import JobState
from scene import GaussianCloud
from scene.camera_path import CameraPath
from scene.document import NamedPath
from studio.panels.depth_preview import DEPTH_COLOURS, DepthPreview, depth_colours
from studio.panels.path_choice import PathChoice
from tests.engines.test_outpaint_scene import picture, tiny  # noqa: F401  (the engine tests' fixtures)

ENGINE = "outpaint-scene"
FAST = {"views": 2, "steps": 2, "diffusion_steps": 2, "snapshot_every": 1}
"""A run of a few seconds on the CPU with the tiny models."""




@pytest.fixture
def scene_tab(make_window, tiny):
    """The window with the tiny models chosen in its preferences, its outpaint-scene tab showing."""
    window = make_window()
    window.resize(1000, 700)
    window.settings.model_choices = dict(tiny)
    window.generate.setCurrentIndex(next(i for i in range(window.generate.count()) if window.generate.tabText(i) == ENGINE))
    return window, window.generate.forms[ENGINE]


def run_and_wait(window, form, qtbot) -> str:
    """Click the tab's Run; the job's id once the window has taken in its end."""
    ended = []
    window.jobs.finished.connect(lambda job_id, info: ended.append(job_id))  # after the window's own slot
    qtbot.mouseClick(form.parentWidget().findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    job = window.job_manager.job_ids()[-1]
    qtbot.waitUntil(lambda: job in ended, timeout=120_000)
    assert window.job_manager.info(job).state is JobState.FINISHED, window.job_manager.info(job).error
    return job


def test_a_run_from_the_tab_grows_a_splat_layer_and_brings_its_camera_path(scene_tab, qtbot, picture, tmp_path):
    window, form = scene_tab
    form.set_value({"image": picture, "trajectory": "forward", "out": str(tmp_path / "room.ply"), **FAST})
    run_and_wait(window, form, qtbot)
    (layer,) = window.document.layers
    assert isinstance(layer.data, GaussianCloud) and len(layer.data) >= 48 * 32
    (named,) = window.document.paths
    assert named.name == "room path" and named.path == CameraPath.load(tmp_path / "room.path.json")
    assert window.errors == []


def test_a_run_along_a_document_path_submits_that_path(scene_tab, qtbot, picture, tmp_path):
    window, form = scene_tab
    window.document.add_path(NamedPath("walk", walk()))
    form.set_value({"image": picture, "trajectory": "lookdown", "out": str(tmp_path / "walked.ply"), **FAST})
    choice = form.parentWidget().findChild(PathChoice)
    choice.combo.showPopup()  # opening the list lists the document's paths as they are now
    assert [choice.combo.itemText(i) for i in range(choice.combo.count())] == ["lookdown (as typed)", "walk"]
    choice.combo.hidePopup()
    choice.choose("walk")
    assert not form.editor("trajectory").isEnabled()  # the document path wins: the typed one is greyed out
    job = run_and_wait(window, form, qtbot)
    submitted = Path(window.job_manager.info(job).run_dir) / "trajectory.json"
    assert window.document.layers[0].provenance.config["trajectory"] == str(submitted)
    assert CameraPath.load(submitted) == walk()
    assert window.document.paths[-1].path == walk()  # the scene grew along it: it comes back as the scene's path
    assert form.value().trajectory == "lookdown"  # the field keeps what was typed


def test_a_path_gone_from_the_document_is_named_instead_of_running(scene_tab, qtbot, picture, tmp_path):
    window, form = scene_tab
    named = window.document.add_path(NamedPath("walk", walk()))
    form.set_value({"image": picture, "out": str(tmp_path / "gone.ply"), **FAST})
    form.parentWidget().findChild(PathChoice).choose("walk")
    window.document.remove_path(named.id)
    qtbot.mouseClick(form.parentWidget().findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    assert window.job_manager.job_ids() == []
    assert "'walk' is no longer in the document" in form.parentWidget().findChild(QLabel, "error").text()


def test_the_picture_and_its_depth_show_under_the_form(scene_tab, qtbot, picture):
    window, form = scene_tab
    preview = form.parentWidget().findChild(DepthPreview)
    assert not preview.depth_button.isEnabled()  # no picture yet
    form.set_field("image", picture)
    qtbot.waitUntil(lambda: preview.picture.image is not None, timeout=10_000)
    assert (preview.picture.image.width(), preview.picture.image.height()) == (48, 32)
    qtbot.mouseClick(preview.depth_button, Qt.MouseButton.LeftButton)
    assert not preview.depth_button.isEnabled()  # estimating, on a worker thread: the window stays live
    qtbot.waitUntil(lambda: preview.depth.image is not None, timeout=60_000)
    assert (preview.depth.image.width(), preview.depth.image.height()) == (48, 32)
    assert "near is bright" in preview.depth_note.text() and preview.depth_button.isEnabled()
    form.set_field("depth_model", "another")
    assert preview.depth.image is None  # it no longer shows what the run would see


def test_a_bad_picture_or_a_missing_depth_model_is_named_in_place(scene_tab, qtbot, picture, tmp_path):
    window, form = scene_tab
    preview = form.parentWidget().findChild(DepthPreview)
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    form.set_field("image", str(tmp_path / "broken.png"))
    qtbot.waitUntil(lambda: "cannot be read as a picture" in preview.message.text(), timeout=10_000)
    assert not preview.message.isHidden() and preview.picture.image is None and not preview.depth_button.isEnabled()
    form.set_field("image", picture)
    form.set_field("depth_model", str(tmp_path / "no-depth-model"))
    qtbot.waitUntil(lambda: preview.depth_button.isEnabled(), timeout=10_000)
    assert preview.message.isHidden()
    qtbot.mouseClick(preview.depth_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "no-depth-model" in preview.depth_note.text(), timeout=30_000)
    assert preview.depth.image is None and window.errors == []


def test_depth_colours_put_the_near_bright_for_either_kind_of_estimate():
    ramp = np.linspace(0.0, 1.0, 50, dtype=np.float32)[None, :].repeat(4, axis=0)  # grows to the right
    disparity, metric = depth_colours(ramp, "disparity"), depth_colours(ramp, "metric")
    brightness = disparity.astype(float).sum(axis=-1)[0]
    assert (np.diff(brightness) >= 0).all() and brightness[-1] > brightness[0]  # larger disparity: nearer
    assert np.abs(metric[:, ::-1].astype(int) - disparity).max() <= 1  # larger metric depth: farther
    assert (disparity[0, -1] == DEPTH_COLOURS[-1]).all() and (disparity[0, 0] == DEPTH_COLOURS[0]).all()
