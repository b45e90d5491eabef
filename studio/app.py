"""Starting the studio: the Qt application, the main window, and what it opens first.

``atelier4d`` opens the last project, or the demo project on first launch; ``atelier4d open PATH``
opens a project or imports any supported file into a new document, framed in the viewport. After
a crash the window first offers to restore the autosaved copy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtGui import QSurfaceFormat
from PySide6.QtWidgets import QApplication

from studio.main_thread_gc import MainThreadCollector
from studio.main_window import APP_NAME, MainWindow
from studio.settings import Settings, is_first_launch

GL_VERSION = (3, 3)  # what render/ needs; core profile so macOS gives it too


def _startup_path(path: str | None, settings: Settings, first_launch: bool) -> Path | None:
    """What to open: the given path, else the last project, else the demo on first launch."""
    if path:
        return Path(path)
    if settings.last_project and Path(settings.last_project).exists():
        return Path(settings.last_project)
    if first_launch:
        from assets import demo_project_path

        demo = demo_project_path()
        return demo if demo.exists() else None
    return None


def create_window(path: str | None = None, settings: Settings | None = None) -> MainWindow:
    """The main window with its first document loading (needs a QApplication)."""
    first_launch = is_first_launch()
    settings = settings or Settings.load()
    window = MainWindow(settings)
    if window.offer_recovery() is None:  # a restored document wins over the start-up file
        startup = _startup_path(path, settings, first_launch)
        if startup is not None:
            window.open_path(startup)
    return window


def set_default_gl_format() -> None:
    """Ask for the OpenGL the renderer needs; must run before the QApplication exists."""
    fmt = QSurfaceFormat()
    fmt.setVersion(*GL_VERSION)
    fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    fmt.setDepthBufferSize(24)
    QSurfaceFormat.setDefaultFormat(fmt)


def _make_application() -> QApplication:
    app = QApplication.instance()
    if app is not None:
        return app
    set_default_gl_format()
    app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    return app


def run_studio(path: str | None = None) -> int:
    """Open the studio window and run until it closes; returns the exit code."""
    settings = Settings.load()
    if settings.ui_scale != 1.0 and QApplication.instance() is None:
        os.environ.setdefault("QT_SCALE_FACTOR", str(settings.ui_scale))  # read when the app starts
    app = _make_application()
    collector = MainThreadCollector(app)  # noqa: F841  (lives with the app)
    window = create_window(path, settings)
    window.show()
    return int(app.exec())
