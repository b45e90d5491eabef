"""Engine jobs driven from the main window: Generate > Reconstruct streams into a layer, a killed
worker is reported and resumed from its checkpoint, a job's output keys stream into layers of their
own, and its preparing phase shows progress and can be cancelled. Real worker processes, the real
engine (and the small ones of ``tests.engines.runtime_engines``)."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLineEdit, QPushButton

import tests.engines.runtime_engines  # noqa: F401  (registers "two_outputs" and "fit_points")
from engines.runtime import JobManager, JobState, RuntimeOptions, checkpoint_step
from scene import GaussianCloud, Layer, MeshAsset
from scene.events import LayerAdded, LayerChanged
from scene.io import load
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset
from tests.engines.test_reconstruct import TINY
from tests.studio.conftest import wait_drawn

TIMEOUT_MS = 90_000  # worker start (spawn + torch import) and a short run on a loaded 2-core machine


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """8 views of 16x16 px of a sphere, in NeRF-synthetic layout."""
    folder = tmp_path_factory.mktemp("sphere")
    cams = orbit_cameras(10, 16)
    write_dataset(folder, cams[::2] + cams[1::2][:3])
    return folder


def click_run(window, qtbot, data: Path, **values) -> str:
    """Fill the Reconstruct tab of the Generate dock as an artist would, click Run; the job's id.

    The window is made small first: software OpenGL redrawing a large one for each snapshot would
    take the CPU from the engine and make the test slow.
    """
    window.resize(900, 600)
    form = window.generate.forms["reconstruct"]
    window.docks["Generate"].raise_()
    window.generate.setCurrentIndex(next(i for i in range(window.generate.count()) if window.generate.tabText(i) == "reconstruct"))
    form.set_value({**TINY, **values})
    editor = form.editor("data")  # a line edit, or a row of one and a browse button
    line = editor if isinstance(editor, QLineEdit) else editor.findChild(QLineEdit)
    line.clear()
    qtbot.keyClicks(line, str(data))
    run = form.parentWidget().findChild(QPushButton, "run")
    assert run.isVisible()
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    return window.job_manager.job_ids()[-1]


def job_state(window, job_id: str) -> JobState | None:
    """The state the Jobs panel shows for the job (None before its first poll)."""
    info = window.jobs.jobs.get(job_id)
    return None if info is None else info.state


def rgb(image: QImage, x: int, y: int) -> np.ndarray:
    colour = image.pixelColor(x, y)
    return np.array([colour.red(), colour.green(), colour.blue()], dtype=float)


def assert_holds_the_written_ply(layer, result) -> None:
    written = load(result.paths[0])
    assert isinstance(layer.data, GaussianCloud) and layer.data.count == written.count == result.summary["splats"]
    np.testing.assert_allclose(layer.data.means, written.means, atol=1e-6)


def test_generate_reconstruct_streams_into_a_layer(make_window, qtbot, dataset):
    window = make_window()
    # densification runs until step 36 (not TINY's 16): on a loaded machine the first snapshot the
    # window shows may come late, and the growth must still be seen after it
    densify = vars(TINY["densify"]) | {"refine_stop": 36, "max_splats": 1000}
    job_id = click_run(window, qtbot, dataset, steps=40, snapshot_every=4, densify=densify)

    assert window.document.layers == ()  # the layer comes with the first snapshot
    assert window.docks["Jobs"].widget().isVisible()
    seen: list[tuple[int, JobState]] = []  # (splats, job state) of every snapshot reaching the layer
    window.document.events.connect(  # the first one adds the layer, the others replace its data
        lambda e: seen.append((window.document.layer(e.layer_id).data.count, job_state(window, job_id)))
        if isinstance(e, LayerAdded) or (isinstance(e, LayerChanged) and e.live) else None
    )

    qtbot.waitUntil(lambda: len(window.document.layers) == 1, timeout=TIMEOUT_MS)
    layer = window.document.current  # added as one undo step
    assert layer.name == "reconstruct" and layer.data.count > 0
    assert window.undo_action.text() == "&Undo Generate reconstruct"
    qtbot.waitUntil(lambda: re.fullmatch(r"\d+% — ETA \d+:\d\d", window.jobs.progress.text()) is not None, timeout=TIMEOUT_MS)
    status = window.status  # says what runs, not "idle"
    assert re.fullmatch(r"reconstruct \d+% — ETA \d+:\d\d", status.job_label.text()) and status.job_label.isVisible()
    assert status.fps_label.text() != "idle"
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FINISHED, timeout=TIMEOUT_MS)
    assert not status.job_label.isVisible() and status.job_label.text() == ""

    while_running = [count for count, state in seen if state is JobState.RUNNING]
    assert len(while_running) >= 2 and min(while_running) > 0, seen
    assert max(count for count, _ in seen) > while_running[0], f"densification should grow the cloud: {seen}"
    info = window.job_manager.info(job_id)
    assert info.device == "auto" and window.errors == []
    assert Path(info.run_dir).parent == window.settings.cache_path / "runs"
    assert Path(info.result.paths[0]).parent == Path(info.run_dir)  # reconstruction.ply in the run folder
    # a finished job cannot resume: its checkpoint is gone, its output stays
    assert checkpoint_step(info.run_dir) is None and sorted(p.name for p in Path(info.run_dir).iterdir()) == ["reconstruction.ply"]
    assert window.document.current is layer
    assert_holds_the_written_ply(layer, info.result)
    assert window.jobs.progress.text() == "100% — finished"
    metrics = window.jobs.metric
    assert [metrics.itemText(i) for i in range(metrics.count())] == ["loss", "psnr", "splats"]
    curves = {}
    for name in ("loss", "splats"):  # one metric at a time: their scales differ
        metrics.setCurrentText(name)
        (curves[name],) = [item.getData() for item in window.jobs.plot.getPlotItem().listDataItems()]
    steps, losses = curves["loss"]
    assert list(steps) == list(range(1, 41)) and np.all(np.isfinite(losses)) and losses.min() > 0
    assert curves["splats"][1].max() > 100

    final = layer.data
    window.undo_action.trigger()  # the job's layer is one undo step
    assert window.document.layers == () and window.outliner.list.count() == 0
    window.redo_action.trigger()
    assert window.document.layers == (layer,) and layer.data is final

    document, revealed = window.document, []
    window.reveal_file = revealed.append
    far_means = np.random.default_rng(1).uniform(19, 21, size=(50, 3)).astype(np.float32)
    far = document.add_layer(Layer("far away", GaussianCloud.create(far_means, 0.03, np.full((50, 3), 0.5, np.float32))))
    window.viewport.frame_selected()  # the new layer is current, and framed
    open_button = window.jobs.buttons["open"]
    assert open_button.isEnabled()
    qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)  # the job's layer, selected and framed
    assert window.document is document and document.layers == (layer, far) and document.current is layer
    target = window.viewport.controller.target
    centre = np.mean(layer.world_bounds(), axis=0)
    assert np.linalg.norm(target - centre) < 0.5 * np.linalg.norm(np.ptp(layer.world_bounds(), axis=0)), (target, centre)
    assert revealed == []

    document.remove_layer(layer.id)  # the layer is gone: its file is shown in the file manager
    qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
    assert revealed == [info.result.paths[0]] and window.document is document and document.layers == (far,)


def test_a_killed_worker_is_reported_keeps_its_layer_and_resumes(make_window, qtbot, dataset):
    window = make_window(job_manager=JobManager(RuntimeOptions(checkpoint_every=5)))
    job_id = click_run(window, qtbot, dataset, steps=40, snapshot_every=4)
    manager = window.job_manager
    qtbot.waitUntil(lambda: bool(window.document.layers) and (manager.info(job_id).checkpoint_step or 0) >= 10, timeout=TIMEOUT_MS)
    layer = window.document.current
    killed_pid = manager.info(job_id).pid
    os.kill(killed_pid, signal.SIGKILL)

    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FAILED, timeout=TIMEOUT_MS)
    assert len(window.errors) == 1
    assert window.errors[0].startswith("Generate reconstruct failed: the worker process was killed (signal 9, SIGKILL)")
    info = manager.info(job_id)
    assert window.isVisible() and window.document.layers == (layer,) and layer.visible
    assert layer.data.count > 0
    np.testing.assert_array_equal(layer.data.means, info.snapshot.means)  # the last snapshot stays

    window.viewport.frame_selected()
    wait_drawn(qtbot, window)
    drawn = window.viewport.grabFramebuffer()
    assert window.viewport.renderer is not None, window.viewport.gl_error
    window.document.set_layer(layer.id, visible=False)
    wait_drawn(qtbot, window)
    hidden = window.viewport.grabFramebuffer()
    window.document.undo()
    camera = window.viewport.camera()
    uv, _ = camera.project(np.mean(layer.world_bounds(), axis=0)[None])
    x, y = int(uv[0, 0] * drawn.width() / camera.width), int(uv[0, 1] * drawn.height() / camera.height)
    patch = [np.abs(rgb(drawn, x + dx, y + dy) - rgb(hidden, x + dx, y + dy)).max() for dx in range(-6, 7, 3) for dy in range(-6, 7, 3)]
    assert np.median(patch) > 10, f"the kept cloud should be drawn in the middle of its bounds: {patch}"
    assert np.all(rgb(drawn, 2, 2) == rgb(hidden, 2, 2)), "and nothing in the corner"

    resumed_from = info.checkpoint_step
    resume = window.jobs.buttons["resume"]
    assert window.jobs.selected_id == job_id and resume.isEnabled() and not window.jobs.buttons["pause"].isEnabled()
    qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FINISHED, timeout=TIMEOUT_MS)

    kept = [step for step, _ in info.metrics["loss"] if step <= resumed_from]
    info = manager.info(job_id)
    assert info.pid is None and [step for step, _ in info.metrics["loss"]] == kept + list(range(resumed_from + 1, 41))
    assert len(window.errors) == 1 and window.document.layers == (layer,)
    assert_holds_the_written_ply(layer, info.result)


def test_the_jobs_dock_shows_the_job_that_starts_not_the_cancelled_one(make_window, qtbot):
    window = make_window()
    old = window.run_engine("two_outputs", {"load_s": 30.0})
    qtbot.waitUntil(lambda: job_state(window, old) is JobState.PREPARING, timeout=TIMEOUT_MS)
    assert window.status.job_label.text().startswith("two_outputs ")
    qtbot.mouseClick(window.jobs.buttons["cancel"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job_state(window, old) is JobState.CANCELLED, timeout=TIMEOUT_MS)
    assert window.jobs.selected_id == old and window.status.job_label.text() == ""
    new = window.run_engine("two_outputs", {"load_s": 30.0})
    qtbot.waitUntil(lambda: job_state(window, new) is JobState.PREPARING, timeout=TIMEOUT_MS)
    assert window.jobs.selected_id == new and window.jobs.buttons["cancel"].isEnabled()
    assert window.jobs.progress.text().endswith("— loading the fake model")
    window.job_manager.cancel(new)
    qtbot.waitUntil(lambda: job_state(window, new) is JobState.CANCELLED, timeout=TIMEOUT_MS)


def test_each_output_key_streams_into_a_layer_of_its_own(make_window, qtbot):
    """A cloud under the main key, then a mesh under "mesh": two layers, each made on its key's
    first snapshot and holding the key's last one."""
    window = make_window()
    window.resize(900, 600)
    job_id = window.run_engine("two_outputs", {"load_s": 0.5, "steps": 20, "step_sleep_s": 0.05})
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.PREPARING, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.jobs.progress.text().endswith("— loading the fake model"), timeout=TIMEOUT_MS)
    assert window.document.layers == ()
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FINISHED, timeout=TIMEOUT_MS)

    cloud, mesh = window.document.layers
    assert (cloud.name, mesh.name) == ("two_outputs", "two_outputs mesh") and window.errors == []
    assert isinstance(cloud.data, GaussianCloud) and isinstance(mesh.data, MeshAsset)
    np.testing.assert_allclose(cloud.data.means, np.full((50, 3), 0.1), atol=1e-6)  # the last cloud (step 10)
    np.testing.assert_allclose(mesh.data.vertices, np.eye(3))  # the last mesh (step 20)
    assert window.job_layers.layer_ids(job_id) == {"main": cloud.id, "mesh": mesh.id}


def test_the_preparing_phase_shows_progress_and_can_be_cancelled(make_window, qtbot):
    window = make_window()
    job_id = window.run_engine("two_outputs", {"load_s": 30.0})
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.PREPARING
                    and window.jobs.progress.value() > 0, timeout=TIMEOUT_MS)  # 10 % after 3 s
    assert re.fullmatch(r"\d+% — loading the fake model", window.jobs.progress.text())
    cancel = window.jobs.buttons["cancel"]
    assert cancel.isEnabled() and not window.jobs.buttons["pause"].isEnabled()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.CANCELLED, timeout=5_000)
    assert window.document.layers == () and window.errors == []


def test_a_job_whose_output_cannot_be_written_fails_while_preparing(make_window, qtbot, tmp_path):
    window = make_window()
    out = tmp_path / "missing" / "means.npy"
    job_id = window.run_engine("fit_points", {"out": str(out)})
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FAILED, timeout=TIMEOUT_MS)
    assert window.errors == [
        f"Generate fit_points failed: out: cannot write {out}: the folder {out.parent} does not exist"
    ]
    assert window.job_manager.info(job_id).step == 0 and window.document.layers == ()


def test_jobs_get_the_preferences_checkpoint_interval_and_worker_settings(make_window, qtbot, tmp_path):
    window = make_window()
    window.settings.model_folders = [str(tmp_path / "models")]
    window.settings.offline = True
    window.settings.checkpoint_every_s = 7
    manager, submitted = window.job_manager, []
    submit = manager.submit
    manager.submit = lambda *args, **kwargs: submitted.append(kwargs) or submit(*args, **kwargs)
    job_id = window.run_engine("two_outputs", {"load_s": 0.0, "steps": 1})
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FINISHED, timeout=TIMEOUT_MS)
    summary = manager.info(job_id).result.summary
    assert summary["model_folders"] == [str(tmp_path / "models")] and summary["offline"] is True
    assert summary["cache_folder"] == str(window.settings.cache_path)
    assert submitted[0]["options"] == RuntimeOptions(checkpoint_every_s=7.0)


def test_a_missing_model_fails_the_job_in_seconds_with_one_clear_message(make_window, qtbot, tmp_path, monkeypatch):
    """Offline, with nothing cached: the run fails while preparing, naming the model and its role and how
    to get it, without a traceback; the window and the document stay as they were."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))  # the worker inherits it: nothing cached
    window = make_window()
    window.settings.offline = True
    job_id = window.run_engine("uses_model", {"role": "depth"})
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FAILED, timeout=10_000)
    assert window.errors == [
        "Generate uses_model failed: the depth model depth-anything/Depth-Anything-V2-Small-hf is not on this machine "
        "and downloads are off; download it with `atelier4d models download depth` (or Preferences > Models) where "
        "there is internet, or choose a local folder with `atelier4d models use depth FOLDER`"
    ]
    assert window.job_manager.info(job_id).error.traceback is None and window.document.layers == ()
    assert window.isVisible()
