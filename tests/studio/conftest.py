"""Studio test fixtures: config and cache folders in tmp, GL 3.3 core, windows that never prompt."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer
from studio.app import set_default_gl_format

set_default_gl_format()  # before pytest-qt creates the QApplication


@pytest.fixture(autouse=True)
def cycles_collected_on_the_main_thread():
    """As the app does (studio/main_thread_gc.py): no cycle collection in a job manager's or a reading
    thread while a window lives (it could destroy Qt objects there and deadlock); all of it after the test."""
    gc.disable()
    yield
    gc.enable()
    gc.collect()


@pytest.fixture(autouse=True)
def user_folders(tmp_path, monkeypatch):
    """Preferences, caches and the recovery file go to this test's tmp folder."""
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        folder = tmp_path / variable.lower()
        folder.mkdir()
        monkeypatch.setenv(variable, str(folder))
    return tmp_path


def cloud(count: int = 500, seed: int = 0) -> GaussianCloud:
    """Splats spread over a unit cube around the origin."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-1.0, 1.0, size=(count, 3)).astype(np.float32)
    return GaussianCloud.create(means, 0.03, rng.uniform(0.2, 1.0, size=(count, 3)).astype(np.float32))


def cloud_document(count: int = 500) -> Document:
    document = Document()
    document.add_layer(Layer("cloud", cloud(count)))
    document.undo_stack.clear()
    return document


@pytest.fixture
def make_window(qtbot, tmp_path):
    """A main window with default settings, its recovery file in tmp, that never saves settings."""
    from studio.main_window import MainWindow
    from studio.settings import Settings

    windows = []

    def make(recovery_folder=None, **kwargs):
        window = MainWindow(Settings(), recovery_folder=recovery_folder or tmp_path / "recovery", save_settings=False, **kwargs)
        qtbot.addWidget(window)
        window.errors = []
        window.show_error = lambda title, text: window.errors.append(f"{title}: {text}")  # never a modal box
        # pytest-qt closes the window before this fixture's teardown: never prompt then either.
        window.ask_unsaved_changes = lambda: "discard"
        with qtbot.waitExposed(window):  # a context manager in pytest-qt 4: a bare call waits for nothing
            window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.runner.wait()
        window.close()


def wait_idle(qtbot, window, timeout: int = 20000) -> None:
    """Until the window's background tasks are done and their results delivered."""
    qtbot.waitUntil(lambda: not window.runner.running, timeout=timeout)


def wait_drawn(qtbot, window, timeout: int = 20000) -> None:
    """Until a new frame shows the whole picture of the document (big ones build up over frames)."""
    viewport = window.viewport
    frames = []
    viewport.frame_drawn.connect(frames.append)
    viewport.update()
    try:
        qtbot.waitUntil(lambda: bool(frames) and viewport.settled, timeout=timeout)
    finally:
        viewport.frame_drawn.disconnect(frames.append)
