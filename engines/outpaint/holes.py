"""Which pixels of a render of the scene so far must be dreamed anew: the holes.

Two kinds, as in LucidDreamer: pixels nothing covers (low alpha), and pixels stretched across a depth
discontinuity, where a near surface's edge blends into a far one and the render is a smear of both.
Both are grown by a few pixels so the inpainting repaints the blurry rim along with the hole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def depth_edges(
    depth: Tensor,  # [H, W] z-depth
    valid: Tensor,  # [H, W] bool, pixels whose depth means something
    max_jump: float,
) -> Tensor:  # [H, W] bool
    """Pixels whose depth differs from a valid 4-neighbour's by more than ``max_jump`` of the nearer one.

    A relative threshold, so one setting serves near and far surfaces; both pixels of a jump are marked.
    Near the horizon of a surface seen edge-on depth grows that fast from pixel to pixel too: those
    pixels are stretched as well (each spans a long strip of the surface) and are marked with the rest.
    """
    edges = torch.zeros_like(valid)
    for dim in (0, 1):
        a, b = depth.narrow(dim, 0, depth.shape[dim] - 1), depth.narrow(dim, 1, depth.shape[dim] - 1)
        both = valid.narrow(dim, 0, valid.shape[dim] - 1) & valid.narrow(dim, 1, valid.shape[dim] - 1)
        jump = both & ((a - b).abs() > max_jump * torch.minimum(a, b))
        edges.narrow(dim, 0, depth.shape[dim] - 1).logical_or_(jump)
        edges.narrow(dim, 1, depth.shape[dim] - 1).logical_or_(jump)
    return edges


def grow_mask(mask: Tensor, pixels: int) -> Tensor:  # [H, W] bool -> [H, W] bool
    """``mask`` dilated by ``pixels`` in every direction (a square of side ``2 * pixels + 1``)."""
    if pixels <= 0:
        return mask.clone()
    grown = F.max_pool2d(mask[None, None].float(), 2 * pixels + 1, stride=1, padding=pixels)
    return grown[0, 0] > 0.5


def hole_mask(
    alpha: Tensor,  # [H, W] accumulated opacity of the render
    depth: Tensor,  # [H, W] rendered z-depth
    *,
    min_alpha: float = 0.5,
    max_jump: float = 0.05,
    grow: int = 2,
) -> Tensor:  # [H, W] bool, True = to dream
    """The pixels to inpaint in a render: empty ones (alpha under ``min_alpha``) and ones on a depth
    discontinuity (a relative jump over ``max_jump`` to a neighbour), grown by ``grow`` pixels."""
    if alpha.shape != depth.shape or alpha.dim() != 2:
        raise ValueError(
            f"hole_mask: alpha {tuple(alpha.shape)} and depth {tuple(depth.shape)} must be the same [H, W]"
        )
    covered = alpha >= min_alpha
    return grow_mask(~covered | depth_edges(depth, covered, max_jump), grow)
