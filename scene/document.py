"""``Document``: the artist's scene, as named layers with visibility and transforms, evented and undoable.

Every change goes through a method here, each one pushed on the undo stack as a command and
announced as a typed :class:`~scene.events.DocumentEvent`, so the studio, the renderer and autosave
can follow the model without the model knowing about any of them. Layer payloads are immutable objects
of a registered kind (:mod:`scene.kinds`: splats, mesh, points, ...), so "did the data change?" is
an identity check (``layer.data is cached``) for anyone holding GPU buffers.

Whenever an event is emitted, ``current`` names a layer of the document (or is None), so a
listener may always read it. Events: ``LayerAdded``, ``LayerRemoved``, ``LayerChanged`` (its ``field``
is ``name``, ``visible``, ``transform``, ``data``, ``display`` or ``provenance``), ``LayersReordered``,
``CurrentLayerChanged``, ``SplatsSelected`` (a layer's splat selection mask), ``PathChanged`` (a camera
path added, removed or edited: the document also holds named :class:`~scene.camera_path.CameraPath` s,
edited as undo steps like layers), ``UndoChanged`` (the undo
stack's state, for menus and the title bar), ``TimeChanged`` (the playhead) and ``PlaybackChanged``
(the timeline's :class:`~scene.playback.Playback`). The current layer and the time are view state,
not undo steps; so are the playback settings, though the project keeps them (see :meth:`Document.set_playback`).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from scene.camera import Camera
from scene.camera_path import CameraPath
from scene.events import (
    CurrentLayerChanged,
    EventEmitter,
    LayerAdded,
    LayerChanged,
    LayerRemoved,
    LayersReordered,
    PathChanged,
    PlaybackChanged,
    SplatsSelected,
    TimeChanged,
    UndoChanged,
)
from scene.kinds import PayloadKind, is_payload, kind_of
from scene.playback import Playback
from scene.transform import Transform
from scene.undo import Command, UndoStack

LayerData = Any  # an instance of a registered payload kind (scene.kinds)


@dataclass(frozen=True)
class LayerDisplay:
    """How a layer is drawn, not what it is: display multipliers the Properties panel edits."""

    splat_scale: float = 1.0
    opacity_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 < self.splat_scale <= 10.0 and 0.0 <= self.opacity_scale <= 10.0):
            raise ValueError("LayerDisplay: splat_scale must be in (0, 10], opacity_scale in [0, 10]")


@dataclass(frozen=True)
class Provenance:
    """How a generated layer was made, so that it can be made again: the engine's name, the settings
    it ran with (its config as a plain dict, as JSON holds it; the seed is one of them) and the
    model each role it used came from (role -> hub id or folder).

    Plain data only: the studio fills it in, the project file keeps it, and "Run again" reads it.
    """

    engine: str
    config: Mapping[str, Any]
    models: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.engine, str) or not self.engine:
            raise ValueError("Provenance.engine must name an engine")
        if not isinstance(self.config, Mapping):
            raise TypeError("Provenance.config must be a dict of settings")
        if not isinstance(self.models, Mapping) or not all(
            isinstance(role, str) and isinstance(source, str) for role, source in self.models.items()
        ):
            raise TypeError("Provenance.models must map role names to model sources")
        # a private copy as JSON reads it back (tuples become lists), refusing what JSON cannot hold
        object.__setattr__(self, "config", json.loads(json.dumps(dict(self.config), allow_nan=False)))
        object.__setattr__(self, "models", dict(self.models))

    @property
    def seed(self) -> int | None:
        """The config's seed, when it has one."""
        return self.config.get("seed")

    def to_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "config": dict(self.config), "models": dict(self.models)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Provenance":
        """The inverse of :meth:`to_dict`; TypeError or ValueError for anything else."""
        return cls(values["engine"], values["config"], values.get("models", {}))


@dataclass
class Layer:
    """One named object of the document. Change it through :class:`Document` so undo and views follow.

    ``provenance`` says how an engine made it (None for a layer imported or made by hand).
    """

    name: str
    data: LayerData
    visible: bool = True
    transform: Transform = field(default_factory=Transform)
    display: LayerDisplay = field(default_factory=LayerDisplay)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    provenance: Provenance | None = None

    @property
    def payload_kind(self) -> PayloadKind:
        """The registered kind of the layer's payload."""
        return kind_of(self.data)

    @property
    def kind(self) -> str:
        """The name of the payload's kind: ``splats``, ``mesh``, ``points`` or another registered one."""
        return self.payload_kind.name

    def world_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds of the layer's content after its transform."""
        lo, hi = self.payload_kind.bounds(self.data)
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        m = self.transform.matrix()
        world = corners @ m[:3, :3].T + m[:3, 3]
        return world.min(axis=0), world.max(axis=0)


@dataclass(frozen=True)
class NamedPath:
    """A camera path of the document under its name (fly-throughs, the path an outpainted scene grew along).

    Immutable: an edit replaces it through :meth:`Document.set_path`, so undo keeps the old one.
    """

    name: str
    path: CameraPath
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a camera path's name must not be empty")
        if not isinstance(self.path, CameraPath):
            raise TypeError("NamedPath.path must be a scene.camera_path.CameraPath")


_LAYER_FIELDS = ("name", "visible", "transform", "data", "display", "provenance")


class Document:
    """Ordered layers (drawn in order), a current layer, the time, an undo stack and an event emitter."""

    def __init__(self) -> None:
        self._layers: list[Layer] = []
        self._paths: list[NamedPath] = []
        self.current_id: str | None = None
        self._time = 0.0
        self._playback = Playback()
        self.view: Camera | None = None  # the viewport camera saved with the project (not undoable)
        self._splat_selection: dict[str, np.ndarray] = {}
        self.events = EventEmitter()
        self.undo_stack = UndoStack()
        self.undo_stack.on_change = lambda: self.events.emit(UndoChanged())

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

    @property
    def time(self) -> float:
        """The playhead in seconds: the moment time-varying layers show (static layers look the same)."""
        return self._time

    @property
    def playback(self) -> Playback:
        """How the timeline plays: its frame rate, in/out range, loop and speed."""
        return self._playback

    def play_range(self) -> tuple[float, float]:
        """The in and out points in seconds, an open out point resolved against the clips (see :meth:`Playback.play_range`)."""
        return self._playback.play_range(layer.data for layer in self._layers)

    def unique_name(self, base: str) -> str:
        """``base``, or ``base 2``, ``base 3``... whichever no layer has yet."""
        return _unused_name(base, {layer.name for layer in self._layers})

    def bounds(self, visible_only: bool = True) -> tuple[np.ndarray, np.ndarray] | None:
        """World bounds of all (visible) layers, or None when there is nothing."""
        boxes = [layer.world_bounds() for layer in self._layers if layer.visible or not visible_only]
        boxes = [(lo, hi) for lo, hi in boxes if np.isfinite(lo).all() and np.isfinite(hi).all()]
        if not boxes:
            return None
        return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)

    @property
    def paths(self) -> tuple[NamedPath, ...]:
        """The camera paths, in the order they were added."""
        return tuple(self._paths)

    def named_path(self, path_id: str) -> NamedPath:
        for named in self._paths:
            if named.id == path_id:
                return named
        raise KeyError(f"no camera path with id {path_id!r}")

    def unique_path_name(self, base: str = "Path") -> str:
        """``base``, or ``base 2``, ``base 3``... whichever no camera path has yet."""
        return _unused_name(base, {named.name for named in self._paths})

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
            self.events.emit(LayerAdded(layer.id, position))

        def revert() -> None:
            self._layers.remove(layer)
            self._set_current(previous_current if self._has(previous_current) else None)
            self.events.emit(LayerRemoved(layer.id))

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
            self.events.emit(LayerRemoved(layer.id))

        def revert() -> None:
            self._layers.insert(position, layer)
            self.events.emit(LayerAdded(layer.id, position))
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
            self.events.emit(LayersReordered(layer.id, dst))

        name = self.layer(layer_id).name
        self.undo_stack.push(
            Command(f"Move {name}", lambda: move(old_index, new_index), lambda: move(new_index, old_index))
        )

    def set_layer(self, layer_id: str, text: str | None = None, **changes: object) -> None:
        """Change fields of a layer (name, visible, transform, data, display, provenance) as one undo step."""
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
                self.events.emit(LayerChanged(layer.id, name))

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
        self.events.emit(LayerChanged(layer.id, "data", live=True))

    def add_path(self, named: NamedPath, text: str | None = None) -> NamedPath:
        """Add the camera path ``named`` (at the end) as one undo step."""
        if not isinstance(named, NamedPath):
            raise TypeError("add_path takes a scene.document.NamedPath")
        if any(other.id == named.id for other in self._paths):
            raise ValueError(f"the document already has a camera path with id {named.id!r}")

        def apply() -> None:
            self._paths.append(named)
            self.events.emit(PathChanged(named.id))

        def revert() -> None:
            self._paths.remove(named)
            self.events.emit(PathChanged(named.id))

        self.undo_stack.push(Command(text or f"Add {named.name}", apply, revert))
        return named

    def remove_path(self, path_id: str) -> None:
        """Delete a camera path as one undo step."""
        named = self.named_path(path_id)
        position = self._paths.index(named)

        def apply() -> None:
            self._paths.remove(named)
            self.events.emit(PathChanged(path_id))

        def revert() -> None:
            self._paths.insert(position, named)
            self.events.emit(PathChanged(path_id))

        self.undo_stack.push(Command(f"Delete {named.name}", apply, revert))

    def set_path(
        self, path_id: str, path: CameraPath | None = None, name: str | None = None, text: str | None = None
    ) -> None:
        """Give a camera path new keys (``path``, e.g. ``old.added(key)``) and/or a new ``name`` as one undo step."""
        before = self.named_path(path_id)
        after = replace(before, path=before.path if path is None else path, name=before.name if name is None else name)
        if after == before:
            return

        def assign(value: NamedPath) -> None:
            self._paths[self._paths.index(self.named_path(path_id))] = value
            self.events.emit(PathChanged(path_id))

        label = text or f"Edit {before.name}"
        self.undo_stack.push(Command(label, lambda: assign(after), lambda: assign(before)))

    def set_current(self, layer_id: str | None) -> None:
        """Select the current layer (not an undo step, like selection in most tools)."""
        if layer_id is not None:
            self.layer(layer_id)
        self._set_current(layer_id)

    def set_time(self, time: float) -> None:
        """Move the playhead to ``time`` seconds (not an undo step, like the current layer)."""
        time = float(time)
        if not math.isfinite(time):
            raise ValueError(f"the document's time must be a finite number of seconds, got {time}")
        if time != self._time:
            self._time = time
            self.events.emit(TimeChanged(time))

    def set_playback(self, playback: Playback | None = None, **changes: Any) -> None:
        """Replace the playback settings with ``playback`` and/or change some of their fields.

        Not an undo step, like the time: the frame rate and the in/out range say how the document
        plays, not what it holds, and they are tuned by dragging (a marker drag sends a change per
        mouse move); undo keeps to edits of the content, so Ctrl+Z after moving a key undoes the
        key, not a range tweak made since. The project file keeps them all the same.
        """
        if playback is not None and not isinstance(playback, Playback):
            raise TypeError("set_playback takes a scene.playback.Playback")
        playback = replace(playback or self._playback, **changes)
        if playback != self._playback:
            self._playback = playback
            self.events.emit(PlaybackChanged(playback))

    def splat_selection(self, layer_id: str) -> np.ndarray | None:
        """The layer's selected splats as a read-only bool mask, or None when nothing is selected.

        A mask that no longer fits the layer's data (the data was replaced since) counts as none.
        """
        mask = self._splat_selection.get(layer_id)
        data = self.layer(layer_id).data
        kind = kind_of(data)
        if mask is None or not kind.selectable or len(mask) != kind.count(data) or not mask.any():
            return None
        return mask

    def select_splats(self, layer_id: str, mask: np.ndarray | None, text: str = "Select splats") -> None:
        """Set a splat layer's selection (None or an all-false mask clears it) as one undo step."""
        layer = self.layer(layer_id)
        kind = layer.payload_kind
        if not kind.selectable:
            raise TypeError(f"{layer.name} holds no splats to select")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool).copy()
            count = kind.count(layer.data)
            if mask.shape != (count,):
                raise ValueError(f"selection mask has shape {mask.shape}, expected ({count},)")
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
            self.events.emit(SplatsSelected(layer_id, count))

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
            self.events.emit(CurrentLayerChanged(layer_id))

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
        if "data" in changes and not is_payload(changes["data"]):
            raise TypeError(f"a layer cannot hold {type(changes['data']).__name__}")
        if "provenance" in changes and not isinstance(changes["provenance"], (Provenance, type(None))):
            raise TypeError("provenance must be a scene.document.Provenance or None")


def _same(a: object, b: object) -> bool:
    if is_payload(a):
        return a is b
    return bool(a == b)


__all__ = ["Document", "Layer", "LayerData", "LayerDisplay", "NamedPath", "Provenance"]


def _unused_name(base: str, names: set[str]) -> str:
    """``base``, or ``base 2``, ``base 3``... whichever is not in ``names``."""
    if base not in names:
        return base
    n = 2
    while f"{base} {n}" in names:
        n += 1
    return f"{base} {n}"
