"""The GPU layer cache: one drawer per drawn layer, kept across frames by layer id.

A layer is (re)uploaded only when ``layer.data`` is a different object (payloads are immutable),
and a drawer is made anew only when the payload's kind changes. Within a time budget, a drawer may
take several frames to upload a big payload while it still draws the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import render.clip_drawer  # noqa: F401  (registers the built-in drawers)
import render.meshes  # noqa: F401
import render.points  # noqa: F401
import render.splat_drawer  # noqa: F401
from render.drawers import Drawer, DrawerResources, drawer_for
from scene.document import Layer


@dataclass
class _Entry:
    data: object  # the payload the drawer holds (None until its first upload is complete)
    drawer: Drawer


@dataclass(frozen=True)
class SyncResult:
    """What :meth:`LayerCache.sync` did."""

    uploads: int  # payloads that finished uploading
    pending: bool  # an upload is still under way: call again


class LayerCache:
    """Drawers of the layers last synced, by layer id."""

    def __init__(self, resources: DrawerResources) -> None:
        self.resources = resources
        self._entries: dict[str, _Entry] = {}

    @staticmethod
    def drawable(layers: Iterable[Layer]) -> tuple[Layer, ...]:
        """The layers with anything to draw (an empty payload gets no drawer: GL has no empty buffers)."""
        return tuple(layer for layer in layers if drawer_for(layer.data).has_content(layer.data))

    def sync(self, layers: tuple[Layer, ...], budget_end: float) -> SyncResult:
        """Drop the drawers of layers no longer there; upload layers whose payload changed."""
        ids = {layer.id for layer in layers}
        for gone in set(self._entries) - ids:
            self._entries.pop(gone).drawer.release()
        uploads, pending = 0, False
        for layer in layers:
            entry = self._entries.get(layer.id)
            if entry is not None and entry.data is layer.data:
                entry.drawer.cancel_upload()  # the layer went back to the data already drawn
                continue
            drawer_class = drawer_for(layer.data)
            if entry is not None and type(entry.drawer) is not drawer_class:
                self._entries.pop(layer.id).drawer.release()
                entry = None
            if entry is None:
                entry = self._entries[layer.id] = _Entry(None, drawer_class(self.resources))
            if not entry.drawer.upload_within(layer.data, budget_end):
                pending = True
                continue
            entry.data = layer.data
            uploads += 1
        return SyncResult(uploads, pending)

    def drawer(self, layer_id: str) -> Drawer:
        return self._entries[layer_id].drawer

    def data(self, layer_id: str) -> object:
        """The payload the layer's drawer holds now (None before its first upload is complete)."""
        return self._entries[layer_id].data

    @property
    def busy(self) -> bool:
        """An upload or a sort under way in some drawer."""
        return any(entry.drawer.busy for entry in self._entries.values())

    def clear(self) -> None:
        """Release every drawer."""
        for entry in self._entries.values():
            entry.drawer.release()
        self._entries.clear()
