"""``PointCloud``: coloured points, as found in a PLY that has neither faces nor 3DGS properties."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from scene.gaussians import GaussianCloud
from scene.validation import as_array, axis_bounds, same_length


@dataclass(frozen=True, eq=False)
class PointCloud:
    """Points ``[N, 3]`` with RGB colours ``[N, 3]`` in 0-1 (grey when the file had none)."""

    points: np.ndarray
    colors: np.ndarray | None = None

    def __post_init__(self) -> None:
        points = as_array("PointCloud.points", self.points, np.float32, (None, 3))
        if self.colors is None:
            colors = np.full((len(points), 3), 0.7, dtype=np.float32)
        else:
            colors = as_array("PointCloud.colors", self.colors, np.float32, (None, 3))
        same_length("PointCloud", points=points, colors=colors)
        for name, value in (("points", points), ("colors", colors)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def count(self) -> int:
        return len(self.points)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds ``(min, max)`` of the points; zeros for an empty cloud."""
        return self._bounds

    @cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:  # the cloud is immutable: compute once
        return axis_bounds(self.points)

    def transformed(self, matrix: np.ndarray) -> "PointCloud":
        m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
        return PointCloud(self.points @ m[:3, :3].T + m[:3, 3], self.colors)

    def to_gaussians(self, scale: float | None = None, opacity: float = 0.95) -> GaussianCloud:
        """Isotropic Gaussians at the points, sized by the mean point spacing unless ``scale`` is given.

        This is how 3DGS seeds an optimisation from an SfM point cloud, and how splat viewers draw
        a plain point cloud.
        """
        if scale is None:
            lo, hi = self.bounds()
            extent = float(np.max(hi - lo)) if self.count else 1.0
            scale = max(extent, 1e-6) / max(self.count, 1) ** (1.0 / 3.0) * 0.5
        return GaussianCloud.create(self.points, scale, self.colors, opacity)
