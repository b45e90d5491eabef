"""How Gaussians become a mesh: the settings of :mod:`engines.meshing.extract`, in a module of their own
that imports no torch, so the engine configs holding them (and the CLI that lists them) load light."""

from __future__ import annotations

from dataclasses import dataclass, field

from engines.fields import check_fields


@dataclass
class MeshingSettings:
    """How Gaussians become a mesh (DreamGaussian's stage 2, its threshold lowered to meet the splats' outline)."""

    resolution: int = field(default=128, metadata={"min": 8, "max": 1024})
    """Density samples along the longest side of the box; memory and time grow as its cube."""
    threshold: float = field(default=0.2, metadata={"min": 0.0})
    """Density at which the surface lies. The density is the sum of each Gaussian's opacity times
    its bell (1 at its centre). DreamGaussian's 1.0 ("as dense as one fully opaque Gaussian's
    centre") falls inside what a grown object's many small, faint splats show (their renders are
    opaque wherever a ray crosses enough faint density) and leaves holes; 0.2 with the smoothing
    puts the mesh's outline on the renders' (within a few percent)."""
    face_budget: int = field(default=100_000, metadata={"min": 4})
    """Most triangles the mesh keeps after decimation (DreamGaussian decimates to 100k)."""
    min_part_fraction: float = field(default=0.05, metadata={"min": 0.0, "max": 1.0})
    """Connected parts with fewer faces than this fraction of the largest part's are dropped as floaters."""
    smoothing: float = field(default=2.0, metadata={"min": 0.0, "max": 8.0})
    """Blur of the density before the surface is taken, in voxels (a Gaussian's sigma; 0: none). A
    thin shell grown from many small, faint splats is porous at the threshold; a blur of 1.5-2
    voxels with a threshold of 0.2-0.3 closes it into one watertight skin."""
    fill_radius: int = field(default=4, metadata={"min": 0, "max": 16})
    """Inside filling, in voxels: what a ball of this radius cannot reach from outside (cavities, and
    pores narrower than it that lead into them) becomes solid, so the mesh is one outer skin
    (0: only closed cavities are filled)."""

    def __post_init__(self) -> None:
        check_fields(self)
