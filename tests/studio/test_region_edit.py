"""Edit a region by prompt from the viewport's selection: refine-region run from its tab while splats
are selected refines only those, in their layer; the result is one undo step that gives back the
original exactly, and the selection stays on the same splats; one that fails or is cancelled leaves
the layer as it was. Without a selection the tab's input and box make a layer of their own, as before."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from engines.runtime import MAIN, JobState
from scene import GaussianCloud
from scene.document import Provenance
from scene.events import LayerChanged
from scene.io import save
from studio.jobs import JobLayers
from tests.studio.conftest import cloud, cloud_document
from tests.tiny_models import tiny_model

SPLAT_FIELDS = ("means", "log_scales", "quats", "opacity_logits", "sh")


def run_refine_tab(window, qtbot, **values) -> str:
    """Fill the refine-region tab, press Run, wait until the window has seen the job end."""
    form = window.generate.forms["refine-region"]
    form.set_value({"prompt": "a golden hat", "size": 32, "seed": 11, **values})
    qtbot.mouseClick(form.parentWidget().findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    job = window.job_manager.job_ids()[-1]
    qtbot.waitUntil(lambda: job in window.jobs.jobs and window.jobs.jobs[job].state.is_terminal, timeout=120_000)
    assert window.jobs.jobs[job].state is JobState.FINISHED, window.jobs.jobs[job].error
    return job


def test_refining_the_selection_replaces_its_layer_in_one_undo_step(make_window, qtbot, tmp_path):
    window = make_window()
    window.settings.model_choices = {"text": str(tiny_model("text", tmp_path / "models"))}
    window.set_document(cloud_document(300))
    (untouched,) = window.document.layers
    save(tmp_path / "scene.ply", cloud(300, seed=1))

    # nothing selected: the tab's input and box make a new layer
    run_refine_tab(window, qtbot, input=str(tmp_path / "scene.ply"), box=(-1, 0.3, -1, 1, 1, 1), steps=1)
    assert window.errors == []
    first, layer = window.document.layers
    assert first is untouched and layer.name == "refine-region" and window.document.current is layer
    assert layer.provenance.config["selection"] == "" and layer.provenance.config["input"] == str(tmp_path / "scene.ply")

    # splats selected in the current layer: they are refined there (the input field is not read)
    original, made_before = layer.data, layer.provenance
    mask = original.means[:, 1] < 0.0
    window.document.select_splats(layer.id, mask)
    live = []
    window.document.events.connect(lambda e: live.append(e.layer_id) if isinstance(e, LayerChanged) and e.live else None)
    run_refine_tab(window, qtbot, steps=3)

    assert window.errors == []
    assert [each.id for each in window.document.layers] == [untouched.id, layer.id]  # no new layer: its own changed
    assert live and set(live) == {layer.id}  # the run streamed into it
    refined = layer.data
    assert isinstance(refined, GaussianCloud) and refined is not original and len(refined) == len(original)
    for name in SPLAT_FIELDS:
        np.testing.assert_array_equal(getattr(refined, name)[~mask], getattr(original, name)[~mask])
    assert any(not np.array_equal(getattr(refined, name)[mask], getattr(original, name)[mask]) for name in SPLAT_FIELDS)
    np.testing.assert_array_equal(window.document.splat_selection(layer.id), mask)
    made = layer.provenance
    assert made.engine == "refine-region" and made.seed == 11 and made.config["selection"].endswith("selection.npy")
    assert made.models == {"text": window.settings.model_choices["text"]}

    stack = window.document.undo_stack
    assert stack.undo_text == "Edit refine-region (refine-region)"
    window.document_undo()  # one step back: the selection made before the run is next
    assert layer.data is original and layer.provenance == made_before and stack.undo_text == "Select splats"
    np.testing.assert_array_equal(window.document.splat_selection(layer.id), mask)
    window.document_redo()
    assert layer.data is refined and layer.provenance == made


def test_an_edit_that_fails_or_is_cancelled_gives_its_layer_back_and_a_late_commit_is_one_step():
    document = cloud_document(50)
    (layer,) = document.layers
    original = layer.data
    made = Provenance("refine-region", {"seed": 1})
    layers = JobLayers()
    layers.bind("job-1", "refine-region", document, provenance=made, edit=layer.id)
    assert layers.edited_layer("job-1") == layer.id
    streamed = cloud(50, seed=2)
    assert layers.show("job-1", MAIN, streamed) is None and layer.data is streamed
    assert not document.undo_stack.can_undo  # snapshots are no undo steps
    layers.revert_edit("job-1")  # cancelled: the layer is as it was
    assert layer.data is original and not document.undo_stack.can_undo

    layers.show("job-1", MAIN, streamed)  # resumed, then finished
    result = cloud(50, seed=3)
    layers.commit_edit("job-1", result)
    assert layer.data is result and layer.provenance == made and layers.edited_layer("job-1") is None
    document.undo()
    assert layer.data is original and layer.provenance is None and not document.undo_stack.can_undo


def test_an_edited_layer_deleted_during_the_job_comes_back_as_it_was():
    document = cloud_document(50)
    (layer,) = document.layers
    original = layer.data
    layers = JobLayers()
    layers.bind("job-1", "refine-region", document, provenance=Provenance("refine-region", {}), edit=layer.id)
    layers.show("job-1", MAIN, cloud(50, seed=2))
    document.remove_layer(layer.id)
    layers.commit_edit("job-1", cloud(50, seed=3))
    document.undo()
    assert document.layers == (layer,) and layer.data is original and layer.provenance is None


def test_refine_region_without_a_selection_or_an_input_says_what_to_do(make_window, qtbot):
    window = make_window()
    window.set_document(cloud_document(20))
    form = window.generate.forms["refine-region"]
    form.set_value({"prompt": "a hat"})
    qtbot.mouseClick(form.parentWidget().findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    assert window.errors == [
        "Generate refine-region: Select the splats to refine in the viewport, or choose a splat file as Input."
    ]
    assert window.jobs.manager is None  # no job started
