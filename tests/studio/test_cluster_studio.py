"""The studio's side of engines on a Ray cluster: the preference (where engines run, the address and
its connection test), each Generate tab's "Run on" choice reaching the job manager, where each job
runs and what the cluster has free in the Jobs dock, and a studio that opens without importing Ray.
The cluster itself is replaced here (``cluster.status``, ``cluster.connected_address``); the real
one is tested with the runtime (tests/engines/test_remote.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QPushButton, QVBoxLayout, QWidget

import tests.engines.runtime_engines  # noqa: F401  (registers "fit_points")
from engines.runtime import JobInfo, JobManager, JobState, cluster
from engines.runtime.cluster import ClusterError, ClusterStatus, NodeStatus
from studio.panels.jobs import JobsPanel
from studio.preferences import PreferencesDialog
from studio.settings import Settings, settings_path

ADDRESS = "ray://127.0.0.1:25001"
WHERE = f"{ADDRESS} · node 192.0.2.2 · GPU 0"
ROOT = Path(__file__).resolve().parents[2]


def cluster_status(address: str = ADDRESS) -> ClusterStatus:
    """Two nodes with two GPUs each, one of them busy."""
    nodes = (NodeStatus("192.0.2.1", 8, 2), NodeStatus("192.0.2.2", 8, 2))
    return ClusterStatus(address, nodes, 16, 4, 15, 3, True, None)


@pytest.fixture
def fake_cluster(monkeypatch):
    """``cluster.status`` answers :func:`cluster_status` and records the threads it ran on."""
    threads = []

    def status(address: str) -> ClusterStatus:
        threads.append(threading.current_thread())
        return cluster_status(address)

    monkeypatch.setattr(cluster, "status", status)
    return threads


# ----------------------------------------------------------------- the preference
def test_old_settings_files_load_with_jobs_here_and_the_cluster_choice_is_saved():
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"device": "cpu", "offline": True}))  # saved before clusters existed
    old = Settings.load()
    assert (old.device, old.engines_on, old.cluster_address) == ("cpu", "local", "")

    Settings(engines_on="cluster", cluster_address=ADDRESS).save()
    saved = Settings.load()
    assert (saved.engines_on, saved.cluster_address) == ("cluster", ADDRESS)

    path.write_text(json.dumps({"engines_on": "mars", "cluster_address": 7}))
    assert (Settings.load().engines_on, Settings.load().cluster_address) == ("local", "")


@pytest.fixture
def make_dialog(qtbot):
    def make(settings: Settings | None = None) -> PreferencesDialog:
        dialog = PreferencesDialog(settings or Settings())
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    yield make


def test_the_preferences_choose_a_cluster_by_its_address(make_dialog, qtbot):
    dialog = make_dialog()
    box = dialog.engines_on
    assert box.local.isChecked() and box.address.text() == "" and not box.test_button.isEnabled()
    box.on_cluster.click()
    dialog.accept()  # a cluster without an address cannot be taken
    assert dialog.isVisible() and "Give the Ray cluster's address" in box.result.text() and box.result.isVisible()
    qtbot.keyClicks(box.address, f" {ADDRESS} ")
    assert box.test_button.isEnabled()
    dialog.accept()
    assert not dialog.isVisible()
    edited = dialog.settings()
    assert (edited.engines_on, edited.cluster_address) == ("cluster", ADDRESS)

    again = make_dialog(edited)
    assert again.engines_on.on_cluster.isChecked() and again.engines_on.address.text() == ADDRESS
    again.engines_on.local.click()
    assert (again.settings().engines_on, again.settings().cluster_address) == ("local", ADDRESS)  # kept for later


def test_test_connection_says_what_the_cluster_has_from_a_worker_thread(make_dialog, qtbot, fake_cluster):
    dialog = make_dialog(Settings(cluster_address=ADDRESS))
    box = dialog.engines_on
    qtbot.mouseClick(box.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "GPUs free" in box.result.text(), timeout=10_000)
    assert box.result.text() == f"{ADDRESS}: {cluster_status().summary()}"
    assert "3 of 4 GPUs free" in box.result.text() and box.result.isVisible()
    assert fake_cluster and threading.main_thread() not in fake_cluster
    qtbot.waitUntil(box.test_button.isEnabled, timeout=10_000)  # again once the test is done


def test_test_connection_says_why_a_cluster_cannot_be_reached(make_dialog, qtbot, monkeypatch):
    def unreachable(address: str) -> ClusterStatus:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: connection refused")

    monkeypatch.setattr(cluster, "status", unreachable)
    dialog = make_dialog(Settings(engines_on="cluster", cluster_address="ray://192.0.2.9:10001"))
    box = dialog.engines_on
    qtbot.mouseClick(box.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cannot reach" in box.result.text(), timeout=10_000)
    assert box.result.text() == "cannot reach the Ray cluster at ray://192.0.2.9:10001: connection refused"
    assert "#d33" in box.result.styleSheet()


# ----------------------------------------------------------------- Run on, per job
@pytest.fixture
def cluster_window(qtbot, tmp_path):
    """A main window whose preferences run jobs on the cluster at ADDRESS; its job manager records
    what it is asked to run (``window.submitted``) and runs nothing."""
    from studio.main_window import MainWindow

    manager = JobManager()
    submitted = []

    def submit(engine, config=None, **kwargs):
        submitted.append(kwargs)
        return f"job-{len(submitted)}"

    manager.submit = submit
    window = MainWindow(Settings(engines_on="cluster", cluster_address=ADDRESS, device="cpu"),
                        recovery_folder=tmp_path / "recovery", save_settings=False, job_manager=manager)
    qtbot.addWidget(window)
    window.show_error = lambda title, text: pytest.fail(f"{title}: {text}")
    window.ask_unsaved_changes = lambda: "discard"
    window.submitted = submitted
    window.show()
    yield window
    window.runner.wait()
    window.close()


def run_button(page) -> QPushButton:
    return page.findChild(QPushButton, "run")


def test_run_on_reaches_the_job_manager(cluster_window, qtbot):
    window = cluster_window
    page = window.generate.forms["fit_points"].parentWidget()
    choice = page.findChild(QComboBox, "run_on")
    window.docks["Generate"].raise_()
    window.generate.setCurrentIndex(next(i for i in range(window.generate.count()) if window.generate.tabText(i) == "fit_points"))
    assert choice.isVisible() and choice.currentText() == f"the cluster at {ADDRESS}"  # the preference's choice
    assert [choice.itemText(i) for i in range(choice.count())] == ["this machine", f"the cluster at {ADDRESS}"]

    qtbot.mouseClick(run_button(page), Qt.MouseButton.LeftButton)
    assert window.submitted[-1]["cluster"] == ADDRESS and window.submitted[-1]["device"] == "cpu"
    choice.setCurrentIndex(0)
    qtbot.mouseClick(run_button(page), Qt.MouseButton.LeftButton)
    assert window.submitted[-1]["cluster"] is None and window.submitted[-1]["device"] == "cpu"
    assert len(window.submitted) == 2

    # new preferences: the choice follows them; without an address the tab offers no cluster
    window.settings = Settings(engines_on="local", cluster_address=ADDRESS)
    window.follow_cluster_preference()
    assert choice.isVisible() and choice.currentIndex() == 0
    window.settings = Settings(engines_on="cluster", cluster_address="")
    window.follow_cluster_preference()
    assert not choice.isVisible() and choice.count() == 1
    qtbot.mouseClick(run_button(page), Qt.MouseButton.LeftButton)
    assert window.submitted[-1]["cluster"] is None


def test_without_a_cluster_address_no_tab_offers_one(make_window):
    window = make_window()
    rows = window.generate.findChildren(QWidget, "run_on_row")
    assert rows and len(rows) == len(window.generate.forms)
    assert not any(row.isVisibleTo(window.generate) for row in rows)
    assert window.generate.run_on("fit_points") is None


# ----------------------------------------------------------------- the Jobs dock
class FakeManager:
    """Answers the Jobs dock with the given jobs, each once as news."""

    def __init__(self, *jobs: JobInfo) -> None:
        self.jobs = {job.id: job for job in jobs}
        self.news = dict(self.jobs)

    def poll(self):
        news, self.news = self.news, {}
        return {job_id: SimpleNamespace(state=job.state, snapshots={}) for job_id, job in news.items()}

    def info(self, job_id: str) -> JobInfo:
        return self.jobs[job_id]


def job(job_id: str, cluster_address: str | None, where: str, state: JobState = JobState.RUNNING) -> JobInfo:
    return JobInfo(job_id, "fit_points", "cuda", None, state, 10, 100, 2.0, {}, {}, None, None, None, None, None,
                   cluster_address, where)


@pytest.fixture
def jobs_panel(qtbot):
    hosts = []

    def make(*jobs: JobInfo) -> JobsPanel:
        host = QWidget()  # as the dock holds it (a top-level JobsPanel's "metric" box hides QWidget.metric)
        panel = JobsPanel(FakeManager(*jobs), interval_ms=20)
        QVBoxLayout(host).addWidget(panel)
        qtbot.addWidget(host)
        hosts.append(host)
        host.show()
        return panel

    return make


def test_each_job_says_where_it_runs_and_the_cluster_line_what_is_free(jobs_panel, qtbot, monkeypatch, fake_cluster):
    monkeypatch.setattr(cluster, "connected_address", lambda: ADDRESS)
    panel = jobs_panel(job("job-1", None, "this machine"), job("job-2", ADDRESS, WHERE))
    qtbot.waitUntil(lambda: panel.list.count() == 2, timeout=5000)
    assert panel.list.item(0).text().endswith("\n    on this machine")
    assert panel.list.item(1).text() == f"fit_points (job-2) — running 10/100\n    on {WHERE}"
    qtbot.waitUntil(panel.cluster_line.isVisible, timeout=5000)
    assert panel.cluster_line.text() == f"Ray cluster {ADDRESS}: {cluster_status().summary()}"
    assert "3 of 4 GPUs free, 15 of 16 CPUs free" in panel.cluster_line.text()
    assert fake_cluster and threading.main_thread() not in fake_cluster


def test_the_cluster_is_not_asked_without_a_connection_or_a_job_on_it(jobs_panel, qtbot, monkeypatch, fake_cluster):
    monkeypatch.setattr(cluster, "connected_address", lambda: None)  # whatever other tests of this process connected to
    panel = jobs_panel(job("job-1", ADDRESS, ADDRESS, JobState.QUEUED))
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=5000)
    qtbot.wait(200)  # several polls
    assert not fake_cluster and not panel.cluster_line.isVisible()  # connected_address() is None: not connected
    panel.timer.stop()

    monkeypatch.setattr(cluster, "connected_address", lambda: ADDRESS)
    finished = jobs_panel(job("job-1", None, "this machine"), job("job-2", ADDRESS, WHERE, JobState.FINISHED))
    qtbot.waitUntil(lambda: finished.list.count() == 2, timeout=5000)
    qtbot.wait(200)
    assert not fake_cluster and not finished.cluster_line.isVisible()  # no job runs or waits on the cluster
    finished.timer.stop()


def test_where_is_said_once_a_job_is_sent_to_a_cluster(jobs_panel, qtbot):
    local = jobs_panel(job("job-1", None, "this machine"))
    qtbot.waitUntil(lambda: local.list.count() == 1, timeout=5000)
    assert local.list.item(0).text() == "fit_points (job-1) — running 10/100"  # all run here: no need to say
    assert local.list.item(0).toolTip() == "Runs on this machine"


def test_a_cluster_that_stops_answering_is_said_on_the_line(jobs_panel, qtbot, monkeypatch):
    def gone(address: str) -> ClusterStatus:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: connection refused")

    monkeypatch.setattr(cluster, "connected_address", lambda: ADDRESS)
    monkeypatch.setattr(cluster, "status", gone)
    panel = jobs_panel(job("job-1", ADDRESS, WHERE))
    qtbot.waitUntil(panel.cluster_line.isVisible, timeout=5000)
    assert panel.cluster_line.text() == f"cannot reach the Ray cluster at {ADDRESS}: connection refused"


# ----------------------------------------------------------------- start-up
STARTUP = textwrap.dedent("""
    import os
    import sys
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from studio.app import set_default_gl_format
    set_default_gl_format()
    app = QApplication([])
    from studio.main_window import MainWindow
    from studio.settings import Settings
    windows = []
    for settings in (Settings(), Settings(engines_on="cluster", cluster_address="ray://127.0.0.1:25001")):
        windows.append(MainWindow(settings, recovery_folder=sys.argv[1], save_settings=False))
        windows[-1].show()
        QTest.qWaitForWindowExposed(windows[-1])
        QTest.qWait(300)  # the Jobs dock polls; the window settles
    print("ray imported:", sorted(name for name in sys.modules if name == "ray" or name.startswith("ray.")), flush=True)
    os._exit(0)  # closing a MainWindow outside pytest-qt segfaults in this Qt (HEAD too): leave at once
""")


def test_the_studio_opens_without_importing_ray(tmp_path):
    """Nothing of Ray is imported by opening the studio, with or without a cluster in the
    preferences (a connection is made by the first job sent there)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", STARTUP, str(tmp_path / "recovery")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ray imported: []" in done.stdout, done.stdout + done.stderr[-3000:]


def test_a_job_on_a_real_cluster_streams_into_a_layer_pauses_resumes_and_finishes(make_window, qtbot, ray_cluster, tmp_path):
    """The whole path: the Reconstruct tab run on the local test cluster (``tests/ray_cluster.py``)."""
    from engines.runtime import RuntimeOptions
    from scene.io import load
    from tests.studio.test_window_jobs import TIMEOUT_MS, click_run
    from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset

    write_dataset(tmp_path / "data", orbit_cameras(10, 16))
    window = make_window(job_manager=JobManager(RuntimeOptions(checkpoint_every=5)))
    window.apply_preferences(Settings(engines_on="cluster", cluster_address=ray_cluster, device="cpu"))
    job_id = click_run(window, qtbot, tmp_path / "data", steps=300, snapshot_every=4)
    manager = window.job_manager
    assert manager.info(job_id).cluster == ray_cluster
    qtbot.waitUntil(lambda: bool(window.document.layers) and window.document.current.data.count > 0, timeout=TIMEOUT_MS)
    layer = window.document.current
    qtbot.waitUntil(lambda: window.jobs.buttons["pause"].isEnabled(), timeout=TIMEOUT_MS)
    qtbot.mouseClick(window.jobs.buttons["pause"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.jobs.jobs[job_id].state is JobState.PAUSED, timeout=TIMEOUT_MS)
    assert ray_cluster in window.jobs.jobs[job_id].where and "node" in window.jobs.jobs[job_id].where
    assert window.jobs.buttons["resume"].isEnabled()
    qtbot.mouseClick(window.jobs.buttons["resume"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.jobs.jobs[job_id].state is JobState.FINISHED, timeout=TIMEOUT_MS)
    info = manager.info(job_id)
    assert window.document.layers == (layer,)
    written = load(info.result.outputs["main"])  # came back to this machine
    assert layer.data.count == len(written)
