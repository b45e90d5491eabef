"""Bundled assets: the demo project (made by ``python -m assets.make_demo``)."""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent


def demo_project_path() -> Path:
    """The demo project the studio opens on first launch."""
    return ASSETS_DIR / "demo.a4d"
