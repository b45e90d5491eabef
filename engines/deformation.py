"""The deformation field of a 4D object: where each Gaussian of the canonical object is at time t.

4D Gaussian Splatting (Wu et al.) and DreamGaussian4D move a static object with a field of
(position, time): a HexPlane / K-planes grid, six feature planes over the pairs of the four
coordinates (xy, xz, yz for space, xt, yt, zt for motion), sampled bilinearly at a Gaussian's
centre and time and multiplied together (the Hadamard product: a feature is large only where all
six planes agree), at one or more resolutions, then a small MLP turns the features into the
Gaussian's change of position, rotation (a quaternion) and log-scale.

The heads start at zero, so an untrained field is no motion at all: the object stands as its
static stage made it, and the optimization only has to add what the video shows.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from engines.deformation_settings import DeformationSettings

PLANES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
"""The coordinate pairs of the six planes (x, y, z, t = 0, 1, 2, 3): three of space, three of motion."""


class HexPlane(nn.Module):
    """Six feature planes per level; ``forward(xyzt)`` is their product's features ``[N, features * levels]``."""

    def __init__(self, resolution: Sequence[int], features: int, levels: int = 1) -> None:
        super().__init__()
        self.grids = nn.ModuleList()
        for level in range(levels):
            sizes = [int(r) * 2**level for r in resolution[:3]] + [int(resolution[3])]
            planes = nn.ParameterList()
            for a, b in PLANES:
                if b == 3:  # motion planes start at one: the product is then the spatial planes' alone
                    plane = torch.ones(1, features, sizes[b], sizes[a])
                else:  # K-planes' start for space: small positive features
                    plane = torch.empty(1, features, sizes[b], sizes[a]).uniform_(0.1, 0.5)
                planes.append(nn.Parameter(plane))
            self.grids.append(planes)
        self.out_features = features * levels

    def forward(self, xyzt: Tensor) -> Tensor:  # [N, 4] in [-1, 1] -> [N, out_features]
        outputs = []
        for planes in self.grids:
            product = 1.0
            for (a, b), plane in zip(PLANES, planes):
                coords = xyzt[:, [a, b]].view(1, -1, 1, 2)  # grid_sample reads (x = column, y = row)
                sampled = F.grid_sample(plane, coords, mode="bilinear", padding_mode="border", align_corners=True)
                product = product * sampled[0, :, :, 0].T  # [N, features]
            outputs.append(product)
        return torch.cat(outputs, dim=-1)


class Deformation(nn.Module):
    """``forward(means, quats, log_scales, t)``: the Gaussians moved to time ``t`` (0-1 over the clip).

    Positions are normalized by ``bound`` (the canonical object's half extent, so it fills the grid);
    the changes come from the :class:`HexPlane` features through an MLP whose three heads start at zero.
    """

    def __init__(self, settings: DeformationSettings = DeformationSettings(), bound: float = 1.0) -> None:
        super().__init__()
        self.bound = float(bound)
        self.grid = HexPlane(settings.resolution, settings.features, settings.levels)
        self.trunk = nn.Sequential(nn.Linear(self.grid.out_features, settings.hidden), nn.ReLU())
        self.position = nn.Linear(settings.hidden, 3)
        self.rotation = nn.Linear(settings.hidden, 4)
        self.scale = nn.Linear(settings.hidden, 3)
        for head in (self.position, self.rotation, self.scale):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def deltas(self, means: Tensor, t: float | Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The changes at ``t`` of Gaussians centred at ``means`` ``[N, 3]``: position ``[N, 3]``,
        rotation ``[N, 4]`` (added to the identity quaternion) and log-scale ``[N, 3]``."""
        time = torch.as_tensor(t, dtype=means.dtype, device=means.device).expand(len(means), 1)
        xyzt = torch.cat([(means / self.bound).clamp(-1.0, 1.0), time * 2.0 - 1.0], dim=-1)
        hidden = self.trunk(self.grid(xyzt))
        return self.position(hidden), self.rotation(hidden), self.scale(hidden)

    def forward(self, means: Tensor, quats: Tensor, log_scales: Tensor, t: float | Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Means ``[N, 3]``, unit quaternions ``[N, 4]`` (wxyz) and log-scales ``[N, 3]`` at ``t``: the
        position change added, the rotation change applied in world space (``dq * q``), the
        log-scale change added."""
        d_position, d_rotation, d_scale = self.deltas(means, t)
        identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=quats.dtype, device=quats.device)
        turn = F.normalize(identity + d_rotation, dim=-1)
        return means + d_position, quaternion_product(turn, F.normalize(quats, dim=-1)), log_scales + d_scale


def motion_regularization(grid: HexPlane) -> tuple[Tensor, Tensor]:
    """4D Gaussian Splatting's regularizers of the motion planes: their roughness along time (the
    squared second difference: motion without jerks) and their mean distance from one (L1: no
    motion where the video shows none)."""
    rough, still = [], []
    for planes in grid.grids:
        for (_, b), plane in zip(PLANES, planes):
            if b != 3:
                continue
            if plane.shape[2] > 2:
                rough.append(((plane[:, :, 2:] - 2 * plane[:, :, 1:-1] + plane[:, :, :-2]) ** 2).mean())
            still.append((plane - 1.0).abs().mean())
    zero = grid.grids[0][0].new_zeros(())
    return sum(rough, zero), sum(still, zero)


def quaternion_product(p: Tensor, q: Tensor) -> Tensor:  # [..., 4] wxyz each -> [..., 4]
    """The Hamilton product ``p * q`` (the rotation ``q`` then ``p``)."""
    pw, px, py, pz = p.unbind(-1)
    qw, qx, qy, qz = q.unbind(-1)
    return torch.stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ],
        dim=-1,
    )
