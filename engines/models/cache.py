"""Models kept in memory between runs, least recently used evicted past a byte budget.

Loading a diffusion model takes seconds to minutes; a second run with the same model must not
pay that again. A worker process keeps its cache for the jobs it runs (see
:mod:`engines.runtime.worker`); the budget bounds what it holds.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable


def model_bytes(model: Any) -> int:
    """Bytes of the tensors in ``model``: a torch module, or an object whose ``components`` (a
    pipeline's, or a holder's) include some; each tensor counted once."""
    import torch

    parts = [model, *getattr(model, "components", {}).values()]
    tensors = {
        id(tensor): tensor
        for part in parts
        if isinstance(part, torch.nn.Module)
        for tensor in (*part.parameters(), *part.buffers())
    }
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors.values())


class ModelCache:
    """``get(key, load)`` returns the model loaded earlier under ``key`` or loads it now."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._models: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key][0]
        model = load()
        self._models[key] = (model, model_bytes(model))
        self._evict(keep=key)
        return model

    def __contains__(self, key: Hashable) -> bool:
        return key in self._models

    @property
    def held_bytes(self) -> int:
        return sum(size for _, size in self._models.values())

    def _evict(self, keep: Hashable) -> None:
        """Drop the least recently used models until the rest fit (the newest always stays)."""
        while self.held_bytes > self.budget_bytes and len(self._models) > 1:
            oldest = next(iter(self._models))
            if oldest == keep:
                break
            del self._models[oldest]

    def clear(self) -> None:
        self._models.clear()
