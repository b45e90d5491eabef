"""Generate > image-to-3d from the window: a picture dropped in, its mask touched up with the brush,
Run grows a splat layer live from the picture and the painted mask."""

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QPushButton

from engines.runtime import JobState
from scene import GaussianCloud, MeshAsset
from studio.panels.image_mask import MaskEditor
from tests.tiny_models import tiny_model


def _picture(path):
    """A 48x48 RGBA picture: an opaque orange disc on a transparent background."""
    ys, xs = np.mgrid[0:48, 0:48] + 0.5
    disc = np.hypot(xs - 24, ys - 24) <= 14
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[disc] = (230, 120, 40, 255)
    Image.fromarray(rgba).save(path)
    return path


def _click(canvas, x: float, y: float) -> None:
    """A left click on the canvas at picture pixel (x, y) of the 48-pixel picture: one dab of the brush."""
    rect = canvas.picture_rect()
    point = QPointF(rect.left() + x * rect.width() / 48, rect.top() + y * rect.height() / 48)
    for kind, held in ((QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton), (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        event = QMouseEvent(kind, point, canvas.mapToGlobal(point), Qt.MouseButton.LeftButton, held, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas, event)


def test_image_to_3d_from_the_generate_tab_grows_a_splat_layer(make_window, qtbot, tmp_path):
    window = make_window()
    window.resize(900, 700)
    window.generate.mask_folder = tmp_path / "masks"
    window.settings.model_choices = {"novel-view": str(tiny_model("novel-view", tmp_path / "models"))}
    assert window.give_image(_picture(tmp_path / "disc.png"))  # as opening or dropping a picture does
    assert window.generate.tabText(window.generate.currentIndex()) == "image-to-3d"
    form = window.generate.forms["image-to-3d"]
    editor = form.parentWidget().findChild(MaskEditor)
    qtbot.waitUntil(lambda: editor.reading is None)
    assert editor.canvas.isVisible() and editor.mask().sum() > 500  # the disc, from the alpha
    _click(editor.canvas, 24, 8)  # a dab at the disc's top edge: the run gets a painted mask
    mask = form.value().mask
    assert mask.startswith(str(tmp_path / "masks")) and mask.endswith(".png")

    submitted = []
    run_engine = window.run_engine
    window.run_engine = lambda engine, config: (submitted.append(config), run_engine(engine, config))[1]
    form.set_value({"steps": 10, "size": 32, "init_points": 300, "snapshot_every": 5, "texture_size": 64, "bake_views": 2})
    qtbot.mouseClick(form.parentWidget().findChild(QPushButton, "run"), Qt.MouseButton.LeftButton)
    assert [config.mask for config in submitted] == [mask]
    job = window.job_manager.job_ids()[-1]
    qtbot.waitUntil(lambda: window.job_manager.info(job).state.is_terminal, timeout=120_000)
    info = window.job_manager.info(job)
    assert info.state is JobState.FINISHED, info.error
    layers = {layer.name: layer.data for layer in window.document.layers}
    assert isinstance(layers["image-to-3d"], GaussianCloud) and len(layers["image-to-3d"]) > 0
    if "mesh" in info.result.outputs:  # a few hundred splats of a short run may hold no surface
        assert isinstance(layers["image-to-3d mesh"], MeshAsset) and len(layers["image-to-3d mesh"].faces) > 0
    assert window.errors == []
