"""A toy payload kind defined by a test module alone: ``Markers`` (coloured positions), kind ``markers``.

Importing this module registers the kind, which is all a new kind needs; the tests use it to check
that the document, the project file, the stream and the renderer handle kinds they were not
written for. Keep it a plain module (no tests here) so every test package can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scene.kinds import dataclass_kind, register_kind
from scene.validation import as_array, axis_bounds, same_length


@dataclass(frozen=True, eq=False)
class Markers:
    """Positions ``[N, 3]`` and RGB colours ``[N, 3]`` in 0-1, float32, validated on construction."""

    positions: np.ndarray
    colors: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", as_array("Markers.positions", self.positions, np.float32, (None, 3)))
        object.__setattr__(self, "colors", as_array("Markers.colors", self.colors, np.float32, (None, 3)))
        same_length("Markers", positions=self.positions, colors=self.colors)

    @property
    def count(self) -> int:
        return len(self.positions)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return axis_bounds(self.positions)

    def transformed(self, matrix: np.ndarray) -> "Markers":
        m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
        return Markers(self.positions @ m[:3, :3].T + m[:3, 3], self.colors)


MARKERS = register_kind(
    dataclass_kind(
        "markers",
        Markers,
        "markers",
        describe=lambda markers: f"{markers.count:,} markers",
    )
)


# ----------------------------------------------------------------------------- its drawer (render/)
from render.drawers import register_drawer  # noqa: E402  (the renderer's part of the kind, kept apart)
from render.points import PointDrawer  # noqa: E402


class MarkersDrawer(PointDrawer):
    """Draws markers as square points, with the point-cloud layers' shader."""

    @staticmethod
    def vertices(markers: Markers) -> tuple[np.ndarray, np.ndarray]:
        return markers.positions, markers.colors


register_drawer("markers", MarkersDrawer)
