"""A minimal synchronous event emitter, so views can follow a Qt-free model (as napari's models do)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Event:
    """Something changed: ``kind`` says what, ``layer_id`` which layer (if any), ``detail`` the rest."""

    kind: str
    layer_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Event], None]


class EventEmitter:
    """Listeners are called in connection order, on the thread that emits."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def connect(self, listener: Listener) -> Listener:
        self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)
