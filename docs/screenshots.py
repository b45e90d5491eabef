"""Take the README's screenshots from the real studio: the demo project, and a reconstruction job
streaming into the viewport.

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


def main() -> None:
    sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix="atelier4d-screenshots-"))
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        (scratch / variable).mkdir()
        os.environ[variable] = str(scratch / variable)

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

    data = scratch / "scene"
    write_dataset(data, sphere_cameras(40, 64))
    window.set_document(Document())
    window.docks["Generate"].raise_()
    config = ReconstructConfig(data=str(data), steps=800)
    window.generate.forms["reconstruct"].set_value(config)
    job = window.run_engine("reconstruct", config)
    wait_until(app, lambda: (window.jobs.jobs.get(job) is not None and window.jobs.jobs[job].step >= 600), 600, "the job")
    window.viewport.frame_selected()
    wait_drawn(app, window)
    window.grab().save(str(DOCS / "studio-reconstruct.png"))
    window.job_manager.cancel(job)
    wait_until(app, lambda: window.job_manager.info(job).state is JobState.CANCELLED, 30, "the cancel")
    window.close()
    print(f"wrote {DOCS / 'studio.png'} and {DOCS / 'studio-reconstruct.png'}")


if __name__ == "__main__":
    main()
