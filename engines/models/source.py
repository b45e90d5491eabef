"""Where a model comes from: a hub id (optionally ``@revision``) or a local folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelSource:
    """A hub repository (``repo_id`` at ``revision``, None: the default branch) or a ``folder``."""

    repo_id: str = ""
    revision: str | None = None
    folder: Path | None = None

    @classmethod
    def parse(cls, text: str) -> "ModelSource":
        """``org/name``, ``org/name@revision`` or a folder path (one that exists, or that starts
        with ``/``, ``.`` or ``~``); ValueError for anything else."""
        text = text.strip()
        looks_like_path = text.startswith(("/", ".", "~")) or "\\" in text
        if looks_like_path or Path(text).expanduser().is_dir():
            return cls(folder=Path(text).expanduser().resolve())
        repo_id, _, revision = text.partition("@")
        if not _HUB_ID.match(repo_id) or (_ and not revision):
            raise ValueError(f"{text!r} is neither a hub id (organisation/name, optionally @revision) nor a folder")
        return cls(repo_id=repo_id, revision=revision or None)

    @property
    def is_folder(self) -> bool:
        return self.folder is not None

    def __str__(self) -> str:
        if self.folder is not None:
            return str(self.folder)
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id
