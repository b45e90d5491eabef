"""The Jobs dock on its own (no viewport): texts, buttons by state, the metric plot, against real
worker processes running the small "fit_points" engine."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

import tests.engines.runtime_engines  # noqa: F401  (registers "fit_points")
from engines.runtime import JobInfo, JobManager, JobState, Preparing, RuntimeOptions
from studio.panels.jobs import ACTIVE_STATES, JobsPanel, activity_text, format_eta, progress_text

TIMEOUT_MS = 30_000
STEPS = 300


def job_info(state: JobState, step: int = 0, total: int = 0, steps_per_s: float | None = None,
             preparing: Preparing | None = None, engine: str = "fit_points") -> JobInfo:
    return JobInfo("job-1", engine, "cpu", None, state, step, total, steps_per_s, {}, {}, None, None, None, None,
                   preparing)


def test_eta_and_progress_texts():
    assert format_eta(None) == "ETA …"
    assert format_eta(75.4) == "ETA 1:15"
    assert format_eta(3725) == "ETA 1:02:05"
    assert progress_text(job_info(JobState.RUNNING, 42, 100, steps_per_s=4.0)) == "42% — ETA 0:14"
    assert progress_text(job_info(JobState.RUNNING, 42, 100)) == "42% — ETA …"
    assert progress_text(job_info(JobState.PAUSED, 42, 100, steps_per_s=4.0)) == "42% — paused"
    assert progress_text(job_info(JobState.QUEUED)) == "0% — queued"
    assert progress_text(job_info(JobState.PREPARING, preparing=Preparing(0.4, "loading the model"))) == "40% — loading the model"
    assert progress_text(job_info(JobState.PREPARING, preparing=Preparing(None, "downloading"))) == "0% — downloading"


def test_the_activity_text_says_what_runs():
    running = job_info(JobState.RUNNING, 31, 100, steps_per_s=69 / 130, engine="reconstruct")
    assert activity_text([running]) == "reconstruct 31% — ETA 2:10"
    cancelled, finished = job_info(JobState.CANCELLED, 10, 100), job_info(JobState.FINISHED, 100, 100)
    assert activity_text([cancelled, running, finished]) == "reconstruct 31% — ETA 2:10"
    assert activity_text([running, job_info(JobState.QUEUED)]) == "reconstruct 31% — ETA 2:10 (+1 more)"
    assert activity_text([cancelled, finished]) == activity_text([]) == ""


@pytest.fixture
def panel(qtbot):
    manager = JobManager(RuntimeOptions(checkpoint_every=10))
    widget = JobsPanel(manager, interval_ms=20)
    qtbot.addWidget(widget)
    yield widget
    widget.timer.stop()
    manager.shutdown()


def enabled(panel: JobsPanel) -> set[str]:
    return {name for name, button in panel.buttons.items() if button.isEnabled()}


def click_and_wait(qtbot, panel: JobsPanel, button: str, state: JobState) -> None:
    qtbot.mouseClick(panel.buttons[button], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.jobs[panel.selected_id].state is state, timeout=TIMEOUT_MS)


def test_without_jobs_nothing_is_enabled(qtbot):
    panel = JobsPanel()
    qtbot.addWidget(panel)
    assert enabled(panel) == set() and panel.progress.text() == "No job" and not panel.timer.isActive()


def test_buttons_follow_the_state_and_act(qtbot, panel, tmp_path):
    snapshots = []
    panel.snapshot.connect(lambda job_id, key, payload: snapshots.append((key, payload.count)))
    job = panel.manager.submit("fit_points", {"steps": STEPS, "step_sleep_s": 0.01}, run_dir=tmp_path)
    qtbot.waitUntil(lambda: job in panel.jobs and panel.jobs[job].step >= 5, timeout=TIMEOUT_MS)
    assert panel.selected_id == job and enabled(panel) == {"pause", "cancel"}
    assert re.fullmatch(rf"fit_points \({job}\) — running \d+/{STEPS}", panel.list.currentItem().text())
    qtbot.waitUntil(lambda: re.fullmatch(r"\d+% — ETA \d+:\d\d", panel.progress.text()) is not None, timeout=TIMEOUT_MS)
    assert snapshots and set(snapshots) == {("main", 200)}

    click_and_wait(qtbot, panel, "pause", JobState.PAUSED)
    assert enabled(panel) == {"resume", "cancel"} and panel.progress.text().endswith("— paused")
    paused_at = panel.manager.info(job).step
    qtbot.wait(200)
    assert panel.manager.info(job).step == paused_at
    click_and_wait(qtbot, panel, "resume", JobState.RUNNING)
    assert enabled(panel) == {"pause", "cancel"}

    click_and_wait(qtbot, panel, "cancel", JobState.CANCELLED)
    cancelled_at = panel.manager.info(job).checkpoint_step
    assert cancelled_at is not None and cancelled_at > paused_at
    assert enabled(panel) == {"resume"} and panel.progress.text().endswith("— cancelled")

    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT_MS) as finished:
        qtbot.mouseClick(panel.buttons["resume"], Qt.MouseButton.LeftButton)
    job_id, info = finished.args
    assert job_id == job and info.state is JobState.FINISHED
    assert info.result.summary["first_step"] == cancelled_at + 1  # went on from the checkpoint
    assert enabled(panel) == {"open"} and panel.progress.text() == "100% — finished"
    with qtbot.waitSignal(panel.show_result) as opened:
        qtbot.mouseClick(panel.buttons["open"], Qt.MouseButton.LeftButton)
    assert opened.args == [job] and info.result.paths == [str(tmp_path / "means.npy")]

    curves = panel.plot.getPlotItem().listDataItems()
    assert [curve.name() for curve in curves] == ["loss"]
    steps, losses = curves[0].getData()
    assert list(steps) == [step for step, _ in info.metrics["loss"]] and steps[-1] == STEPS
    assert list(losses) == [value for _, value in info.metrics["loss"]] and losses[-1] < losses[0]


def test_preparing_shows_its_progress_and_cancel_stops_it(qtbot, panel):
    job = panel.manager.submit("two_outputs", {"load_s": 20.0})
    qtbot.waitUntil(lambda: job in panel.jobs and panel.jobs[job].state is JobState.PREPARING
                    and panel.progress.text().endswith("— loading the fake model"), timeout=TIMEOUT_MS)
    assert enabled(panel) == {"cancel"}
    assert re.fullmatch(rf"two_outputs \({job}\) — preparing", panel.list.currentItem().text())
    qtbot.waitUntil(lambda: panel.progress.value() >= 100, timeout=TIMEOUT_MS)  # 10 % of the load, at least
    click_and_wait(qtbot, panel, "cancel", JobState.CANCELLED)
    assert panel.manager.info(job).step == 0 and panel.progress.text() == "0% — cancelled"


def test_a_new_job_is_shown_not_the_old_cancelled_one(qtbot, panel, tmp_path):
    """The bar, the list's selection and the plot follow the job that starts; the status bar's text too."""
    activity: list[str] = []
    panel.activity.connect(activity.append)
    old = panel.manager.submit("fit_points", {"steps": STEPS, "step_sleep_s": 0.01}, run_dir=tmp_path)
    qtbot.waitUntil(lambda: old in panel.jobs and panel.jobs[old].step >= 5, timeout=TIMEOUT_MS)
    assert re.fullmatch(r"fit_points \d+% — (ETA \d+:\d\d|ETA …)", activity[-1]), activity
    click_and_wait(qtbot, panel, "cancel", JobState.CANCELLED)
    assert panel.selected_id == old and panel.progress.text().endswith("— cancelled")
    qtbot.waitUntil(lambda: activity[-1] == "", timeout=TIMEOUT_MS)  # nothing runs

    new = panel.manager.submit("fit_points", {"steps": STEPS, "step_sleep_s": 0.01, "seed": 1})
    qtbot.waitUntil(lambda: new in panel.jobs and panel.jobs[new].step >= 5, timeout=TIMEOUT_MS)
    assert panel.selected_id == new and panel.list.currentItem().text().startswith(f"fit_points ({new}) — running")
    qtbot.waitUntil(lambda: re.fullmatch(r"\d+% — ETA \d+:\d\d", panel.progress.text()) is not None, timeout=TIMEOUT_MS)
    steps, _ = panel.plot.getPlotItem().listDataItems()[0].getData()
    assert steps[-1] == panel.jobs[new].metrics["loss"][-1][0] > 0 and activity[-1].startswith("fit_points ")

    panel.select(old)  # the artist looks back at the old one: it stays shown while the new one runs
    qtbot.wait(300)
    assert panel.selected_id == old
    panel.select(new)
    panel.manager.resume(old)  # started again: shown
    qtbot.waitUntil(lambda: panel.jobs[old].state in ACTIVE_STATES, timeout=TIMEOUT_MS)
    assert panel.selected_id == old
    panel.manager.cancel(new)
    panel.manager.cancel(old)
    qtbot.waitUntil(lambda: all(panel.jobs[j].state.is_terminal for j in (old, new)), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: activity[-1] == "", timeout=TIMEOUT_MS)
