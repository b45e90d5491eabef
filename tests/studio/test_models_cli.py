"""``atelier4d models``: list, download, verify and use, on tiny real-layout models."""

import json
import shutil
import time

import pytest

from studio.cli import main
from studio.settings import Settings


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


pytestmark = pytest.mark.usefixtures("hub_cache")  # an empty cache of each test's own, downloads off


def test_list_shows_every_role_and_where_its_model_is(capsys):
    status, out, _ = run_cli(capsys, "models", "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [r["role"] for r in rows] == ["text", "novel-view", "inpaint", "depth", "video", "refiner"]
    assert all(r["where"] == "missing" and r["default"] for r in rows)
    assert rows[3]["choice"] == "depth-anything/Depth-Anything-V2-Small-hf"


def test_use_a_folder_then_list_and_verify_it(capsys, depth_folder):
    status, out, _ = run_cli(capsys, "models", "use", "depth", depth_folder)
    assert status == 0 and f"the depth role uses {depth_folder}" in out
    assert Settings.load().model_choices == {"depth": str(depth_folder)}
    _, out, _ = run_cli(capsys, "models", "list")
    assert f"folder: {depth_folder}" in out and "(your choice)" in out
    status, out, _ = run_cli(capsys, "models", "verify", "depth")
    assert status == 0 and "depth       ok" in out
    status, out, _ = run_cli(capsys, "models", "verify")  # every role that is here
    assert status == 0 and "text        not here (skipped)" in out and "depth       ok" in out
    status, out, _ = run_cli(capsys, "models", "use", "depth", "default")
    assert status == 0 and Settings.load().model_choices == {}


def test_a_broken_folder_is_refused_with_the_part_named(capsys, depth_folder, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(depth_folder, broken)
    (broken / "model.safetensors").unlink()
    status, _, err = run_cli(capsys, "models", "use", "depth", broken)
    assert status == 1 and "has no weights" in err and Settings.load().model_choices == {}
    status, _, err = run_cli(capsys, "models", "use", "colour", broken)
    assert status == 1 and "no model role 'colour'; the roles are text, novel-view" in err


def test_pickle_weights_need_the_users_permission(capsys, depth_folder, tmp_path):
    import torch
    from transformers import AutoModelForDepthEstimation

    pickled = tmp_path / "pickled"
    shutil.copytree(depth_folder, pickled)
    torch.save(AutoModelForDepthEstimation.from_pretrained(pickled).state_dict(), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    status, _, err = run_cli(capsys, "models", "use", "depth", pickled)
    assert status == 1 and "--allow-pickle-weights" in err
    status, out, _ = run_cli(capsys, "models", "use", "depth", pickled, "--allow-pickle-weights")
    assert status == 0 and "(pickle weights allowed)" in out and Settings.load().allow_pickle_models == ["depth"]
    status, out, _ = run_cli(capsys, "models", "verify", "depth")
    assert status == 0 and "ok" in out


def test_download_a_folder_copies_it_in_and_uses_it(capsys, depth_folder):
    status, out, err = run_cli(capsys, "models", "download", "depth", depth_folder)
    target = Settings.load().cache_path / "models" / depth_folder.name
    assert status == 0 and (target / "model.safetensors").is_file() and "100%" in err
    assert Settings.load().model_choices["depth"] == str(target)


def test_download_offline_fails_fast_naming_the_model(capsys):
    started = time.monotonic()
    status, _, err = run_cli(capsys, "models", "download", "text")
    assert status == 1 and time.monotonic() - started < 10
    assert "the text model stabilityai/stable-diffusion-2-1-base is not on this machine and downloads are off" in err


def test_download_from_the_hub_shows_progress(capsys, depth_folder, tmp_path, monkeypatch):
    """The hub is replaced at its boundary (``snapshot_download``); everything else is the real path."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    def snapshot_download(repo_id, *, local_files_only=False, tqdm_class=None, **_):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        bar = tqdm_class(total=2, disable=True)
        bar.update(1)
        bar.update(1)
        target = tmp_path / "snapshot"
        shutil.copytree(depth_folder, target)
        return str(target)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    status, out, err = run_cli(capsys, "models", "download", "depth", "someone/depth-model@main")
    assert status == 0 and "100%" in err
    assert f"is in {tmp_path / 'snapshot'}" in out
    assert "switch with: atelier4d models use depth someone/depth-model@main" in out
