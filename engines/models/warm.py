"""The models a worker keeps loaded between runs (see :mod:`engines.runtime.manager`: workers stay warm).

One cache per worker process: a run asks for a role's model; if a previous run in this worker
loaded the same choice on the same device, in the same precision, it is handed over at once.
The refiner shares the text model's components when both are the same choice (as diffusers'
``StableDiffusionImg2ImgPipeline(**text.components)``), so it costs no memory of its own.
"""

from __future__ import annotations

from typing import Any, Callable

from engines.models.cache import ModelCache
from engines.models.hub import fetch
from engines.models.loading import load_model
from engines.models.placement import MemorySavers, Placement
from engines.models.roles import role_named
from engines.models.source import ModelSource

_GB = 2**30
_cache = ModelCache(int(16 * _GB))


def warm_cache() -> ModelCache:
    """This process's cache of loaded models."""
    return _cache


def warm_model(
    role_name: str,
    settings: Any,  # engines.runtime.context.WorkerSettings (engines.runtime imports this module lazily)
    placement: Placement,
    savers: MemorySavers = MemorySavers(),
    progress: Callable[[float | None, str], None] | None = None,
) -> Any:
    """``role_name``'s model as ``settings`` choose it, from this process's cache or loaded now."""
    role = role_named(role_name)
    source = ModelSource.parse(settings.model_choice(role.name, role.default))
    allow_pickle = role.name in settings.allow_pickle
    _cache.budget_bytes = int(settings.model_memory_gb * _GB)
    key = (role.name, str(source), placement, allow_pickle, savers)
    if key in _cache:
        return _cache.get(key, lambda: None)

    def load() -> Any:
        if role.name == "refiner":
            text = role_named("text")
            if ModelSource.parse(settings.model_choice(text.name, text.default)) == source:
                from diffusers import StableDiffusionImg2ImgPipeline

                pipeline = warm_model(text.name, settings, placement, savers, progress)
                return StableDiffusionImg2ImgPipeline(**pipeline.components)
        if progress is not None:
            progress(None, f"finding the {role.name} model {source}")
        folder = fetch(
            role, source, model_folders=settings.model_folders, offline=settings.offline, allow_pickle=allow_pickle,
            progress=progress,
        )
        if progress is not None:
            progress(None, f"loading the {role.name} model {source}")
        return load_model(role, folder, placement, allow_pickle=allow_pickle, savers=savers)

    return _cache.get(key, load)
