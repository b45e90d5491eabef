"""Engine jobs driven from the main window: Generate > Reconstruct streams into a layer, a killed
worker is reported and resumed from its checkpoint. Real worker processes, the real engine."""

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

from engines.runtime import JobManager, JobState, RuntimeOptions, checkpoint_step
from scene import GaussianCloud
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
    job_id = click_run(window, qtbot, dataset, steps=40, snapshot_every=4, max_splats=400)

    layer = window.document.current  # added at once, empty, as one undo step
    assert layer is not None and layer.name == "reconstruct" and layer.data.count == 0
    assert window.undo_action.text() == "&Undo Generate reconstruct"
    assert window.docks["Jobs"].widget().isVisible()
    seen: list[tuple[int, JobState]] = []  # (splats, job state) of every snapshot reaching the layer
    window.document.events.connect(
        lambda e: seen.append((window.document.layer(e.layer_id).data.count, job_state(window, job_id)))
        if e.kind == "layer_changed" and e.detail.get("live") else None
    )

    qtbot.waitUntil(lambda: re.fullmatch(r"\d+% — ETA \d+:\d\d", window.jobs.progress.text()) is not None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: job_state(window, job_id) is JobState.FINISHED, timeout=TIMEOUT_MS)

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

    open_button = window.jobs.buttons["open"]
    assert open_button.isEnabled()
    qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)  # the written PLY, as a new document
    qtbot.waitUntil(lambda: len(window.document.layers) == 1 and window.document.layers[0].name == "reconstruction")
    assert window.document.layers[0].data.count == final.count


def test_a_killed_worker_is_reported_keeps_its_layer_and_resumes(make_window, qtbot, dataset):
    window = make_window(job_manager=JobManager(RuntimeOptions(checkpoint_every=5)))
    job_id = click_run(window, qtbot, dataset, steps=40, snapshot_every=4)
    layer = window.document.current
    manager = window.job_manager
    qtbot.waitUntil(lambda: layer.data.count > 0 and (manager.info(job_id).checkpoint_step or 0) >= 10, timeout=TIMEOUT_MS)
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
