"""Run again: a generated layer keeps its engine, settings (seed included) and models, in the project
file too; its context menu (or Properties, or Generate > Run Again) fills the engine's tab with them
and runs them, which makes the same layer again. A layer whose engine is gone says so."""

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from engines.refine_region import RefineRegionConfig
from engines.runtime import JobState, WorkerSettings
from scene import Layer
from scene.document import Provenance
from scene.io import save
from studio.jobs import rerun_values
from studio.panels.properties import provenance_text
from tests.studio.conftest import cloud, cloud_document, wait_idle
from tests.tiny_models import tiny_model

SPLAT_FIELDS = ("means", "log_scales", "quats", "opacity_logits", "sh")


def wait_finished(window, qtbot, job: str) -> None:
    qtbot.waitUntil(lambda: job in window.jobs.jobs and window.jobs.jobs[job].state.is_terminal, timeout=120_000)
    assert window.jobs.jobs[job].state is JobState.FINISHED, window.jobs.jobs[job].error


def test_run_again_after_save_and_open_makes_the_same_layer(make_window, qtbot, tmp_path):
    window = make_window()
    model = str(tiny_model("text", tmp_path / "models"))
    window.settings.model_choices = {"text": model}
    window.set_document(cloud_document(200))
    save(tmp_path / "scene.ply", cloud(200, seed=1))
    form = window.generate.forms["refine-region"]
    form.set_value({"prompt": "a blue hat", "input": str(tmp_path / "scene.ply"), "box": (-1, 0, -1, 1, 1, 1),
                    "steps": 2, "size": 32, "seed": 5})
    qtbot.mouseClick(form.parentWidget().findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    wait_finished(window, qtbot, window.job_manager.job_ids()[-1])
    made = window.document.layers[-1].provenance
    assert made.engine == "refine-region" and made.seed == 5 and made.models == {"text": model}
    assert made.config["prompt"] == "a blue hat" and made.config["steps"] == 2 and made.config["box"] == [-1, 0, -1, 1, 1, 1]

    window.save_as(tmp_path / "p.a4d")
    wait_idle(qtbot, window)
    window.open_path(tmp_path / "p.a4d")
    wait_idle(qtbot, window)
    plain, layer = window.document.layers
    assert plain.provenance is None and layer.provenance == made
    window.document.set_current(layer.id)
    assert window.run_again_action.isEnabled() and window.properties.made_box.isVisibleTo(window.properties)
    assert window.properties.provenance.text() == f"refine-region · seed 5 · text model {Path(model).name}"
    form.set_value({"prompt": "something else", "seed": 99})

    menu = window.outliner.layer_menu(layer.id)
    (again,) = [action for action in menu.actions() if action.text() == "Run Again"]
    again.trigger()
    job = window.job_manager.job_ids()[-1]
    assert (form.value().prompt, form.value().seed) == ("a blue hat", 5)  # the tab shows what runs
    wait_finished(window, qtbot, job)
    remade = window.document.layers[-1]
    assert remade is not layer and remade.provenance == made
    for name in SPLAT_FIELDS:  # the same settings, seed and model make the same splats
        np.testing.assert_array_equal(getattr(remade.data, name), getattr(layer.data, name))
    assert window.errors == []


def test_a_layer_whose_engine_is_gone_says_so(make_window, qtbot):
    window = make_window()
    document = cloud_document(20)
    document.add_layer(Layer("old", document.layers[0].data, provenance=Provenance("gone-engine", {"seed": 1})))
    window.set_document(document)
    assert window.run_again_action.isEnabled()
    qtbot.mouseClick(window.properties.run_again_button, Qt.MouseButton.LeftButton)
    assert window.errors == ["Run again: old was made by gone-engine, which this Atelier4D does not have."]
    window.document.set_current(document.layers[0].id)
    assert not window.run_again_action.isEnabled() and not window.properties.made_box.isVisibleTo(window.properties)
    assert window.run_again() is None and len(window.errors) == 1


def test_run_again_names_the_model_the_layer_was_made_with_when_the_preferences_changed(tmp_path):
    save(tmp_path / "a.ply", cloud(10))
    made = Provenance("refine-region", {"prompt": "x", "input": str(tmp_path / "a.ply"), "model": "", "seed": 3},
                      {"text": "/models/old"})
    same = WorkerSettings(model_choices=(("text", "/models/old"),))
    assert rerun_values(made, RefineRegionConfig, same) == made.config
    other = WorkerSettings(model_choices=(("text", "/models/new"),))
    assert rerun_values(made, RefineRegionConfig, other) == {**made.config, "model": "/models/old"}
    assert provenance_text(made) == "refine-region · seed 3 · text model old"
