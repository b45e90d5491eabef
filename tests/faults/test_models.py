"""``atelier4d models`` under faults: a model folder copied into the cache on a full disk or killed at any
moment, and the preferences written on a full disk. The promise: the cache holds the earlier copy or
the whole new one (never half a model, which would load wrong or not at all), the preferences the
earlier ones or the new ones, and a failure is one line naming the user's path."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.faults import report
from tests.faults.conftest import KILL_SEED, KILLS, end_group, run_cli, start_cli
from tests.faults.test_writers import snapshot, visible

FULL_AFTER = 4096
"""Bytes a file may grow to on the "full disk": more than a model's configs and the preferences, less than its weights."""


@pytest.fixture
def homes(tmp_path) -> dict[str, str]:
    """The environment of a child with preferences and caches of this test's own, downloads off."""
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1",
    }


@pytest.fixture
def versions(depth_folder, tmp_path) -> tuple[Path, Path]:
    """Two versions of one model folder (the same name), the second with a file more."""
    old, new = tmp_path / "v1" / "depth", tmp_path / "v2" / "depth"
    shutil.copytree(depth_folder, old)
    shutil.copytree(depth_folder, new)
    (new / "NOTES.md").write_text("the second version\n")
    assert (new / "model.safetensors").stat().st_size > FULL_AFTER
    return old, new


def models_folder(homes: dict[str, str]) -> Path:
    return Path(homes["XDG_CACHE_HOME"]) / "atelier4d" / "models"


def preferences(homes: dict[str, str]) -> Path:
    return Path(homes["XDG_CONFIG_HOME"]) / "atelier4d" / "settings.json"


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("atelier4d: error: ") and ".part" not in lines[0], lines
    return lines[0]


def test_a_full_disk_keeps_the_earlier_copy_of_a_model(homes, versions) -> None:
    report.tried("models download", "full disk")
    old, new = versions
    status, _, err = run_cli(["models", "download", "depth", old], env=homes)
    assert status == 0, err
    cache, before_preferences = snapshot(models_folder(homes)), preferences(homes).read_bytes()
    status, out, err = run_cli(["models", "download", "depth", new], rlimit_fsize=FULL_AFTER, env=homes)
    assert status == 1 and "copied" not in out
    line = one_line(err.splitlines()[-1])  # on a line of its own, after the progress bar's
    assert "disk is full" in line and str(models_folder(homes) / "depth") in line
    assert snapshot(models_folder(homes)) == cache  # the earlier copy whole, nothing half-written beside it
    assert preferences(homes).read_bytes() == before_preferences


@pytest.mark.parametrize("kill", range(KILLS))
def test_a_kill_at_any_moment_leaves_the_earlier_model_or_the_new(homes, versions, kill) -> None:
    report.tried("models download", "SIGKILL")
    old, new = versions
    status, _, err = run_cli(["models", "download", "depth", old], env=homes)
    assert status == 0, err
    started = time.monotonic()
    status, _, err = run_cli(["models", "download", "depth", new], env=homes)
    took = time.monotonic() - started
    assert status == 0, err
    finished = snapshot(models_folder(homes))
    status, _, err = run_cli(["models", "download", "depth", old], env=homes)
    earlier = snapshot(models_folder(homes))

    moment = random.Random(f"{KILL_SEED}-models-{kill}").uniform(0.6 * took if kill % 2 else 0.0, took)
    cli = start_cli(["models", "download", "depth", new], env=homes)
    try:
        time.sleep(moment)
        os.killpg(cli.pid, signal.SIGKILL)
    finally:
        end_group(cli)
    assert visible(snapshot(models_folder(homes))) in (visible(earlier), visible(finished)), f"killed after {moment:.2f} s"
    json.loads(preferences(homes).read_text())  # whole, whichever
    status, _, err = run_cli(["models", "download", "depth", new], env=homes)  # the next run sweeps what the kill left
    assert status == 0, err
    assert snapshot(models_folder(homes)) == finished


def test_a_full_disk_keeps_the_earlier_preferences(homes, versions) -> None:
    report.tried("models use", "full disk")
    old, _ = versions
    status, _, err = run_cli(["models", "use", "depth", old], env=homes)
    assert status == 0, err
    folder = preferences(homes).parent
    before = snapshot(folder)
    status, _, err = run_cli(["models", "use", "depth", "default"], rlimit_fsize=16, env=homes)
    assert status == 1
    line = one_line(err)
    assert "disk is full" in line and str(preferences(homes)) in line
    assert snapshot(folder) == before


def test_ctrl_c_while_copying_a_model_keeps_the_earlier_copy(homes, versions) -> None:
    """Ctrl-C once the copy has begun (the progress bar shows): status 130, one line of its own, the
    earlier copy whole and nothing beside it."""
    report.tried("models download", "SIGINT")
    old, new = versions
    (new / "padding.bin").write_bytes(bytes(64 << 20))  # long enough a copy to be hit in
    status, _, err = run_cli(["models", "download", "depth", old], env=homes)
    assert status == 0, err
    cache = snapshot(models_folder(homes))
    cli = start_cli(["models", "download", "depth", new], env=homes)
    try:
        deadline = time.monotonic() + 60
        while not any(models_folder(homes).glob(".depth.*.part")) and time.monotonic() < deadline:
            time.sleep(0.002)
        os.killpg(cli.pid, signal.SIGINT)
        _, err = cli.communicate(timeout=60)
    finally:
        end_group(cli)
    assert cli.returncode == 130 and err.splitlines()[-1] == "atelier4d: interrupted", err
    assert snapshot(models_folder(homes)) == cache
