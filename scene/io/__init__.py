"""File formats of Atelier4D (filled in by the formats work)."""

from scene.io.atomic import atomic_output
from scene.io.errors import FormatError

__all__ = ["FormatError", "atomic_output"]
