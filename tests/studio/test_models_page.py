"""Preferences > Models: each role's model, where it is, and getting, checking, choosing and removing it.

The models are tiny real-layout ones (:mod:`tests.tiny_models`); the hub is replaced at its boundary
(``huggingface_hub.snapshot_download``), as in the CLI's tests, and its cache is this test's own.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog

from engines.models import ROLES
from engines.models.inventory import folder_size, size_text
from studio.preferences import PreferencesDialog
from studio.settings import Settings

HUB_ID = "someone/depth-model"


pytestmark = pytest.mark.usefixtures("hub_cache")  # an empty cache of each test's own, downloads off


def _no_dialog(*args):
    raise AssertionError("a test must not open a modal dialog")


@pytest.fixture
def make_dialog(qtbot):
    def make(settings: Settings | None = None) -> PreferencesDialog:
        dialog = PreferencesDialog(settings or Settings())
        dialog.models.ask_folder = _no_dialog
        dialog.models.ask_confirm = _no_dialog
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.tabs.setCurrentWidget(dialog.models)
        return dialog

    return make


def wait_done(qtbot, row, timeout: int = 30000) -> None:
    """Until the row's download or check has ended and the page shows the outcome."""
    qtbot.waitUntil(lambda: row.task is None, timeout=timeout)


def hub_with(monkeypatch, depth_folder, tmp_path, updates: int = 4, pause_s: float = 0.0):
    """Replace the hub: ``HUB_ID`` arrives as a copy of the tiny depth model after ``updates`` progress
    steps; afterwards it is in the cache. Returns the record of the steps taken."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    target = tmp_path / "snapshot"
    steps = []

    def snapshot_download(repo_id, *, local_files_only=False, tqdm_class=None, **_):
        if local_files_only:
            if repo_id == HUB_ID and target.is_dir():
                return str(target)
            raise LocalEntryNotFoundError("not cached")
        bar = tqdm_class(total=updates, disable=True)
        for _ in range(updates):
            time.sleep(pause_s)
            bar.update(1)
            steps.append(threading.current_thread().name)
        shutil.copytree(depth_folder, target)
        return str(target)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return steps


def test_every_role_is_listed_with_its_default_and_not_here(make_dialog):
    dialog = make_dialog()
    page = dialog.models
    assert list(page.rows) == list(ROLES)
    for name, row in page.rows.items():
        assert row.title() == f"{ROLES[name].label} ({name})"
        assert row.choice_edit.text() == "" and ROLES[name].default in row.choice_edit.placeholderText()
        assert row.status_label.text().startswith("Not here")
        assert row.download_button.isEnabled() and not row.verify_button.isEnabled() and not row.remove_button.isEnabled()
    assert page.total_label.text() == "0 of 6 roles have their model on this machine, 0.0 MB on disk in all."
    assert "Downloads are off" in page.intro.text()


def test_a_chosen_folder_is_here_with_its_size_and_ok_saves_it(make_dialog, depth_folder):
    dialog = make_dialog()
    page, row = dialog.models, dialog.models.rows["depth"]
    asked = []
    page.ask_folder = lambda role: asked.append(role.name) or str(depth_folder)
    row.folder_button.click()
    size = size_text(folder_size(depth_folder))
    assert asked == ["depth"] and row.choice_edit.text() == str(depth_folder)
    assert row.status_label.text() == f"Here, your own folder: {size}"
    assert row.verify_button.isEnabled() and not row.download_button.isEnabled() and not row.remove_button.isEnabled()
    assert page.total_label.text() == f"1 of 6 roles have their model on this machine, {size} on disk in all."
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.settings().model_choices == {"depth": str(depth_folder)}

    row.reset_button.click()  # back to the default
    assert row.choice_edit.text() == "" and row.status_label.text().startswith("Not here")
    assert dialog.settings().model_choices == {}


@pytest.mark.parametrize(("remove", "message"), [
    ("preprocessor_config.json", "has no image processor (preprocessor_config.json)"),
    ("model.safetensors", "has no weights"),
])
def test_a_folder_that_is_not_a_model_for_the_role_is_refused_naming_the_part(make_dialog, depth_folder, tmp_path, remove, message):
    dialog = make_dialog()
    page, row = dialog.models, dialog.models.rows["depth"]
    broken = tmp_path / "broken"
    shutil.copytree(depth_folder, broken)
    (broken / remove).unlink()
    page.ask_folder = lambda role: str(broken)
    row.folder_button.click()
    assert message in row.message_label.text() and row.message_label.isVisible()
    assert row.status_label.text().startswith("Not here") and row.choice_edit.text() == ""
    assert dialog.settings().model_choices == {}


def test_a_typed_hub_id_is_the_choice_and_nonsense_keeps_the_dialog_open(make_dialog):
    dialog = make_dialog()
    row = dialog.models.rows["text"]
    row.choice_edit.setText("not a model id!")
    dialog.tabs.setCurrentIndex(0)
    dialog.accept()
    assert dialog.isVisible() and dialog.tabs.currentWidget() is dialog.models
    assert "neither a hub id (organisation/name, optionally @revision) nor a folder" in row.message_label.text()
    row.choice_edit.setText("someone/text-model@v2")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.settings().model_choices == {"text": "someone/text-model@v2"}


def test_download_offline_says_why_and_the_dialog_stays(qtbot, make_dialog):
    dialog = make_dialog()
    row = dialog.models.rows["text"]
    row.download_button.click()
    wait_done(qtbot, row)
    text = row.message_label.text()
    assert "the text model stabilityai/stable-diffusion-2-1-base is not on this machine and downloads are off" in text
    assert "Traceback" not in text and "Error" not in text
    assert dialog.isVisible() and row.status_label.text().startswith("Not here") and row.download_button.isEnabled()


def test_download_from_the_hub_shows_progress_then_the_model_here(qtbot, make_dialog, depth_folder, tmp_path, monkeypatch):
    hub_with(monkeypatch, depth_folder, tmp_path)
    dialog = make_dialog()
    row = dialog.models.rows["depth"]
    shown = []
    row.progress_bar.valueChanged.connect(shown.append)
    row.choice_edit.setText(HUB_ID)
    row.download_button.click()
    assert row.progress_bar.isVisible() and row.cancel_button.isVisible() and not row.download_button.isEnabled()
    wait_done(qtbot, row)
    assert shown[-1] == 1000 and shown == sorted(shown) and len(shown) >= 4
    assert row.message_label.text() == f"The depth model {HUB_ID} is in {tmp_path / 'snapshot'}"
    assert row.status_label.text() == f"Here, downloaded: {size_text(folder_size(depth_folder))}"
    assert not row.progress_bar.isVisible() and row.remove_button.isEnabled() and row.verify_button.isEnabled()
    assert dialog.settings().model_choices == {"depth": HUB_ID}


def test_cancel_stops_a_download(qtbot, make_dialog, depth_folder, tmp_path, monkeypatch):
    steps = hub_with(monkeypatch, depth_folder, tmp_path, updates=2000, pause_s=0.005)
    dialog = make_dialog()
    row = dialog.models.rows["depth"]
    row.choice_edit.setText(HUB_ID)
    row.download_button.click()
    qtbot.waitUntil(lambda: row.progress_bar.value() > 0, timeout=10000)
    row.cancel_button.click()
    wait_done(qtbot, row)
    taken = len(steps)
    time.sleep(0.1)
    assert len(steps) == taken < 2000  # stopped, not finished in the background
    assert row.message_label.text() == "Downloading the depth model cancelled"
    assert row.status_label.text().startswith("Not here") and not (tmp_path / "snapshot").exists()


def test_verify_says_whether_the_model_loads(qtbot, make_dialog, depth_folder, tmp_path):
    dialog = make_dialog(Settings(model_choices={"depth": str(depth_folder)}))
    row = dialog.models.rows["depth"]
    assert row.choice_edit.text() == str(depth_folder)
    row.verify_button.click()
    wait_done(qtbot, row)
    assert row.message_label.text() == "OK: the depth model is complete and loads as AutoModelForDepthEstimation"

    unloadable = tmp_path / "unloadable"  # every part there, but not a depth model inside
    shutil.copytree(depth_folder, unloadable)
    (unloadable / "config.json").write_text('{"model_type": "no-such-model"}')
    dialog.models.ask_folder = lambda role: str(unloadable)
    row.folder_button.click()
    row.verify_button.click()
    wait_done(qtbot, row)
    assert f"the depth model in {unloadable} could not be loaded as AutoModelForDepthEstimation" in row.message_label.text()


def test_pickle_weights_follow_the_checkbox(make_dialog, depth_folder, tmp_path):
    import torch
    from transformers import AutoModelForDepthEstimation

    pickled = tmp_path / "pickled"
    shutil.copytree(depth_folder, pickled)
    torch.save(AutoModelForDepthEstimation.from_pretrained(pickled).state_dict(), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    dialog = make_dialog(Settings(allow_pickle_models=["video"]))
    page, row = dialog.models, dialog.models.rows["depth"]
    assert page.rows["video"].pickle_box.isChecked() and not row.pickle_box.isChecked()
    assert row.pickle_box.toolTip() == "pickle weights (.bin/.ckpt) can run code when loaded; allow only for models you trust"
    page.ask_folder = lambda role: str(pickled)
    row.folder_button.click()
    assert "has only pickle weights (pytorch_model.bin)" in row.message_label.text()
    row.pickle_box.click()
    row.folder_button.click()
    assert dialog.settings().allow_pickle_models == ["video", "depth"]
    assert dialog.settings().model_choices == {"depth": str(pickled)}
    page.rows["video"].pickle_box.click()
    assert dialog.settings().allow_pickle_models == ["depth"]


def _cache_entry(cache, repo_id, folder):
    """``folder``'s files as a download of ``repo_id`` in huggingface_hub's cache layout."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    for path in folder.rglob("*"):
        if path.is_file():
            blob = repo / "blobs" / hashlib.sha256(path.read_bytes()).hexdigest()
            blob.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, blob)
            link = repo / "snapshots" / commit / path.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(blob)
    return repo


def test_remove_from_cache_deletes_a_download_once_confirmed(make_dialog, depth_folder, hub_cache):
    repo = _cache_entry(hub_cache, HUB_ID, depth_folder)
    dialog = make_dialog(Settings(model_choices={"depth": HUB_ID}))
    page, row = dialog.models, dialog.models.rows["depth"]
    size = size_text(folder_size(depth_folder))
    assert row.status_label.text() == f"Here, downloaded: {size}" and row.remove_button.isEnabled()
    questions = []
    page.ask_confirm = lambda title, question: questions.append(question) and False
    row.remove_button.click()
    assert repo.is_dir() and questions == [
        f"Delete the downloaded depth model {HUB_ID} ({size}) from the cache? It will need downloading again."]
    page.ask_confirm = lambda title, question: True
    row.remove_button.click()
    assert not repo.exists() and row.status_label.text().startswith("Not here")
    assert row.message_label.text() == f"Removed {HUB_ID} from the cache ({size} freed)"
    assert not row.remove_button.isEnabled() and row.download_button.isEnabled()


def test_the_models_page_looks_in_the_model_folders_of_the_general_tab(make_dialog, depth_folder, tmp_path):
    root = tmp_path / "my-models"
    (root / "depth-anything").mkdir(parents=True)
    (root / "depth-anything" / "Depth-Anything-V2-Small-hf").symlink_to(depth_folder)
    dialog = make_dialog()
    row = dialog.models.rows["depth"]
    assert row.status_label.text().startswith("Not here")
    dialog.tabs.setCurrentIndex(0)
    dialog.general.set_field("model_folders", [str(root)])
    dialog.tabs.setCurrentWidget(dialog.models)
    assert row.status_label.text().startswith("Here, in one of your model folders")


def test_preferences_from_the_window_return_both_tabs_edits(qtbot, make_window, depth_folder):
    window = make_window()
    window.settings.model_choices = {"text": "someone/text-model"}

    def edit(accept: bool):
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, PreferencesDialog)
        dialog.general.set_field("autosave_interval_s", 30)
        dialog.models.ask_folder = lambda role: str(depth_folder)
        dialog.models.rows["depth"].folder_button.click()
        dialog.accept() if accept else dialog.reject()

    QTimer.singleShot(0, lambda: edit(True))
    edited = window.edit_preferences()
    assert edited.autosave_interval_s == 30
    assert edited.model_choices == {"text": "someone/text-model", "depth": str(depth_folder)}
    QTimer.singleShot(0, lambda: edit(False))
    assert window.edit_preferences() is None


def test_removing_a_model_two_roles_share_says_so_and_both_lose_it(make_dialog, depth_folder, hub_cache):
    default = ROLES["text"].default  # the refiner's default too
    _cache_entry(hub_cache, default, depth_folder)  # any files do: where a model is does not depend on them
    dialog = make_dialog()
    page = dialog.models
    assert page.rows["refiner"].status_label.text().startswith("Here, downloaded")
    assert page.total_label.text().startswith("2 of 6 roles") and page.total_label.text().endswith(
        f"{size_text(folder_size(depth_folder))} on disk in all.")  # one folder, counted once
    questions = []
    page.ask_confirm = lambda title, question: questions.append(question) or True
    page.rows["text"].remove_button.click()
    assert "The refiner role uses it too." in questions[0]
    assert all(page.rows[name].status_label.text().startswith("Not here") for name in ("text", "refiner"))


def test_a_chosen_folder_that_has_gone_shows_as_not_here_and_ok_keeps_it(make_dialog, tmp_path):
    gone = tmp_path / "gone"
    dialog = make_dialog(Settings(model_choices={"depth": str(gone)}))
    row = dialog.models.rows["depth"]
    assert row.choice_edit.text() == str(gone) and row.status_label.text().startswith("Not here")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.settings().model_choices == {"depth": str(gone)}


def test_a_download_goes_on_in_the_window_after_the_dialog_closes(qtbot, make_window, depth_folder, tmp_path, monkeypatch):
    hub_with(monkeypatch, depth_folder, tmp_path, updates=20, pause_s=0.02)
    window = make_window()

    def start_download_then_ok():
        dialog = QApplication.activeModalWidget()
        row = dialog.models.rows["depth"]
        row.choice_edit.setText(HUB_ID)
        row.download_button.click()
        dialog.accept()

    QTimer.singleShot(0, start_download_then_ok)
    edited = window.edit_preferences()
    assert edited.model_choices == {"depth": HUB_ID}
    assert window.status.task_label.text().startswith("Downloading the depth model")
    qtbot.waitUntil(lambda: not window.runner.running, timeout=20000)
    assert (tmp_path / "snapshot" / "model.safetensors").is_file()


def test_quitting_during_a_download_stops_it_instead_of_waiting_for_it(qtbot, make_window, depth_folder, tmp_path, monkeypatch):
    steps = hub_with(monkeypatch, depth_folder, tmp_path, updates=4000, pause_s=0.005)  # 20 s if left to finish
    window = make_window()

    def start_download_then_ok():
        dialog = QApplication.activeModalWidget()
        dialog.models.rows["depth"].choice_edit.setText(HUB_ID)
        dialog.models.rows["depth"].download_button.click()
        dialog.accept()

    QTimer.singleShot(0, start_download_then_ok)
    window.edit_preferences()
    qtbot.waitUntil(lambda: len(steps) > 0, timeout=10000)
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 5 and len(steps) < 4000
    assert not (tmp_path / "snapshot").exists()
