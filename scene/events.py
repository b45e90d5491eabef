"""What a :class:`~scene.Document` announces, as small typed events, and the emitter that delivers them.

Views follow the Qt-free model through these (as napari's models do): each change is its own
frozen dataclass, so a listener dispatches on the type (``match event: case LayerChanged(...)``)
instead of comparing strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal

if TYPE_CHECKING:
    from scene.playback import Playback

LayerField = Literal["name", "visible", "transform", "data", "display", "provenance"]


@dataclass(frozen=True)
class DocumentEvent:
    """The base of every document event, for typing listeners."""


@dataclass(frozen=True)
class LayerAdded(DocumentEvent):
    """A layer was inserted at ``index`` of the drawing order (also when a removal is undone)."""

    layer_id: str
    index: int


@dataclass(frozen=True)
class LayerRemoved(DocumentEvent):
    """A layer left the document (also when an addition is undone)."""

    layer_id: str


@dataclass(frozen=True)
class LayerChanged(DocumentEvent):
    """One field of a layer changed; ``live`` marks a streamed payload that is no undo step."""

    layer_id: str
    field: LayerField
    live: bool = False


@dataclass(frozen=True)
class LayersReordered(DocumentEvent):
    """A layer moved to ``index`` of the drawing order."""

    layer_id: str
    index: int


@dataclass(frozen=True)
class CurrentLayerChanged(DocumentEvent):
    """Another layer (or none) is the current one, the layer panels and tools work on."""

    layer_id: str | None


@dataclass(frozen=True)
class SplatsSelected(DocumentEvent):
    """A splat layer's selection mask changed; ``count`` splats are selected now."""

    layer_id: str
    count: int


@dataclass(frozen=True)
class UndoChanged(DocumentEvent):
    """The undo stack changed (a step done, undone, redone or cleared): for menus, title and autosave."""


@dataclass(frozen=True)
class TimeChanged(DocumentEvent):
    """The document's time (the playhead, in seconds) moved to ``time``."""

    time: float


@dataclass(frozen=True)
class PlaybackChanged(DocumentEvent):
    """The timeline's playback settings (frame rate, in/out range, loop, speed) are now ``playback``."""

    playback: "Playback"


@dataclass(frozen=True)
class PathChanged(DocumentEvent):
    """A camera path was added, removed, or had its keys or name changed (also when undone)."""

    path_id: str


Listener = Callable[[DocumentEvent], None]


class EventEmitter:
    """Listeners are called in connection order, on the thread that emits."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def connect(self, listener: Listener) -> Listener:
        self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def emit(self, event: DocumentEvent) -> None:
        for listener in list(self._listeners):
            listener(event)


__all__ = [
    "CurrentLayerChanged",
    "DocumentEvent",
    "EventEmitter",
    "LayerAdded",
    "LayerChanged",
    "LayerField",
    "LayerRemoved",
    "LayersReordered",
    "Listener",
    "PlaybackChanged",
    "SplatsSelected",
    "TimeChanged",
    "UndoChanged",
]
