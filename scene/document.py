"""``Document``: the artist's scene, as named layers with visibility and transforms, evented and undoable.

Every change goes through a method here, each one pushed on the undo stack as a command and
announced as an :class:`~scene.events.Event`, so the studio, the renderer and autosave can follow
the model without the model knowing about any of them. Layer payloads are immutable objects
(``GaussianCloud``, ``MeshAsset``, ``PointCloud``), so "did the data change?" is an identity check
(``layer.data is cached``) for anyone holding GPU buffers.

Whenever an event is emitted, ``current`` names a layer of the document (or is None), so a
listener may always read it. Event kinds: ``layer_added``, ``layer_removed``, ``layer_changed`` (``detail["field"]`` names the
field: ``name``, ``visible``, ``transform``, ``data``, ``display``), ``layers_reordered``,
``selection_changed`` (the current layer), ``splats_selected`` (a layer's splat selection mask),
``undo_changed`` (the undo stack's state, for menus and the title bar).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from scene.camera import Camera
from scene.events import Event, EventEmitter
from scene.gaussians import GaussianCloud
from scene.mesh import MeshAsset
from scene.points import PointCloud
from scene.transform import Transform
from scene.undo import Command, UndoStack

LayerData = Union[GaussianCloud, MeshAsset, PointCloud]


@dataclass(frozen=True)
class LayerDisplay:
    """How a layer is drawn, not what it is: display multipliers the Properties panel edits."""

    splat_scale: float = 1.0
    opacity_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 < self.splat_scale <= 10.0 and 0.0 <= self.opacity_scale <= 10.0):
            raise ValueError("LayerDisplay: splat_scale must be in (0, 10], opacity_scale in [0, 10]")


@dataclass
class Layer:
    """One named object of the document. Change it through :class:`Document` so undo and views follow."""

    name: str
    data: LayerData
    visible: bool = True
    transform: Transform = field(default_factory=Transform)
    display: LayerDisplay = field(default_factory=LayerDisplay)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def kind(self) -> str:
        """``splats``, ``mesh`` or ``points``."""
        if isinstance(self.data, GaussianCloud):
            return "splats"
        if isinstance(self.data, MeshAsset):
            return "mesh"
        return "points"

    def world_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds of the layer's content after its transform."""
        lo, hi = self.data.bounds()
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        m = self.transform.matrix()
        world = corners @ m[:3, :3].T + m[:3, 3]
        return world.min(axis=0), world.max(axis=0)


_LAYER_FIELDS = ("name", "visible", "transform", "data", "display")


class Document:
    """Ordered layers (drawn in order), a current layer, an undo stack and an event emitter."""

    def __init__(self) -> None:
        self._layers: list[Layer] = []
        self.current_id: str | None = None
        self.view: Camera | None = None  # the viewport camera saved with the project (not undoable)
        self._splat_selection: dict[str, np.ndarray] = {}
        self.events = EventEmitter()
        self.undo_stack = UndoStack()
        self.undo_stack.on_change = lambda: self.events.emit(Event("undo_changed"))

    # ----------------------------------------------------------------- queries
    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(self._layers)

    def layer(self, layer_id: str) -> Layer:
        for layer in self._layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(f"no layer with id {layer_id!r}")

    def index_of(self, layer_id: str) -> int:
        return self._layers.index(self.layer(layer_id))

    @property
    def current(self) -> Layer | None:
        return None if self.current_id is None else self.layer(self.current_id)

    def unique_name(self, base: str) -> str:
        """``base``, or ``base 2``, ``base 3``... whichever no layer has yet."""
        names = {layer.name for layer in self._layers}
        if base not in names:
            return base
        n = 2
        while f"{base} {n}" in names:
            n += 1
        return f"{base} {n}"

    def bounds(self, visible_only: bool = True) -> tuple[np.ndarray, np.ndarray] | None:
        """World bounds of all (visible) layers, or None when there is nothing."""
        boxes = [layer.world_bounds() for layer in self._layers if layer.visible or not visible_only]
        boxes = [(lo, hi) for lo, hi in boxes if np.isfinite(lo).all() and np.isfinite(hi).all()]
        if not boxes:
            return None
        return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.is_clean

    # ----------------------------------------------------------------- undoable edits
    def add_layer(self, layer: Layer, index: int | None = None, text: str | None = None) -> Layer:
        """Insert ``layer`` (at the end by default) and make it current."""
        position = len(self._layers) if index is None else index
        previous_current = self.current_id

        def apply() -> None:
            self._layers.insert(position, layer)
            self._set_current(layer.id)
            self.events.emit(Event("layer_added", layer.id, {"index": position}))

        def revert() -> None:
            self._layers.remove(layer)
            self._set_current(previous_current if self._has(previous_current) else None)
            self.events.emit(Event("layer_removed", layer.id))

        self.undo_stack.push(Command(text or f"Add {layer.name}", apply, revert))
        return layer

    def remove_layer(self, layer_id: str) -> None:
        layer = self.layer(layer_id)
        position = self.index_of(layer_id)
        was_current = self.current_id == layer_id

        def apply() -> None:
            self._layers.remove(layer)
            if self.current_id == layer.id:
                neighbour = self._layers[min(position, len(self._layers) - 1)].id if self._layers else None
                self._set_current(neighbour)
            self.events.emit(Event("layer_removed", layer.id))

        def revert() -> None:
            self._layers.insert(position, layer)
            self.events.emit(Event("layer_added", layer.id, {"index": position}))
            if was_current:
                self._set_current(layer.id)

        self.undo_stack.push(Command(f"Delete {layer.name}", apply, revert))

    def move_layer(self, layer_id: str, new_index: int) -> None:
        old_index = self.index_of(layer_id)
        new_index = max(0, min(new_index, len(self._layers) - 1))
        if new_index == old_index:
            return

        def move(src: int, dst: int) -> None:
            layer = self._layers.pop(src)
            self._layers.insert(dst, layer)
            self.events.emit(Event("layers_reordered", layer.id, {"index": dst}))

        name = self.layer(layer_id).name
        self.undo_stack.push(
            Command(f"Move {name}", lambda: move(old_index, new_index), lambda: move(new_index, old_index))
        )

    def set_layer(self, layer_id: str, text: str | None = None, **changes: object) -> None:
        """Change fields of a layer (name, visible, transform, data, display) as one undo step."""
        unknown = set(changes) - set(_LAYER_FIELDS)
        if unknown:
            raise TypeError(f"Layer has no editable field(s) {sorted(unknown)}")
        layer = self.layer(layer_id)
        before = {name: getattr(layer, name) for name in changes}
        self._validate_changes(changes)
        if all(_same(before[k], v) for k, v in changes.items()):
            return

        def assign(values: dict) -> None:
            for name, value in values.items():
                setattr(layer, name, value)
                self.events.emit(Event("layer_changed", layer.id, {"field": name}))

        label = text or f"Change {', '.join(changes)} of {layer.name}"
        self.undo_stack.push(Command(label, lambda: assign(changes), lambda: assign(before)))

    def replace_data_live(self, layer_id: str, data: LayerData) -> None:
        """Swap a layer's payload without an undo step: for engines streaming snapshots into a layer.

        The generation job as a whole is one undoable step (adding its layer); intermediate
        snapshots are not worth an undo entry each.
        """
        layer = self.layer(layer_id)
        self._validate_changes({"data": data})
        layer.data = data
        self.events.emit(Event("layer_changed", layer.id, {"field": "data", "live": True}))

    def set_current(self, layer_id: str | None) -> None:
        """Select the current layer (not an undo step, like selection in most tools)."""
        if layer_id is not None:
            self.layer(layer_id)
        self._set_current(layer_id)

    def splat_selection(self, layer_id: str) -> np.ndarray | None:
        """The layer's selected splats as a read-only bool mask, or None when nothing is selected.

        A mask that no longer fits the layer's data (the data was replaced since) counts as none.
        """
        mask = self._splat_selection.get(layer_id)
        data = self.layer(layer_id).data
        if mask is None or not isinstance(data, GaussianCloud) or len(mask) != data.count or not mask.any():
            return None
        return mask

    def select_splats(self, layer_id: str, mask: np.ndarray | None, text: str = "Select splats") -> None:
        """Set a splat layer's selection (None or an all-false mask clears it) as one undo step."""
        layer = self.layer(layer_id)
        if not isinstance(layer.data, GaussianCloud):
            raise TypeError(f"{layer.name} holds no splats to select")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool).copy()
            if mask.shape != (layer.data.count,):
                raise ValueError(f"selection mask has shape {mask.shape}, expected ({layer.data.count},)")
            mask.setflags(write=False)
            if not mask.any():
                mask = None
        before = self.splat_selection(layer_id)
        if (before is None and mask is None) or (
            before is not None and mask is not None and np.array_equal(before, mask)
        ):
            return

        def assign(value: np.ndarray | None) -> None:
            if value is None:
                self._splat_selection.pop(layer_id, None)
            else:
                self._splat_selection[layer_id] = value
            count = 0 if value is None else int(value.sum())
            self.events.emit(Event("splats_selected", layer_id, {"count": count}))

        self.undo_stack.push(Command(text, lambda: assign(mask), lambda: assign(before)))

    def undo(self) -> bool:
        return self.undo_stack.undo()

    def redo(self) -> bool:
        return self.undo_stack.redo()

    # ----------------------------------------------------------------- helpers
    def _has(self, layer_id: str | None) -> bool:
        return layer_id is not None and any(layer.id == layer_id for layer in self._layers)

    def _set_current(self, layer_id: str | None) -> None:
        if layer_id != self.current_id:
            self.current_id = layer_id
            self.events.emit(Event("selection_changed", layer_id))

    @staticmethod
    def _validate_changes(changes: dict) -> None:
        if "name" in changes and (not isinstance(changes["name"], str) or not changes["name"].strip()):
            raise ValueError("a layer name must be a non-empty string")
        if "visible" in changes and not isinstance(changes["visible"], bool):
            raise TypeError("visible must be a bool")
        if "transform" in changes and not isinstance(changes["transform"], Transform):
            raise TypeError("transform must be a scene.Transform")
        if "display" in changes and not isinstance(changes["display"], LayerDisplay):
            raise TypeError("display must be a scene.document.LayerDisplay")
        if "data" in changes and not isinstance(changes["data"], (GaussianCloud, MeshAsset, PointCloud)):
            raise TypeError(f"a layer cannot hold {type(changes['data']).__name__}")


def _same(a: object, b: object) -> bool:
    if isinstance(a, (GaussianCloud, MeshAsset, PointCloud)):
        return a is b
    return bool(a == b)


__all__ = ["Document", "Layer", "LayerData", "LayerDisplay"]
