"""Pretrained models by role: where they come from, how they are checked, fetched, loaded and kept.

* :mod:`roles` — the roles (text, novel-view, inpaint, depth, video, refiner) and their defaults;
* :mod:`source` — a hub id (``@revision``) or a folder;
* :mod:`folders` — what a folder must hold for a role (safetensors unless pickle is allowed);
* :mod:`hub` — finding a model on this machine, downloading it, failing fast when offline;
* :mod:`placement` — device, dtype and memory savers;
* :mod:`loading` — the real diffusers/transformers classes, from a checked folder;
* :mod:`cache` — models kept warm between runs within a byte budget;
* :mod:`zero123` — the camera projection of the zero123 layout.
"""

from engines.models.errors import ModelError
from engines.models.roles import ROLES, ModelRole, role_named
from engines.models.source import ModelSource

__all__ = ["ModelError", "ModelRole", "ModelSource", "ROLES", "role_named"]
