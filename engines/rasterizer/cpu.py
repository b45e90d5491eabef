"""Tiled PyTorch compositor with a hand-written backward: the CPU rasterizer.

Gaussians are binned to ``tile x tile`` pixel tiles by their bounding boxes, sorted by (camera, tile,
depth), and composited a batch of tiles at a time in padded ``[tiles, pixels, list]`` blocks small
enough to stay in cache. Inside a tile every fragment's log-alpha is a quadratic in the pixel's
offset from the tile centre, ``log a = phi(u) . k`` with ``phi(u) = (1, ux, uy, ux^2, ux uy, uy^2)``,
so one small matmul evaluates a whole block. The backward recomputes each block instead of keeping
an autograd graph of every pixel-fragment pair, and returns gradients of the per-intersection
coefficients ``k`` and features; autograd carries them back to means, conics and opacities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from engines.rasterizer.formation import ALPHA_MAX, T_MIN
from engines.rasterizer.projection import ALPHA_MIN

TILE = 8  # tile side in pixels: small tiles waste fewer pairs; the centred quadratic stays precise
BLOCK = 1 << 19  # pixel-fragment pairs per block (tiles x pixels x list length): 2 MB in fp32


@dataclass(frozen=True)
class Binning:
    """Which Gaussians touch which tiles, in compositing order."""

    tile: int  # tile side in pixels
    tiles_x: int
    tiles_y: int
    gaussian: Tensor  # [M] flat index c * N + n of each intersection, sorted by (camera, tile, depth)
    tile_id: Tensor  # [M] global tile index c * T + ty * tiles_x + tx of each intersection
    offsets: Tensor  # [C * T] first intersection of each tile
    counts: Tensor  # [C * T] intersections per tile
    blocks: list[tuple[Tensor, int]]  # (tile ids, padded list length) per block of similar tiles


def bin_gaussians(
    means2d: Tensor,  # [C, N, 2]
    radii: Tensor,  # [C, N, 2] int, 0 = culled
    depths: Tensor,  # [C, N]
    width: int,
    height: int,
    tile: int = TILE,
    block: int = BLOCK,
) -> Binning:
    """Intersect bounding boxes with tiles (gsplat's tile range rule) and plan the blocks.

    Index work on detached positions: it records no autograd graph.
    """
    n_cams, n = depths.shape
    tiles_x, tiles_y = math.ceil(width / tile), math.ceil(height / tile)
    n_tiles = tiles_x * tiles_y
    dev = means2d.device
    gid = (radii > 0).all(dim=-1).reshape(-1).nonzero().squeeze(1)  # [V] visible, flat
    gid = gid[torch.argsort(depths.detach().reshape(-1)[gid], stable=True)]  # front to back
    centre = means2d.detach().reshape(-1, 2)[gid]
    radius = radii.reshape(-1, 2)[gid].to(centre.dtype)
    limit = torch.tensor([tiles_x, tiles_y], device=dev)
    lo = torch.minimum(torch.floor((centre - radius) / tile).long().clamp(min=0), limit)  # [V, 2]
    hi = torch.minimum(torch.ceil((centre + radius) / tile).long().clamp(min=0), limit)
    span = hi - lo
    per_gauss = span[:, 0] * span[:, 1]  # [V]
    owner = torch.repeat_interleave(torch.arange(len(gid), device=dev), per_gauss)  # [M]
    local = torch.arange(len(owner), device=dev) - (torch.cumsum(per_gauss, 0) - per_gauss)[owner]
    width_o = span[owner, 0]
    tile_id = (gid[owner] // n) * n_tiles + (lo[owner, 1] + local // width_o) * tiles_x + lo[owner, 0] + local % width_o
    tile_id, order = torch.sort(tile_id, stable=True)  # stable: keeps depth order inside a tile
    counts = torch.bincount(tile_id, minlength=n_cams * n_tiles)
    offsets = torch.cumsum(counts, 0) - counts

    busy = counts.nonzero().squeeze(1)
    sizes, rank = torch.sort(counts[busy], descending=True)
    busy, sizes = busy[rank], sizes.tolist()
    blocks, i = [], 0
    while i < len(sizes):  # tiles of similar list lengths share a block, so little is padding
        take = max(1, block // (tile * tile * sizes[i]))
        blocks.append((busy[i : i + take], sizes[i]))
        i += take
    return Binning(tile, tiles_x, tiles_y, gid[owner][order], tile_id, offsets, counts, blocks)


def pixel_basis(tile: int, dtype: torch.dtype, device: torch.device) -> Tensor:  # [P, 6]
    """``phi(u)`` of the tile's pixel centres, ``u`` measured from the tile centre."""
    u = torch.arange(tile, dtype=dtype, device=device) + 0.5 - 0.5 * tile
    uy, ux = torch.meshgrid(u, u, indexing="ij")
    ux, uy = ux.reshape(-1), uy.reshape(-1)
    return torch.stack([torch.ones_like(ux), ux, uy, ux * ux, ux * uy, uy * uy], dim=-1)


def block_weights(phi: Tensor, k: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Alpha, 1 - alpha, transmittance after each fragment, and blending weights ``[t, P, L]``.

    Skipped fragments get alpha 0; once a pixel is done the transmittance is zeroed, which also
    zeroes the weights of the fragment that ended it and of every later one. Works in place unless
    autograd records ``k`` (the plain-autograd baseline, :mod:`.autograd_tiles`, shares this math).
    """
    inplace = not (torch.is_grad_enabled() and k.requires_grad)
    log_alpha = torch.matmul(phi, k.transpose(1, 2))
    alpha = log_alpha.exp_().clamp_max_(ALPHA_MAX) if inplace else log_alpha.exp().clamp_max(ALPHA_MAX)
    alpha = F.threshold(alpha, ALPHA_MIN, 0.0, inplace=inplace)
    one_minus = torch.rsub(alpha, 1.0)
    trans = F.threshold(torch.cumprod(one_minus, dim=-1), T_MIN, 0.0, inplace=inplace)
    weights = alpha / one_minus * trans  # alpha_i * T_before_i
    return alpha, one_minus, trans, weights


class _CompositeTiles(torch.autograd.Function):
    """Per-tile sums ``[C * T, P, D + 1]`` of ``w_i (f_i, 1)`` from per-intersection coefficients."""

    @staticmethod
    def forward(ctx, coeffs: Tensor, feats: Tensor, binning: Binning, n_tiles: int) -> Tensor:
        # coeffs: [M, 6] log-alpha quadratic of each intersection; feats: [M, D]
        ctx.binning = binning
        ctx.save_for_backward(coeffs, feats)
        table = intersection_table(coeffs, feats)  # [M + 1, 6 + D + 1]
        phi = pixel_basis(binning.tile, table.dtype, table.device)
        out = table.new_zeros(n_tiles, phi.shape[0], table.shape[1] - 6)
        for tiles, length in binning.blocks:
            rows = table.index_select(0, block_index(binning, tiles, length, len(table) - 1).view(-1))
            rows = rows.view(len(tiles), length, -1)
            *_, weights = block_weights(phi, rows[..., :6])
            out[tiles] = weights @ rows[..., 6:]
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        binning = ctx.binning
        table = intersection_table(*ctx.saved_tensors)
        phi = pixel_basis(binning.tile, table.dtype, table.device)
        grad_table = torch.zeros_like(table)
        for tiles, length in binning.blocks:
            idx = block_index(binning, tiles, length, len(table) - 1).view(-1)
            rows = table.index_select(0, idx).view(len(tiles), length, -1)
            alpha, one_minus, trans, weights = block_weights(phi, rows[..., :6])
            g = grad_out[tiles]  # [t, P, D + 1]
            grad_feats = weights.transpose(1, 2) @ g  # [t, L, D + 1]
            gw = g @ rows[..., 6:].transpose(1, 2)  # dL/dw_i  [t, P, L]
            later = torch.cumsum(weights * gw, dim=-1)
            later = later[..., -1:] - later  # sum_{j > i} w_j dL/dw_j
            # dL/dalpha_i = T_before_i dL/dw_i - later_i / (1 - alpha_i); 0 after the pixel is done.
            grad_alpha = gw.mul_(trans).sub_(later).div_(one_minus)
            # dalpha/dlog-alpha = alpha, except where alpha is clamped or skipped.
            grad_log = grad_alpha.mul_(torch.where(alpha < ALPHA_MAX, alpha, 0.0))
            grad_rows = torch.cat([grad_log.transpose(1, 2) @ phi, grad_feats], dim=-1)
            grad_table.index_copy_(0, idx, grad_rows.view(len(idx), -1))  # padding rows collide: unused
        return grad_table[:-1, :6], grad_table[:-1, 6:-1], None, None


def intersection_table(coeffs: Tensor, feats: Tensor) -> Tensor:  # [M + 1, 6 + D + 1]
    """One row per intersection: coefficients, features and a constant 1 (for alpha), plus a
    padding row whose log-alpha is -inf, so it never contributes."""
    table = torch.cat([coeffs, feats, feats.new_ones(len(feats), 1)], dim=1)
    pad = table.new_zeros(1, table.shape[1])
    pad[0, 0] = -math.inf
    return torch.cat([table, pad])


def block_index(binning: Binning, tiles: Tensor, length: int, pad: int) -> Tensor:  # [t, L]
    """Intersection rows of each tile's list, padded with the row ``pad``."""
    slot = torch.arange(length, device=tiles.device)
    idx = binning.offsets[tiles, None] + slot
    return torch.where(slot < binning.counts[tiles, None], idx, pad)


def intersection_coeffs(means2d: Tensor, conics: Tensor, opacities: Tensor, binning: Binning) -> Tensor:  # [M, 6]
    """Each intersection's log-alpha as a quadratic ``k`` in the pixel's offset from its tile centre."""
    gid, n_tiles, tile = binning.gaussian, binning.tiles_x * binning.tiles_y, binning.tile
    local = binning.tile_id % n_tiles
    centre = torch.stack([local % binning.tiles_x, local // binning.tiles_x], dim=-1).to(means2d.dtype)
    ex, ey = (means2d.reshape(-1, 2)[gid] - (centre + 0.5) * tile).unbind(-1)  # mean - tile centre
    a, b, c = conics.reshape(-1, 3)[gid].unbind(-1)
    qx, qy = a * ex + b * ey, b * ex + c * ey
    # log alpha at offset u from the tile centre: log o - (e - u)^T Q (e - u) / 2, expanded in u.
    return torch.stack(
        [torch.log(opacities.reshape(-1)[gid]) - 0.5 * (ex * qx + ey * qy), qx, qy, -0.5 * a, -b, -0.5 * c],
        dim=-1,
    )


def untile(sums: Tensor, binning: Binning, width: int, height: int) -> Tensor:  # [C, H, W, D + 1]
    """Per-tile sums ``[C * T, P, D + 1]`` rearranged into images."""
    tile, tiles_x, tiles_y = binning.tile, binning.tiles_x, binning.tiles_y
    sums = sums.reshape(-1, tiles_y, tiles_x, tile, tile, sums.shape[-1])
    sums = sums.permute(0, 1, 3, 2, 4, 5).reshape(len(sums), tiles_y * tile, tiles_x * tile, -1)
    return sums[:, :height, :width]


def composite_tiles(
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
    """Tiled front-to-back compositing (a :class:`~engines.rasterizer.formation.Compositor`)."""
    binning = bin_gaussians(means2d, radii, depths, width, height, tile, block)
    coeffs = intersection_coeffs(means2d, conics, opacities, binning)
    feats = features.reshape(-1, features.shape[-1])[binning.gaussian]
    n_tiles = len(depths) * binning.tiles_x * binning.tiles_y
    return untile(_CompositeTiles.apply(coeffs, feats, binning, n_tiles), binning, width, height)
