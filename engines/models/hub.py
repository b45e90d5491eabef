"""Finding a model's folder on this machine, and fetching it when it is not here.

Every model is loaded from a local folder. A folder source is that folder; a hub id is looked
for in the user's model folders (``<folder>/<org>/<name>``, ``<folder>/<org>--<name>`` or
``<folder>/<name>``), then in the Hugging Face cache, and only then downloaded (the files a loader
needs: configs, vocabularies and safetensors weights; pickle weights only where allowed). With
downloads off (the offline setting, or ``HF_HUB_OFFLINE=1``) a model that is not here fails at
once with a message that names it and says how to get it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Sequence

from engines.models.errors import ModelError
from engines.models.folders import PICKLE_WEIGHTS, SAFE_WEIGHTS, check_folder
from engines.models.roles import ModelRole
from engines.models.source import ModelSource
from scene.io.atomic import atomic_folder

Progress = Callable[[float, str], None]  # (fraction 0-1, what) during a download

_NEEDED = ("*.json", "*.txt", "*.model", *SAFE_WEIGHTS)  # configs, vocabularies, weights
_SKIPPED = ("*.fp16.*", "*non_ema*", "*.ckpt", "*.msgpack", "*.onnx*", "*.h5", "*.ot", "*.pb")


def downloads_off(offline: bool = False) -> bool:
    """Whether downloading is off: by the user's setting or by ``HF_HUB_OFFLINE``."""
    return offline or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def model_label(role: ModelRole, source: ModelSource) -> str:
    """How messages name a model: "the text model stabilityai/stable-diffusion-2-1-base"."""
    return f"the {role.name} model {source}"


def in_model_folders(source: ModelSource, model_folders: Sequence[str]) -> Path | None:
    org, _, name = source.repo_id.partition("/")
    for root in map(Path, model_folders):
        for candidate in (root / org / name, root / f"{org}--{name}", root / name):
            if candidate.is_dir():
                return candidate
    return None


def in_cache(source: ModelSource, cache_dir: Path | None) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(source.repo_id, revision=source.revision, cache_dir=cache_dir, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError):
        return None


def locate(
    role: ModelRole, source: ModelSource, model_folders: Sequence[str] = (), cache_dir: Path | None = None
) -> Path | None:
    """The folder of ``source`` on this machine, or None when it must be downloaded first."""
    if source.folder is not None:
        return source.folder
    return in_model_folders(source, model_folders) or in_cache(source, cache_dir)


def how_to_get(role: ModelRole) -> str:
    return (
        f"download it with `atelier4d models download {role.name}` (or Preferences > Models) where there is "
        f"internet, or choose a local folder with `atelier4d models use {role.name} FOLDER`"
    )


def fetch(
    role: ModelRole,
    source: ModelSource,
    *,
    model_folders: Sequence[str] = (),
    cache_dir: Path | None = None,
    offline: bool = False,
    allow_pickle: bool = False,
    progress: Progress | None = None,
) -> Path:
    """The checked folder of ``source`` for ``role``, downloaded first if it is not here.

    Raises :class:`ModelError` when it is not here and cannot be fetched, or when the folder is not
    a valid model for the role. An exception ``progress`` raises stops the download and comes out
    unchanged: that is how a caller cancels."""
    folder = locate(role, source, model_folders, cache_dir)
    if folder is None:
        if downloads_off(offline):
            raise ModelError(f"{model_label(role, source)} is not on this machine and downloads are off; {how_to_get(role)}")
        folder = _download(role, source, cache_dir, allow_pickle, progress)
    check_folder(role, folder, allow_pickle)
    return folder


def _download(
    role: ModelRole, source: ModelSource, cache_dir: Path | None, allow_pickle: bool, progress: Progress | None
) -> Path:
    from huggingface_hub import snapshot_download

    patterns = [*_NEEDED, *PICKLE_WEIGHTS] if allow_pickle else list(_NEEDED)
    stopped: list[Exception] = []  # what ``progress`` raised to stop the download
    try:
        path = snapshot_download(
            source.repo_id, revision=source.revision, cache_dir=cache_dir, allow_patterns=patterns, ignore_patterns=list(_SKIPPED),
            tqdm_class=_progress_bar(progress, f"downloading {source}", stopped) if progress else None,
        )
    except Exception as exc:  # network, authentication, missing repository: all say the same to the user
        if stopped:
            raise stopped[0] from None  # the caller stopped it: not a failed download
        raise ModelError(f"{model_label(role, source)} could not be downloaded ({type(exc).__name__}: {exc}); {how_to_get(role)}") from None
    return Path(path)


def copy_folder(role: ModelRole, folder: Path, target_root: Path, allow_pickle: bool = False, progress: Progress | None = None) -> Path:
    """Copy a checked model folder into ``target_root`` (a model folder), reporting bytes copied. The
    copy is written beside its final name and swapped in whole (:func:`scene.io.atomic.atomic_folder`):
    a full disk or a kill leaves the earlier copy, never half a model that would load wrong."""
    check_folder(role, folder, allow_pickle)
    target = target_root / folder.name
    files = [path for path in folder.rglob("*") if path.is_file()]
    total = sum(path.stat().st_size for path in files) or 1
    target_root.mkdir(parents=True, exist_ok=True)
    done = 0
    with atomic_folder(target) as staging:
        for path in files:
            destination = staging / path.relative_to(folder)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            done += path.stat().st_size
            if progress is not None:
                progress(done / total, f"copying {path.relative_to(folder)}")
    return target


def _progress_bar(progress: Progress, text: str, stopped: list[Exception]) -> type:
    """A tqdm class that reports its fraction to ``progress`` (what huggingface_hub draws its bars
    with), keeping in ``stopped`` what ``progress`` raises."""
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            self.reported = getattr(self, "reported", 0) + (n or 0)  # counted here: a disabled bar keeps no count
            if self.total:
                try:
                    progress(min(1.0, self.reported / self.total), text)
                except Exception as exc:
                    stopped.append(exc)
                    raise
            return super().update(n)

    return Reporting
