"""The geometry of growing a scene view by view (LucidDreamer-style outpainting).

Lift a view's pixels into Gaussians with their depth (:mod:`.lift`), find the holes in a render of the
scene so far from the next camera (:mod:`.holes`), fit the depth estimate of the inpainted view to the
scene (:mod:`.align`) and make it meet the old geometry at the holes' borders (:mod:`.seams`).
"""

from engines.outpaint.align import DepthAlignment, DepthKind, ScaleShift, align_depth, fit_scale_shift
from engines.outpaint.holes import depth_edges, grow_mask, hole_mask
from engines.outpaint.lift import lift_gaussians, pixel_footprint, project_points, unproject_depth
from engines.outpaint.seams import harmonic_fill, stitch_depth

__all__ = [
    "DepthAlignment",
    "DepthKind",
    "ScaleShift",
    "align_depth",
    "depth_edges",
    "fit_scale_shift",
    "grow_mask",
    "harmonic_fill",
    "hole_mask",
    "lift_gaussians",
    "pixel_footprint",
    "project_points",
    "stitch_depth",
    "unproject_depth",
]
