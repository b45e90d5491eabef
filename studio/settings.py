"""The user's preferences: a dataclass persisted as JSON in the user's config folder.

A plain dataclass (no Qt object) so tests and the command line can read and write it; Qt is used
only to find the platform's config folder (``QStandardPaths``, which follows ``XDG_CONFIG_HOME``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal, get_args, get_origin, get_type_hints

from PySide6.QtCore import QStandardPaths

from render.controllers import HomeView
from render.helpers import SELECTION_COLOR
from scene.io.atomic import atomic_output

APP_DIR = "atelier4d"
Device = Literal["auto", "cpu", "cuda"]
EnginesOn = Literal["local", "cluster"]
MAX_RECENT = 10


def _location(kind: QStandardPaths.StandardLocation) -> Path:
    return Path(QStandardPaths.writableLocation(kind)) / APP_DIR


def config_dir() -> Path:
    """Where preferences live (``$XDG_CONFIG_HOME/atelier4d`` on Linux)."""
    return _location(QStandardPaths.StandardLocation.GenericConfigLocation)


def data_dir() -> Path:
    """Where state worth keeping across a crash lives (the autosave recovery file)."""
    return _location(QStandardPaths.StandardLocation.GenericDataLocation)


def default_cache_dir() -> Path:
    """Where downloaded models and derived files go unless the user picks another folder."""
    return _location(QStandardPaths.StandardLocation.GenericCacheLocation)


@dataclass
class Settings:
    """Preferences edited in the Preferences dialog, plus what the app remembers (recent files)."""

    model_folders: list[str] = field(
        default_factory=list, metadata={"help": "Folders searched for model weights, one per line"}
    )
    device: Device = field(default="auto", metadata={"help": "Where engines run; auto picks CUDA when present"})
    cache_folder: str = field(
        default="", metadata={"path": "folder", "help": "Downloads and derived files; empty for the default"}
    )
    engines_on: EnginesOn = field(default="local", metadata={"gui": False})  # where jobs run unless a tab says otherwise
    cluster_address: str = field(default="", metadata={"gui": False})  # a Ray address: ray://HOST:10001, HOST:6379 or auto
    offline: bool = field(default=False, metadata={"help": "Engines never download models (use the model folders and the cache)"})
    model_choices: dict[str, str] = field(default_factory=dict, metadata={"gui": False})  # role -> hub id or folder (Models page)
    allow_pickle_models: list[str] = field(default_factory=list, metadata={"gui": False})  # roles allowed pickle weights
    memory_savers: Literal["none", "8gb", "4gb"] = field(
        default="none",
        metadata={"help": "Fit models in a small GPU, a little slower: 8gb slices attention and tiles images, 4gb also offloads"},
    )
    model_memory_gb: float = field(
        default=16.0, metadata={"min": 1.0, "max": 1024.0, "help": "Memory a worker may keep loaded models in between runs (GB)"}
    )
    checkpoint_every_s: int = field(
        default=60, metadata={"min": 0, "max": 3600, "help": "Seconds between a job's checkpoints; 0: only every 100 steps"}
    )
    autosave_interval_s: int = field(default=120, metadata={"min": 0, "max": 3600, "help": "0 turns autosave off"})
    ui_scale: float = field(default=1.0, metadata={"min": 0.5, "max": 3.0, "help": "Takes effect on the next start"})
    # the viewport (Viewport.apply_settings)
    viewport_background: tuple[float, float, float] = field(
        default=(0.13, 0.13, 0.15), metadata={"min": 0.0, "max": 1.0, "help": "Viewport background colour, RGB 0-1"}
    )
    selection_color: tuple[float, float, float] = field(
        default=SELECTION_COLOR[:3], metadata={"min": 0.0, "max": 1.0, "help": "Colour of selected splats and outlines, RGB 0-1"}
    )
    show_grid: bool = field(default=True, metadata={"help": "The ground grid in the viewport"})
    zoom_step: float = field(
        default=0.85, metadata={"min": 0.5, "max": 0.99, "help": "Distance factor of one wheel step towards the target"}
    )
    home_view: HomeView = field(default="three-quarter", metadata={"help": "The direction View > Reset View looks from"})
    recent_files: list[str] = field(default_factory=list, metadata={"gui": False})
    last_project: str = field(default="", metadata={"gui": False})

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_folder) if self.cache_folder else default_cache_dir()

    def add_recent(self, path: str | os.PathLike) -> None:
        """Put ``path`` first in the recent files (once), keeping at most ``MAX_RECENT``."""
        text = str(Path(path).resolve())
        self.recent_files = [text] + [p for p in self.recent_files if p != text][: MAX_RECENT - 1]

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        """The saved preferences, or defaults when there are none; unknown or bad keys are ignored.

        A damaged preferences file must never keep the app from starting.
        """
        path = path or settings_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        defaults, hints = cls(), get_type_hints(cls)
        values = {
            k: tuple(v) if isinstance(v, list) and isinstance(getattr(defaults, k), tuple) else v
            for k, v in raw.items()
            if k in known and _same_type(v, getattr(defaults, k)) and _allowed(v, hints[k])
        }
        return cls(**values)

    def save(self, path: Path | None = None) -> None:
        """Write the preferences whole or not at all (a full disk keeps the earlier ones)."""
        path = path or settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")


def _same_type(value: object, default: object) -> bool:
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, tuple):  # JSON keeps tuples as lists
        return (
            isinstance(value, list) and len(value) == len(default) and all(map(_same_type, value, default))
        )
    return type(value) is type(default)


def _allowed(value: object, hint: object) -> bool:
    """Whether ``value`` is one of a ``Literal`` field's choices (any value of other fields)."""
    return get_origin(hint) is not Literal or value in get_args(hint)


def settings_path() -> Path:
    return config_dir() / "settings.json"


def is_first_launch() -> bool:
    """True until preferences have been saved once (the studio then opens the demo project)."""
    return not settings_path().exists()
