"""Take the README's screenshots from the real studio: the demo project, a box selection with its
count, the turntable export dialog, the Models page of Preferences, the Timeline with a clip's keys,
and a reconstruction job streaming into the viewport.

Run under a virtual screen from the repository root (it takes a minute or two on a CPU):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots.py

Settings, caches and the recovery file go to a temporary folder, so your own are left alone. The
job reconstructs the scene of ``benches/reconstruct.py`` (ray-traced in numpy), as an artist would
from Generate > reconstruct.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SIZE = (1400, 860)


def wait_until(app, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the event loop until ``condition`` holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"screenshots: gave up waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def wait_drawn(app, window) -> None:
    """Until the viewport shows a whole picture of the document."""
    viewport = window.viewport
    frames: list[float] = []
    viewport.frame_drawn.connect(frames.append)
    viewport.update()
    wait_until(app, lambda: bool(frames) and viewport.settled, 60, "a frame")
    viewport.frame_drawn.disconnect(frames.append)


def timeline_shot(app, window) -> Path:
    """The demo's knot as a looping clip (a 2 s bounce) whose top and bottom halves are keyed groups,
    the Timeline showing their keys with one selected and the playhead at frame 18."""
    from scene.clip import ClipTiming, GaussianClip, Group, Key
    from scene.rotation import axis_angle_to_quat
    from scene.transform import Transform
    from studio.panels.timeline import KeyRef

    document = window.document
    knot = next(layer for layer in document.layers if layer.name == "Torus knot")
    cloud = knot.data
    lift = 0.12 * np.sin(np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False))
    frames = [cloud.replace(means=cloud.means + np.float32([0.0, dy, 0.0])) for dy in lift]
    height = cloud.means[:, 1]
    top, bottom = np.flatnonzero(height > np.median(height)), np.flatnonzero(height <= np.median(height))
    turn = Transform(rotation=axis_angle_to_quat(np.array([0.0, 1.0, 0.0]), np.radians(35.0)))
    groups = (
        Group("Top", top, cloud.means[top].mean(axis=0), (Key(0.25), Key(0.75, turn), Key(1.25), Key(1.75, turn, "linear"))),
        Group("Bottom", bottom, cloud.means[bottom].mean(axis=0), (Key(0.5), Key(1.5, Transform([0.0, -0.1, 0.0])))),
    )
    clip = GaussianClip.from_frames(frames, 24.0).replace(groups=groups, timing=ClipTiming(loop=True))
    document.set_layer(knot.id, data=clip, text="Animate the knot")
    document.set_playback(end=2.5)
    document.set_time(18 / 24)
    from PySide6.QtCore import Qt

    window.docks["Generate"].raise_()
    window.resizeDocks([window.docks["Timeline"]], [190], Qt.Orientation.Vertical)
    window.timeline.frame_range()
    window.timeline.select_key(KeyRef(knot.id, "Top", 0.75))
    wait_drawn(app, window)
    window.grab().save(str(DOCS / "studio-timeline.png"))
    return DOCS / "studio-timeline.png"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix="atelier4d-screenshots-"))
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        (scratch / variable).mkdir()
        os.environ[variable] = str(scratch / variable)
    os.environ["HF_HUB_OFFLINE"] = "1"  # the Models page shows what is on this machine, nothing more

    from PySide6.QtWidgets import QApplication

    from studio.app import set_default_gl_format

    set_default_gl_format()
    app = QApplication([])
    from benches.reconstruct import sphere_cameras, write_dataset
    from engines.reconstruct import ReconstructConfig
    from engines.runtime import JobState
    from scene import Document
    from studio.main_window import MainWindow
    from studio.settings import Settings

    window = MainWindow(Settings(), recovery_folder=scratch / "recovery", save_settings=False)
    window.ask_unsaved_changes = lambda: "discard"
    window.resize(*SIZE)
    window.show()

    window.open_path(ROOT / "assets" / "demo.a4d")
    wait_until(app, lambda: not window.runner.running and bool(window.document.layers), 60, "the demo")
    wait_drawn(app, window)
    window.grab().save(str(DOCS / "studio.png"))
    shots = [DOCS / "studio.png"]

    # a box over the left half of the knot while the pedestal is current: the box selects in the
    # splat layer under it, tints the selected splats and shows the count
    knot = next(layer for layer in window.document.layers if layer.name == "Torus knot")
    window.document.set_current(next(layer.id for layer in window.document.layers if layer.name == "Pedestal"))
    lo, hi = knot.world_bounds()
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    uv, _ = window.viewport.camera().project(corners)
    (x0, y0), (x1, y1) = uv.min(axis=0), uv.max(axis=0)
    window.set_tool("box")
    window.tools["box"].select(window.viewport, (x0, y0, (x0 + x1) / 2, y1))
    wait_drawn(app, window)
    window.grab().save(str(DOCS / "studio-selection.png"))
    shots.append(DOCS / "studio-selection.png")
    window.set_tool("navigate")
    window.document.select_splats(knot.id, None, "Select none")

    from studio.turntable import TurntableSettings
    from studio.turntable_dialog import TurntableDialog

    dialog = TurntableDialog(TurntableSettings(), "'Torus knot'", window)
    dialog.show()
    wait_until(app, lambda: dialog.isVisible(), 10, "the turntable dialog")
    app.processEvents()
    dialog.grab().save(str(DOCS / "turntable-dialog.png"))
    shots.append(DOCS / "turntable-dialog.png")
    dialog.close()

    # a camera path around the knot in the Paths dock, its third key selected
    from scene.camera_path import CameraKey, CameraPath
    from scene.document import NamedPath

    centre = (lo + hi) / 2
    reach = float(np.linalg.norm(hi - lo))
    keys = tuple(
        CameraKey.look_at(centre + reach * np.array([1.2 * np.sin(a), 0.25 + 0.12 * i, 1.2 * np.cos(a)]), centre, float(i))
        for i, a in enumerate(np.linspace(-1.2, 1.2, 5))
    )
    window.document.add_path(NamedPath("Fly-around", CameraPath(keys)))
    window.docks["Paths"].raise_()
    window.paths_panel.select(window.document.paths[0].id, 2)
    wait_drawn(app, window)
    window.grab().save(str(DOCS / "studio-paths.png"))
    shots.append(DOCS / "studio-paths.png")
    shots.append(timeline_shot(app, window))

    # image-to-3d with a photo on a plain backdrop: the object found, tinted, the background dimmed
    from PIL import Image, ImageDraw

    photo = scratch / "vase.png"
    picture = Image.new("RGB", (400, 300), (214, 210, 204))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((140, 110, 260, 270), fill=(196, 96, 40))
    draw.rectangle((178, 50, 222, 140), fill=(176, 84, 34))
    draw.ellipse((170, 40, 230, 64), fill=(150, 70, 28))
    picture.save(photo)
    window.docks["Generate"].raise_()
    window.give_image(photo)
    from studio.panels.image_mask import MaskEditor

    editor = window.generate.forms["image-to-3d"].parentWidget().findChild(MaskEditor)
    wait_until(app, lambda: editor.reading is None, 30, "the picture's mask")
    from PySide6.QtWidgets import QScrollArea

    scroll = editor.parentWidget()
    while not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    app.processEvents()
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())  # the form scrolled to the preview
    wait_drawn(app, window)
    window.grab().save(str(DOCS / "studio-image-to-3d.png"))
    shots.append(DOCS / "studio-image-to-3d.png")

    from studio.preferences import PreferencesDialog
    from tests.tiny_models import tiny_model

    settings = Settings()
    settings.model_choices["depth"] = str(tiny_model("depth", scratch / "models"))  # a folder of one's own
    preferences = PreferencesDialog(settings, window.runner, window)
    preferences.resize(760, 820)
    preferences.tabs.setCurrentWidget(preferences.models)
    preferences.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    preferences.grab().save(str(DOCS / "preferences-models.png"))
    shots.append(DOCS / "preferences-models.png")
    preferences.close()

    data = scratch / "scene"
    write_dataset(data, sphere_cameras(40, 64))
    window.set_document(Document())
    window.docks["Generate"].raise_()
    config = ReconstructConfig(data=str(data))  # the default preset, Balanced
    window.generate.forms["reconstruct"].set_value(config)
    job = window.run_engine("reconstruct", config)
    wait_until(app, lambda: (window.jobs.jobs.get(job) is not None and window.jobs.jobs[job].step >= 450), 600, "the job")
    window.viewport.frame_selected()
    wait_drawn(app, window)
    window.grab().save(str(DOCS / "studio-reconstruct.png"))
    shots.append(DOCS / "studio-reconstruct.png")
    window.job_manager.cancel(job)
    wait_until(app, lambda: window.job_manager.info(job).state is JobState.CANCELLED, 30, "the cancel")
    window.close()
    print("wrote " + ", ".join(str(shot) for shot in shots))


if __name__ == "__main__":
    main()
