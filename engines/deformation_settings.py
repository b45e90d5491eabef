"""The deformation field's size: the settings of :mod:`engines.deformation`, in a module of their own that
imports no torch, so the animate-4d config (and the CLI that lists it) loads light."""

from __future__ import annotations

from dataclasses import dataclass, field

from engines.fields import check_fields


@dataclass
class DeformationSettings:
    """The deformation field's size (the defaults are 4D Gaussian Splatting's, as DreamGaussian4D uses them)."""

    resolution: tuple[int, int, int, int] = field(default=(64, 64, 64, 25), metadata={"min": 2, "max": 512})
    """Cells of the coarsest grid along x, y, z and time."""
    levels: int = field(default=2, metadata={"min": 1, "max": 4})
    """Grids whose features are joined, at 1, 2, 4... times the resolution in space (time keeps its own)."""
    features: int = field(default=32, metadata={"min": 1, "max": 256})
    """Features of each plane."""
    hidden: int = field(default=64, metadata={"min": 1, "max": 1024})
    """Width of the MLP that turns the features into the changes."""

    def __post_init__(self) -> None:
        check_fields(self)
