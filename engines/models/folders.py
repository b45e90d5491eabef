"""What a model folder must hold for its role, checked before anything is loaded.

A folder is checked component by component, so a broken download or a wrong folder says which
part is missing or wrong instead of failing deep inside a loader. Weights must be safetensors
unless pickle weights (``.bin``, ``.pt``, ``.ckpt``: loading them can run code) are allowed for
the model.
"""

from __future__ import annotations

import json
from pathlib import Path

from engines.models.errors import ModelError
from engines.models.roles import ModelRole

SAFE_WEIGHTS = ("*.safetensors",)
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt")
_WEIGHTLESS = frozenset({"tokenizer", "scheduler", "feature_extractor"})  # configs and vocabularies only


def _files(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    return [path for pattern in patterns for path in folder.glob(pattern)]


def _check_weights(part: Path, what: str, allow_pickle: bool) -> None:
    """ModelError unless ``part`` holds weights this model may load."""
    if _files(part, SAFE_WEIGHTS):
        return
    if _files(part, PICKLE_WEIGHTS):
        if allow_pickle:
            return
        raise ModelError(
            f"{what} has only pickle weights ({', '.join(p.name for p in _files(part, PICKLE_WEIGHTS))}), which "
            "can run code when loaded; allow pickle weights for this model (Preferences > Models, or "
            "--allow-pickle-weights) if you trust where it came from"
        )
    raise ModelError(f"{what} has no weights (no .safetensors file in {part})")


def check_folder(role: ModelRole, folder: Path, allow_pickle: bool = False) -> None:
    """ModelError naming the first missing or wrong part of ``folder`` as a model for ``role``."""
    name = f"the {role.name} model folder {folder}"
    if not folder.is_dir():
        raise ModelError(f"{name} does not exist")
    if role.layout == "transformers":
        if not (folder / "config.json").is_file():
            raise ModelError(f"{name} is not a model folder: it has no config.json")
        if not (folder / "preprocessor_config.json").is_file():
            raise ModelError(f"{name} has no image processor (preprocessor_config.json)")
        _check_weights(folder, name, allow_pickle)
        return
    index = folder / "model_index.json"
    if not index.is_file():
        raise ModelError(f"{name} is not a diffusers model folder: it has no model_index.json")
    try:
        listed = json.loads(index.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{name}: model_index.json cannot be read ({exc})") from None
    for component in role.components:
        part = folder / component
        what = f"{name}: its {component}"
        if component not in listed or not part.is_dir():
            raise ModelError(f"{what} is missing (the role needs {', '.join(role.components)})")
        if not any(part.glob("*.json")):
            raise ModelError(f"{what} has no configuration (.json)")
        if component not in _WEIGHTLESS:
            _check_weights(part, what, allow_pickle)
