"""The studio's job policy (studio/jobs.py): layers per output key, run folders in the cache, and
the command line following the same policy and the saved preferences."""

from __future__ import annotations

import re

import numpy as np
import pytest

import engines.runtime.foreground
import tests.engines.runtime_engines  # noqa: F401  (registers "fit_points")
from engines.runtime import RuntimeOptions, WorkerSettings
from scene import Document, GaussianCloud, Layer, MeshAsset
from studio.cli import main
from studio.jobs import JobLayers, new_run_dir, runtime_options, worker_settings
from studio.settings import Settings


def cloud(value: float) -> GaussianCloud:
    return GaussianCloud.create(np.full((4, 3), value, np.float32), 0.1, (1, 0, 0))


def test_each_key_gets_its_layer_on_its_first_snapshot():
    document = Document()
    document.add_layer(Layer("mine", cloud(9.0)))
    layers = JobLayers()
    layers.bind("job-1", "fit", document)
    first = layers.show("job-1", "main", cloud(1.0))
    assert first.name == "fit" and document.undo_stack.undo_text == "Generate fit"
    assert layers.show("job-1", "main", cloud(2.0)) is None  # replaced, no new undo step
    assert document.layer(first.id).data.means[0, 0] == 2.0 and document.undo_stack.undo_text == "Generate fit"
    mesh = MeshAsset(np.eye(3), [[0, 1, 2]])
    second = layers.show("job-1", "mesh", mesh)
    assert second.name == "fit mesh" and document.layer(second.id).data is mesh
    assert [layer.name for layer in document.layers] == ["mine", "fit", "fit mesh"]
    assert layers.layer_ids("job-1") == {"main": first.id, "mesh": second.id}

    document.remove_layer(first.id)  # the artist deleted it: it stays deleted
    assert layers.show("job-1", "main", cloud(3.0)) is None and len(document.layers) == 2
    assert layers.show("job-2", "main", cloud(3.0)) is None  # not a job of this window


def test_a_second_job_of_an_engine_gets_unique_names():
    document, layers = Document(), JobLayers()
    for job in ("job-1", "job-2"):
        layers.bind(job, "fit", document)
        layers.show(job, "main", cloud(1.0))
    assert [layer.name for layer in document.layers] == ["fit", "fit 2"]


def test_run_folders_are_new_folders_in_the_cache(tmp_path):
    settings = Settings(cache_folder=str(tmp_path))
    first, second = new_run_dir(settings, "fit"), new_run_dir(settings, "fit")
    assert first != second and first.parent == second.parent == tmp_path / "runs"
    assert re.fullmatch(r"fit-\d{8}-\d{6}-\w+", first.name) and first.is_dir() and not any(first.iterdir())


def test_preferences_become_runtime_options_and_worker_settings(tmp_path):
    settings = Settings(model_folders=["/m"], cache_folder=str(tmp_path), offline=True, checkpoint_every_s=5)
    assert worker_settings(settings) == WorkerSettings(("/m",), str(tmp_path), True)
    settings.model_choices, settings.allow_pickle_models, settings.model_memory_gb = {"depth": "/d", "text": "a/b@v1"}, ["depth"], 6.0
    settings.memory_savers = "8gb"
    chosen = worker_settings(settings)
    assert chosen.memory_savers == "8gb"
    assert chosen.model_choice("depth", "x") == "/d" and chosen.model_choice("text", "x") == "a/b@v1"
    assert chosen.model_choice("video", "default/id") == "default/id"
    assert chosen.allow_pickle == ("depth",) and chosen.model_memory_gb == 6.0
    assert runtime_options(settings, RuntimeOptions(checkpoint_every=7)) == RuntimeOptions(checkpoint_every=7, checkpoint_every_s=5.0)


def test_the_command_line_refuses_an_output_it_could_not_write_before_any_run(tmp_path, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(engines.runtime.foreground, "run_foreground", lambda *a, **k: started.append(a) or 0)
    out = tmp_path / "missing" / "x.ply"
    with pytest.raises(SystemExit) as exc:
        main(["generate", "reconstruct", "--data", str(tmp_path), "--out", str(out)])
    assert exc.value.code == 2 and started == []
    assert f"argument --out: cannot write {out}: the folder {out.parent} does not exist" in capsys.readouterr().err


def test_the_command_line_uses_the_saved_preferences_and_a_run_folder_in_the_cache(tmp_path, capsys):
    Settings(model_folders=[str(tmp_path / "models")], cache_folder=str(tmp_path / "cache"), checkpoint_every_s=1).save()
    assert main(["generate", "fit_points", "--steps", "5", "--step-sleep-s", "0"]) == 0, capsys.readouterr().err
    (run_dir,) = (tmp_path / "cache" / "runs").iterdir()
    assert run_dir.name.startswith("fit_points-") and (run_dir / "means.npy").is_file()
    assert f"finished after 5 steps: {run_dir / 'means.npy'}" in capsys.readouterr().err


def test_the_command_line_passes_the_checkpoint_interval_and_worker_settings(tmp_path, monkeypatch):
    Settings(model_folders=["/m"], offline=True, checkpoint_every_s=9).save()
    calls = []
    monkeypatch.setattr(engines.runtime.foreground, "run_foreground", lambda *a, **k: calls.append(k) or 0)
    assert main(["generate", "fit_points", "--run-dir", str(tmp_path / "run")]) == 0
    assert main(["generate", "fit_points", "--run-dir", str(tmp_path / "run"), "--checkpoint-every-s", "0.5"]) == 0
    assert [k["options"].checkpoint_every_s for k in calls] == [9.0, 0.5]
    assert calls[0]["settings"].model_folders == ("/m",) and calls[0]["settings"].offline
    with pytest.raises(SystemExit) as exc:
        main(["generate", "fit_points", "--checkpoint-every-s", "-1"])
    assert exc.value.code == 2
