"""Hole masks: empty pixels and pixels stretched across depth discontinuities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engines.outpaint import depth_edges, hole_mask, lift_gaussians
from engines.rasterizer import camera_to_tensors, rasterize
from scene import Camera

H, W = 20, 30


def columns(first: int, last: int) -> torch.Tensor:
    """The mask of columns ``first..last`` (inclusive) of an ``[H, W]`` image."""
    mask = torch.zeros(H, W, dtype=torch.bool)
    mask[:, first : last + 1] = True
    return mask


@pytest.mark.parametrize("grow", [0, 1, 3])
@pytest.mark.parametrize("near, far", [(1.0, 2.0), (10.0, 11.0)])  # relative: 100% and 10% jumps
def test_near_plane_over_far_plane_masks_exactly_the_discontinuity_band(grow, near, far):
    depth = torch.full((H, W), far)
    depth[:, :12] = near  # the near plane's edge lies between columns 11 and 12
    mask = hole_mask(torch.ones(H, W), depth, max_jump=0.05, grow=grow)
    assert torch.equal(mask, columns(11 - grow, 12 + grow))


def test_jumps_under_the_threshold_are_not_holes():
    depth = torch.full((H, W), 10.0)
    depth[:, :12] = 10.4  # a 4% step
    assert not hole_mask(torch.ones(H, W), depth, max_jump=0.05).any()
    assert hole_mask(torch.ones(H, W), depth, max_jump=0.03).any()


def test_empty_pixels_are_holes():
    alpha = torch.ones(H, W)
    depth = torch.full((H, W), 3.0)
    alpha[5:9, 20:26] = 0.1
    depth[5:9, 20:26] = 0.0  # what an empty pixel renders: no jump to it is counted twice
    empty = torch.zeros(H, W, dtype=torch.bool)
    empty[5:9, 20:26] = True
    assert torch.equal(hole_mask(alpha, depth, grow=0), empty)
    grown = torch.zeros(H, W, dtype=torch.bool)
    grown[3:11, 18:28] = True
    assert torch.equal(hole_mask(alpha, depth, grow=2), grown)


def test_a_smooth_slanted_plane_has_no_holes():
    v, u = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    depth = 1.0 / (0.2 + 0.006 * u + 0.004 * v)  # a plane (inverse depth affine) receding from 2.2 to 4.9
    assert depth.max() / depth.min() > 2
    assert not hole_mask(torch.ones(H, W), depth).any()
    # near the horizon of a plane seen edge-on each pixel spans many: those count as stretched
    grazing = 1.0 / (0.02 + 0.006 * u + 0.004 * v)
    assert hole_mask(torch.ones(H, W), grazing, grow=0)[0, :3].all()


def test_a_render_looking_behind_a_near_plane_has_holes_at_its_edge():
    """Lifted near and far planes seen from aside: holes open along the near plane's edge."""
    camera = Camera.look_at([0, 0, 3.0], [0, 0, 0], width=W, height=H, fov_y_deg=50)
    depth = torch.full((H, W), 4.0, dtype=torch.float64)
    depth[:, :15] = 2.0
    cloud = lift_gaussians(torch.full((H, W, 3), 0.5, dtype=torch.float64), depth, camera)
    aside = Camera.look_at([0.6, 0, 3.0], [0.6, 0, 0], width=W, height=H, fov_y_deg=50)
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
    out = rasterize(
        t(cloud.means), t(cloud.quats), t(cloud.scales), t(cloud.opacities), t(cloud.base_colors),
        *camera_to_tensors([aside], torch.float64), backend="torch",
    )  # fmt: skip
    mask = hole_mask(out.alpha[0, ..., 0], out.depth[0, ..., 0], grow=0)
    edge_column = int(camera.fx * (-0.6) / 2.0 + W / 2)  # where the near plane's edge (x = 0) lands
    assert mask[H // 2, edge_column - 1 : edge_column + 3].any()  # around the edge
    assert not mask[H // 2, : edge_column - 4].any() and not mask[H // 2, edge_column + 6 : W - 6].any()


def test_depth_edges_ignore_invalid_neighbours():
    depth = torch.full((H, W), 1.0)
    depth[:, 10] = 50.0
    valid = torch.ones(H, W, dtype=torch.bool)
    valid[:, 10] = False
    assert not depth_edges(depth, valid, 0.05).any()
