"""Where each role's model stands on this machine: the choice, where it is, how big; and removing it.

The command line (``atelier4d models``) and the studio's Models page show the same facts from
here. Nothing is loaded: this only looks at folders and the Hugging Face cache.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

from engines.models.hub import in_cache, in_model_folders
from engines.models.roles import ROLES, ModelRole
from engines.models.source import ModelSource

Where = Literal["folder", "model folder", "cache", "missing"]


@dataclass(frozen=True)
class RoleStatus:
    """One role: the model chosen for it and where that model is."""

    role: ModelRole
    source: ModelSource
    is_default: bool
    where: Where  # "folder": the user's own folder; "model folder": found in a model folder; "cache": downloaded
    folder: Path | None  # None when missing
    size_bytes: int

    @property
    def here(self) -> bool:
        return self.folder is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.name, "choice": str(self.source), "default": self.is_default, "where": self.where,
            "folder": str(self.folder) if self.folder else None, "size_bytes": self.size_bytes,
        }


def folder_size(folder: Path) -> int:
    """Bytes of the files under ``folder`` (links followed: the cache links snapshots to blobs)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def size_text(size_bytes: int) -> str:
    """A size as people read it: "2.58 GB", "98.3 MB"."""
    return f"{size_bytes / 1e9:.2f} GB" if size_bytes >= 1e8 else f"{size_bytes / 1e6:.1f} MB"


def disk_usage(statuses: Sequence[RoleStatus]) -> int:
    """Bytes the models of ``statuses`` take on disk, a folder shared by roles counted once."""
    return sum({status.folder: status.size_bytes for status in statuses if status.here}.values())


def role_status(role: ModelRole, choice: str, model_folders: Sequence[str] = (), cache_dir: Path | None = None) -> RoleStatus:
    """Where ``choice`` (a hub id or a folder) for ``role`` is on this machine."""
    source = ModelSource.parse(choice)
    where: Where
    if source.folder is not None:
        folder, where = (source.folder if source.folder.is_dir() else None), "folder"
    elif (found := in_model_folders(source, model_folders)) is not None:
        folder, where = found, "model folder"
    else:
        folder, where = in_cache(source, cache_dir), "cache"
    if folder is None:
        where = "missing"
    return RoleStatus(role, source, choice == role.default, where, folder, folder_size(folder) if folder else 0)


def inventory(choices: dict[str, str], model_folders: Sequence[str] = (), cache_dir: Path | None = None) -> list[RoleStatus]:
    """Every role's status, with the user's ``choices`` (role -> hub id or folder) over the defaults."""
    return [role_status(role, choices.get(role.name, role.default), model_folders, cache_dir) for role in ROLES.values()]


def remove_from_cache(source: ModelSource, cache_dir: Path | None = None) -> int:
    """Delete a downloaded hub model from the Hugging Face cache (every revision); the bytes freed.
    A folder of the user's own is never deleted here."""
    if source.folder is not None:
        raise ValueError(f"{source} is your own folder; remove it with your file manager if you want it gone")
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        cache = scan_cache_dir(cache_dir)
    except CacheNotFound:
        return 0
    freed = 0
    for repo in cache.repos:
        if repo.repo_id == source.repo_id and repo.repo_type == "model":
            freed += repo.size_on_disk
            shutil.rmtree(repo.repo_path)
    return freed
