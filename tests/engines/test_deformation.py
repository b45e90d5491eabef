"""The deformation field: shapes, no motion before it learns, gradients to every part, and a known motion learnt."""

import math

import pytest
import torch

from engines.deformation import Deformation, HexPlane, motion_regularization, quaternion_product
from engines.deformation_settings import DeformationSettings
from engines.fields import FieldError

SMALL = DeformationSettings(resolution=(8, 8, 8, 6), levels=2, features=8, hidden=16)


def gaussians(count=200, seed=0):
    generator = torch.Generator().manual_seed(seed)
    means = torch.rand(count, 3, generator=generator) * 1.6 - 0.8
    quats = torch.nn.functional.normalize(torch.randn(count, 4, generator=generator), dim=-1)
    log_scales = torch.randn(count, 3, generator=generator) - 3.0
    return means, quats, log_scales


def test_the_grid_has_six_planes_per_level_and_joins_the_levels_features():
    grid = HexPlane((8, 8, 8, 6), features=5, levels=3)
    assert [len(planes) for planes in grid.grids] == [6, 6, 6]
    assert grid.grids[2][0].shape == (1, 5, 32, 32) and grid.grids[2][5].shape == (1, 5, 6, 32)  # xy at 4x; zt keeps time's 6
    assert grid(torch.rand(10, 4) * 2 - 1).shape == (10, 15)


def test_an_untrained_field_is_no_motion_at_all():
    torch.manual_seed(0)
    field = Deformation(SMALL, bound=1.0)
    means, quats, log_scales = gaussians()
    for t in (0.0, 0.4, 1.0):
        moved = field(means, quats, log_scales, t)
        for before, after in zip((means, quats, log_scales), moved):
            assert after.shape == before.shape
            torch.testing.assert_close(after, before, atol=1e-6, rtol=0)
    rough, still = motion_regularization(field.grid)
    assert rough.item() == 0.0 and still.item() == 0.0


def test_gradients_reach_the_heads_first_and_then_the_grid():
    torch.manual_seed(0)
    field = Deformation(SMALL, bound=1.0)
    means, quats, log_scales = gaussians()
    moved = field(means, quats, log_scales, 0.5)
    sum(part.square().sum() * 0.0 + part.sum() for part in moved).backward()
    assert all(head.weight.grad.abs().sum() > 0 for head in (field.position, field.rotation, field.scale))
    optimizer = torch.optim.SGD(field.parameters(), lr=0.1)
    optimizer.step()
    field.zero_grad()
    moved = field(means, quats, log_scales, 0.5)
    moved[0].sum().backward()
    assert all(plane.grad is not None and plane.grad.abs().sum() > 0 for plane in field.grid.grids[0])


def test_the_rotation_change_turns_the_gaussians_in_world_space():
    turn = torch.tensor([[math.cos(math.pi / 4), 0.0, math.sin(math.pi / 4), 0.0]])  # 90 degrees about +Y
    identity = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(quaternion_product(turn, identity), turn)
    torch.testing.assert_close(quaternion_product(turn, turn), torch.tensor([[0.0, 0.0, 1.0, 0.0]]), atol=1e-6, rtol=0)


def test_it_learns_a_known_small_motion():
    """A slide and a turn of the points over time, fitted from random times, checked at others."""
    torch.manual_seed(0)
    field = Deformation(SMALL, bound=1.0)
    means, quats, log_scales = gaussians(300)

    def truth(t):
        angle = 0.5 * t
        c, s = math.cos(angle), math.sin(angle)
        x, y, z = means.unbind(-1)
        return torch.stack([c * x + s * z + 0.2 * t, y + 0.1 * t * t, -s * x + c * z], dim=-1)

    heads = [p for name, p in field.named_parameters() if not name.startswith("grid.")]
    optimizer = torch.optim.Adam([{"params": field.grid.parameters(), "lr": 1e-2}, {"params": heads, "lr": 1e-3}])
    generator = torch.Generator().manual_seed(1)
    for _ in range(300):
        t = float(torch.rand((), generator=generator))
        loss = (field(means, quats, log_scales, t)[0] - truth(t)).square().sum(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for t in (0.13, 0.55, 0.91):
        with torch.no_grad():
            error = (field(means, quats, log_scales, t)[0] - truth(t)).norm(dim=-1).mean().item()
        moved = (truth(t) - means).norm(dim=-1).mean().item()
        assert error < 0.2 * moved, (t, error, moved)  # about 0.11 here


def test_settings_out_of_range_say_which():
    with pytest.raises(FieldError, match="levels: must be at most 4"):
        DeformationSettings(levels=5)
