"""A million-splat file loads while the window keeps answering (issue #4: stalls under 100 ms).

The load is measured in a process of its own, started fresh as the app is: after hundreds of
tests, the test process's own leftovers (their threads, timers and memory) slow its GUI thread
in ways the app never sees. Run as ``python -m tests.studio.test_window_big PLY``, this module is
that process: it loads the file into a new main window and prints what it measured as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from scene import GaussianCloud
from scene.io import save
from studio.viewport import BACKGROUND
from tests.thread_time import sample_thread, stolen_between


class StallMeter:
    """Ticks a 5 ms timer on the event loop and keeps, for each gap between two ticks:

    * ``gaps``: its wall-clock length, and ``own``: that less the time the hypervisor stole from
      the GUI thread in it (:func:`tests.thread_time.stolen_between`). CI runs on shared virtual
      machines whose CPUs now and then stop, or crawl, for 50-200 ms, which no program can help;
    * ``busy``: the CPU time the GUI thread spent in it, which the guest's kernel counts without
      stolen time (see :mod:`tests.thread_time`): the work that kept the loop from answering, which
      is what the app decides. Waits (for the GIL, for a CPU, for the X server) count in ``own`` only.
    """

    def __init__(self) -> None:
        self.busy: list[float] = []
        self.gaps: list[float] = []
        self.own: list[float] = []
        self._last = sample_thread()
        self._last_stall = self._last.wall
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = sample_thread()
        gap = now.wall - self._last.wall
        self.busy.append(now.run - self._last.run)
        self.gaps.append(gap)
        self.own.append(gap - stolen_between(self._last, now))
        if gap > 0.03:
            self._last_stall = now.wall
        self._last = now

    def settle(self, app: QApplication) -> None:
        """Until the window has been idle for half a second, then forget the gaps so far.

        A new window is busy for a while (on software GL, Qt's compositor compiles its shaders
        on the first exposes), which is not what the test measures."""
        wait_until(app, lambda: time.perf_counter() - self._last_stall > 0.5, timeout_s=20)
        for gaps in (self.busy, self.gaps, self.own):
            gaps.clear()

    def report(self) -> str:
        ms = lambda values: f"{1000 * max(values):.0f} ms"  # noqa: E731
        over = sorted(round(1000 * g) for g in self.gaps if g > 0.05)
        return f"longest stall: {ms(self.busy)} busy, {ms(self.own)} without stolen time, {ms(self.gaps)} wall; over 50 ms: {over}"


def million_splats() -> GaussianCloud:
    rng = np.random.default_rng(0)
    count = 1_000_000
    means = rng.normal(size=(count, 3)).astype(np.float32)
    return GaussianCloud.create(means, 0.01, rng.uniform(0.1, 1.0, (count, 3)).astype(np.float32), sh_degree=3)


def wait_until(app: QApplication, condition: Callable[[], bool], timeout_s: float) -> None:
    """Run the event loop until ``condition`` holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("waited too long")
        app.processEvents()
        time.sleep(0.001)


def measure_load(path: str) -> dict:
    """Open a main window (fresh settings), import ``path`` and measure the event loop meanwhile."""
    from studio.app import set_default_gl_format
    from studio.main_window import MainWindow
    from studio.settings import Settings

    set_default_gl_format()
    app = QApplication([])
    window = MainWindow(Settings(), recovery_folder=Path(path).parent / "recovery", save_settings=False)
    window.ask_unsaved_changes = lambda: "discard"
    window.show()
    viewport = window.viewport
    wait_until(app, lambda: viewport.last_stats is not None, timeout_s=60)
    meter = StallMeter()
    meter.settle(app)
    frames: list[float] = []
    viewport.frame_drawn.connect(frames.append)
    start = time.perf_counter()
    window.import_files([Path(path)])
    wait_until(app, lambda: bool(window.document.layers) and not window.runner.running, timeout_s=60)
    loaded, frames_before = time.perf_counter(), len(frames)
    # drawn: a frame after the import showed the whole picture, with nothing left to upload or refine
    wait_until(app, lambda: len(frames) > frames_before and viewport.settled, timeout_s=60)
    drawn = time.perf_counter()
    meter.timer.stop()
    image = viewport.grabFramebuffer()
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    background = [round(c * 255) for c in BACKGROUND]
    result = {
        "count": window.document.layers[0].data.count,
        "frames": len(frames) - frames_before,
        "busy": max(meter.busy),
        "own": max(meter.own),
        "centre_vs_background": max(abs(a - b) for a, b in zip((centre.red(), centre.green(), centre.blue()), background)),
        "report": f"loaded {loaded - start:.2f}s, drawn {drawn - start:.2f}s in {len(frames) - frames_before} frames; {meter.report()}",
    }
    window.close()
    return result


def test_a_million_splat_ply_loads_without_stalling_the_window(tmp_path):
    path = tmp_path / "big.ply"
    save(path, million_splats())
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "tests.studio.test_window_big", str(path)],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # the environment (display, the user folders of conftest) is this test's
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(result["report"])
    assert result["count"] == 1_000_000
    assert result["frames"] > 5, "a million splats cannot be drawn in one frame here: it was spread"
    assert result["busy"] < 0.1  # the GUI thread never worked 100 ms without handling events
    assert result["own"] < 0.25  # nor waited long (loose: virtual machines crawl at times)
    assert result["centre_vs_background"] > 20  # and the cloud is drawn


if __name__ == "__main__":
    print(json.dumps(measure_load(sys.argv[1])))
