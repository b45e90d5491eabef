"""The opacity-weighted density of a set of Gaussians, sampled on a regular grid.

The density at a point ``x`` is DreamGaussian's (``extract_fields``)::

    D(x) = sum_i opacity_i * exp(-0.5 * (x - mean_i)^T Sigma_i^-1 (x - mean_i))

with ``Sigma = R S S^T R^T``. Each Gaussian is evaluated only within ``REACH`` standard deviations
of its centre (Mahalanobis distance), so the cost is the number of (Gaussian, nearby grid point)
pairs, not Gaussians times grid points: every Gaussian adds its values into the voxels of a small
window around its centre. Gaussians are grouped by window size and handled in chunks of a bounded
number of pairs, which keeps memory flat whatever the count (100k Gaussians at 128^3 on a CPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engines.rasterizer.projection import covariances, quat_to_rotmat

REACH = 3.0
"""Standard deviations (Mahalanobis distance) beyond which a Gaussian adds nothing."""
PAIRS_PER_CHUNK = 1 << 22
"""Most (Gaussian, grid point) pairs evaluated at once: about 100 MB of temporaries."""


@dataclass(frozen=True)
class DensityGrid:
    """Density samples on cubic voxels: sample ``(i, j, k)`` lies at ``origin + (i, j, k) * voxel``."""

    values: np.ndarray  # [X, Y, Z] float32
    origin: np.ndarray  # [3] float64, world position of sample (0, 0, 0)
    voxel: float  # spacing between neighbouring samples, world units

    def to_world(self, indices: np.ndarray) -> np.ndarray:
        """World positions ``[M, 3]`` of (fractional) grid coordinates ``[M, 3]``."""
        return self.origin + np.asarray(indices, dtype=np.float64) * self.voxel


def default_box(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz
    scales: Tensor,  # [N, 3] linear
) -> tuple[np.ndarray, np.ndarray]:
    """The axis-aligned box ``(low [3], high [3])`` holding every Gaussian out to its reach."""
    reach = REACH * torch.sqrt(torch.diagonal(covariances(quats, scales), dim1=-2, dim2=-1))  # [N, 3]
    low = (means - reach).min(dim=0).values
    high = (means + reach).max(dim=0).values
    return low.double().numpy(), high.double().numpy()


def density_grid(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz, normalized here
    scales: Tensor,  # [N, 3] linear (activated)
    opacities: Tensor,  # [N] activated, 0-1
    resolution: int,
    box: tuple[np.ndarray, np.ndarray] | None = None,  # (low [3], high [3]); default: default_box
) -> DensityGrid:
    """Sample the Gaussians' density on cubic voxels, ``resolution`` samples along the box's longest side."""
    means, quats, scales, opacities = (
        torch.as_tensor(t, dtype=torch.float32).detach().cpu() for t in (means, quats, scales, opacities)
    )
    low, high = default_box(means, quats, scales) if box is None else (np.asarray(b, np.float64) for b in box)
    grid = _empty_grid(low, high, resolution)
    values = torch.zeros(grid.values.shape, dtype=torch.float32)
    dims = torch.tensor(grid.values.shape)
    centres = torch.round((means.double() - torch.from_numpy(grid.origin)) / grid.voxel).long()  # [N, 3]
    half_widths = _half_widths(quats, scales, grid.voxel)  # [N]
    precisions = _precisions(quats, scales)  # [N, 3, 3]
    touching = ((centres + half_widths[:, None] >= 0) & (centres - half_widths[:, None] < dims)).all(dim=1)
    for half_width in torch.unique(half_widths[touching]).tolist():
        group = torch.nonzero(touching & (half_widths == half_width)).squeeze(1)
        window = torch.minimum(torch.full((3,), 2 * half_width + 1), dims)  # [3] samples per axis
        offsets = torch.stack(
            torch.meshgrid(*(torch.arange(int(n)) for n in window), indexing="ij"), dim=-1
        ).reshape(-1, 3)  # [K, 3]
        starts = torch.minimum(torch.clamp(centres[group] - half_width, min=0), dims - window)  # [G, 3]
        chunk = max(1, PAIRS_PER_CHUNK // len(offsets))
        for first in range(0, len(group), chunk):
            chunk_group = group[first : first + chunk]
            gaussians = (means[chunk_group], precisions[chunk_group], opacities[chunk_group])
            _add_window(values, grid, *gaussians, starts[first : first + chunk], offsets)
    return DensityGrid(values.numpy(), grid.origin, grid.voxel)


def _empty_grid(low: np.ndarray, high: np.ndarray, resolution: int) -> DensityGrid:
    """A zero grid of cubic voxels centred on the box, ``resolution`` samples along its longest side."""
    if resolution < 2:
        raise ValueError(f"the grid needs at least 2 samples a side, got {resolution}")
    size = np.maximum(high - low, 0.0)
    voxel = max(float(size.max()), 1e-9) / (resolution - 1)
    shape = np.minimum(np.ceil(size / voxel - 1e-6).astype(int) + 1, resolution)
    origin = (low + high) / 2 - (shape - 1) * voxel / 2
    return DensityGrid(np.zeros(tuple(shape), np.float32), origin, voxel)


def _half_widths(
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    voxel: float,
) -> Tensor:  # [N] int64
    """Half the side, in samples, of the cube that holds each Gaussian out to its reach."""
    sigmas = torch.sqrt(torch.diagonal(covariances(quats, scales), dim1=-2, dim2=-1))  # [N, 3]
    return torch.ceil(REACH * sigmas.max(dim=1).values / voxel).long()


def _precisions(
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
) -> Tensor:  # [N, 3, 3]
    """Inverse covariances ``R S^-2 R^T`` (scales floored so that a flat Gaussian stays finite)."""
    rot = quat_to_rotmat(quats)
    inverse_variances = 1.0 / torch.clamp(scales, min=1e-8) ** 2
    return (rot * inverse_variances[:, None, :]) @ rot.transpose(-1, -2)


def _add_window(
    values: Tensor,  # [X, Y, Z] accumulated in place
    grid: DensityGrid,
    means: Tensor,  # [G, 3]
    precisions: Tensor,  # [G, 3, 3]
    opacities: Tensor,  # [G]
    starts: Tensor,  # [G, 3] int64, first sample of each Gaussian's window
    offsets: Tensor,  # [K, 3] int64, samples of a window relative to its start
) -> None:
    """Add each Gaussian's density to the samples of its window that lie within its reach.

    With ``b`` the window's start relative to the centre and ``o`` a sample's offset in it,
    ``(b + o)^T P (b + o) = b^T P b + 2 (P b)^T o + o^T P o``: a polynomial in ``o`` whose
    coefficients depend on the Gaussian alone, so all pairs come from one matrix product.
    """
    b = torch.from_numpy(grid.origin).float() + starts.float() * grid.voxel - means  # [G, 3]
    pb = (precisions @ b[:, :, None]).squeeze(-1)  # [G, 3]
    rows, cols = torch.triu_indices(3, 3)
    coefficients = torch.cat(
        [(pb * b).sum(dim=1, keepdim=True), 2 * pb, precisions[:, rows, cols] * (1 + (rows != cols))], dim=1
    )  # [G, 10]
    o = offsets.float() * grid.voxel  # [K, 3]
    monomials = torch.cat([torch.ones(len(o), 1), o, o[:, rows] * o[:, cols]], dim=1)  # [K, 10]
    exponents = (coefficients @ monomials.T).mul_(-0.5)  # [G, K] -0.5 * squared Mahalanobis distance
    weights = torch.exp(exponents).mul_(opacities[:, None])  # [G, K]
    weights.masked_fill_(exponents < -0.5 * REACH * REACH, 0.0)  # beyond the reach (masking beats gathering)
    strides = torch.tensor(values.stride())  # a window never wraps, so flat indices add up
    flat = (starts @ strides)[:, None] + (offsets @ strides)[None, :]  # [G, K]
    values.view(-1).index_add_(0, flat.view(-1), weights.view(-1))
