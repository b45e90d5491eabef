"""Benchmark baseline: the CPU rasterizer's tiled compositor in plain autograd, no hand-written backward.

The same binning and culling (:func:`~engines.rasterizer.cpu.bin_gaussians`), the same
per-intersection log-alpha quadratics and the same per-block compositing math as
:mod:`engines.rasterizer.cpu`, in ordinary differentiable torch ops, so autograd records every block
and derives the backward. It measures what the hand-written backward adds (``benches/rasterizer.py``)
and is tested to give the same images and gradients; nothing renders with it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from engines.rasterizer.cpu import (
    BLOCK,
    TILE,
    bin_gaussians,
    block_index,
    block_weights,
    intersection_coeffs,
    intersection_table,
    pixel_basis,
    untile,
)
from engines.rasterizer.formation import RasterOutput, render


def composite_tiles_autograd(
    means2d: Tensor,  # [C, N, 2]
    conics: Tensor,  # [C, N, 3]
    opacities: Tensor,  # [C, N]
    features: Tensor,  # [C, N, D]
    radii: Tensor,  # [C, N, 2] int, 0 = culled
    depths: Tensor,  # [C, N]
    width: int,
    height: int,
    tile: int = TILE,
    block: int = BLOCK,
) -> Tensor:  # [C, H, W, D + 1]
    """:func:`~engines.rasterizer.cpu.composite_tiles` with autograd's backward (a ``Compositor``)."""
    binning = bin_gaussians(means2d, radii, depths, width, height, tile, block)
    coeffs = intersection_coeffs(means2d, conics, opacities, binning)
    table = intersection_table(coeffs, features.reshape(-1, features.shape[-1])[binning.gaussian])
    phi = pixel_basis(tile, table.dtype, table.device)
    out = table.new_zeros(len(depths) * binning.tiles_x * binning.tiles_y, phi.shape[0], table.shape[1] - 6)
    if not binning.blocks:
        return untile(out, binning, width, height)
    index = [block_index(binning, tiles, length, len(table) - 1) for tiles, length in binning.blocks]
    # one gather for every block, so that the backward scatters into the table once, not per block
    gathered = table.index_select(0, torch.cat([i.view(-1) for i in index]))
    sums = []
    for rows, idx in zip(gathered.split([i.numel() for i in index]), index):
        rows = rows.view(*idx.shape, -1)  # [t, L, 6 + D + 1]
        sums.append(block_weights(phi, rows[..., :6])[-1] @ rows[..., 6:])
    tiles = torch.cat([tiles for tiles, _ in binning.blocks])
    return untile(out.index_copy(0, tiles, torch.cat(sums)), binning, width, height)


def rasterize_autograd_tiles(*args, **kwargs) -> RasterOutput:
    """:func:`engines.rasterizer.rasterize` with :func:`composite_tiles_autograd` (same arguments, no
    backend)."""
    return render(composite_tiles_autograd, *args, **kwargs)
