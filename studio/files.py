"""What the studio reads and writes, and with which functions: one object the window is given.

The defaults are ``scene.io``'s readers and writers (imported when first used); tests pass their
own functions, so the window's file logic is tested without the formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from scene import Document
from scene.document import LayerData

PROJECT_SUFFIX = ".a4d"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
SCREENSHOT_SUFFIX = ".png"
VIDEO_SUFFIX = ".mp4"


def _load_project(path: Path) -> Document:
    from scene.io.project import load_project

    return load_project(path)


def _save_project(document: Document, path: Path) -> None:
    from scene.io.project import save_project

    save_project(document, path)


def _load_asset(path: Path) -> LayerData:
    from scene.io import load

    data = load(path)
    data.bounds()  # cached by the data: computed here, off the GUI thread, which frames it next
    return data


def _save_asset(path: Path, data: LayerData) -> None:
    from scene.io import save

    save(path, data)


def _read_extensions() -> tuple[str, ...]:
    from scene.io import READ_EXTENSIONS

    return READ_EXTENSIONS


@dataclass(frozen=True)
class FileIO:
    """Project and asset readers/writers; every function may run on a worker thread."""

    load_project: Callable[[Path], Document] = _load_project
    save_project: Callable[[Document, Path], None] = _save_project
    load_asset: Callable[[Path], LayerData] = _load_asset
    save_asset: Callable[[Path, LayerData], None] = _save_asset
    asset_extensions: Callable[[], tuple[str, ...]] = _read_extensions

    def kind_of(self, path: Path) -> str:
        """``project``, ``asset``, ``image`` or ``unknown``, by extension."""
        suffix = path.suffix.lower()
        if suffix == PROJECT_SUFFIX:
            return "project"
        if suffix in IMAGE_SUFFIXES:
            return "image"
        if suffix in self.asset_extensions():
            return "asset"
        return "unknown"

    def import_filter(self, images: bool) -> str:
        """A file-dialog filter for everything the studio opens or imports; images only when something
        takes them (an engine of the Generate panel)."""
        extensions = (PROJECT_SUFFIX, *self.asset_extensions(), *(IMAGE_SUFFIXES if images else ()))
        patterns = " ".join(f"*{e}" for e in extensions)
        return f"{'Scenes and images' if images else 'Scenes'} ({patterns});;All files (*)"
