"""The document's current layer as views read it."""

from __future__ import annotations

from scene import Document, Layer


def current_layer(document: Document) -> Layer | None:
    """The current layer, or None; safe mid-undo, when an event arrives before the current id is updated."""
    return next((layer for layer in document.layers if layer.id == document.current_id), None)
