"""Known objects for oracle runs: what a generator should recover, made here, independently of it."""

from __future__ import annotations

import numpy as np

from scene import GaussianCloud


def striped_ball(count: int = 6000, radius: float = 0.45, stripes: int = 6, seed: int = 1) -> GaussianCloud:
    """Small opaque splats on a sphere, in red and cream bands along the height: a textured object
    whose colour depends on where one looks from, so a wrong view shows."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(count, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    means = directions * radius
    band = np.floor((means[:, 1] / radius + 1.0) * stripes / 2.0) % 2
    colours = np.where(band[:, None] == 0, [0.9, 0.2, 0.1], [0.95, 0.9, 0.8])
    return GaussianCloud.create(means, radius * 0.09, colours, opacities=0.95)
