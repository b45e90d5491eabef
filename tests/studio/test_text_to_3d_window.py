"""Generate > text-to-3d from the window: the form offers every option, Run grows a splat layer live, then its mesh."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from engines.runtime import JobState
from scene import GaussianCloud, MeshAsset
from tests.tiny_models import tiny_model


def test_text_to_3d_from_the_generate_tab_grows_a_splat_layer(make_window, qtbot, tmp_path):
    window = make_window()
    window.resize(900, 600)
    window.settings.model_choices = {"text": str(tiny_model("text", tmp_path / "models"))}
    tab = next(i for i in range(window.generate.count()) if window.generate.tabText(i) == "text-to-3d")
    window.generate.setCurrentIndex(tab)
    form = window.generate.forms["text-to-3d"]
    form.set_value({"prompt": "a red chair", "steps": 30, "size": 32, "init_points": 300, "snapshot_every": 5,
                    "texture_size": 64, "meshing": {"resolution": 32}, "refine": {"steps": 2}})
    run = form.parentWidget().findChild(QPushButton, "run")
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    job = window.job_manager.job_ids()[-1]
    qtbot.waitUntil(lambda: window.job_manager.info(job).state.is_terminal, timeout=120_000)
    assert window.job_manager.info(job).state is JobState.FINISHED, window.job_manager.info(job).error
    splats, mesh = window.document.layers
    assert splats.name == "text-to-3d" and isinstance(splats.data, GaussianCloud) and len(splats.data) > 0
    assert isinstance(mesh.data, MeshAsset) and mesh.data.is_textured  # stage 2's layer, its texture refined
    assert window.errors == []
