"""The one error the model manager raises: its message is what the artist reads, whole."""

from __future__ import annotations


class ModelError(Exception):
    """A model cannot be found, fetched or loaded; ``str(error)`` names the model, the role and
    what to do about it, and the runtime shows it without a traceback."""
