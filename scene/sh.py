"""Real spherical harmonics as 3DGS uses them: evaluation, colour conversion and rotation.

The basis and its sign conventions are those of the reference 3DGS implementation (and gsplat), so
coefficients read from any standard PLY mean the same colour here.
"""

from __future__ import annotations

import numpy as np

C0 = 0.28209479177387814
C1 = 0.4886025119029199
C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)

MAX_DEGREE = 3


def num_coeffs(degree: int) -> int:
    """Coefficients per channel for an SH degree: 1, 4, 9 or 16."""
    return (degree + 1) ** 2


def degree_of(num_coefficients: int) -> int:
    """The SH degree that has ``num_coefficients`` per channel; ValueError if none does."""
    for degree in range(MAX_DEGREE + 1):
        if num_coeffs(degree) == num_coefficients:
            return degree
    raise ValueError(f"{num_coefficients} SH coefficients per channel is not a degree 0-3 layout")


def rgb_to_dc(rgb: np.ndarray) -> np.ndarray:
    """DC coefficients giving the colour ``rgb`` (0-1) from every direction."""
    return (np.asarray(rgb, dtype=np.float32) - 0.5) / C0


def dc_to_rgb(dc: np.ndarray) -> np.ndarray:
    """The view-independent colour of DC coefficients (not clamped)."""
    return np.asarray(dc, dtype=np.float32) * C0 + 0.5


def sh_basis(dirs: np.ndarray, degree: int) -> np.ndarray:
    """Basis values ``[..., K]`` at unit directions ``[..., 3]`` for bands 0..degree."""
    d = np.asarray(dirs, dtype=np.float64)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    out = [np.full_like(x, C0)]
    if degree >= 1:
        out += [-C1 * y, C1 * z, -C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        out += [
            C2[0] * xy,
            C2[1] * yz,
            C2[2] * (2.0 * zz - xx - yy),
            C2[3] * xz,
            C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            C3[0] * y * (3 * xx - yy),
            C3[1] * xy * z,
            C3[2] * y * (4 * zz - xx - yy),
            C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            C3[4] * x * (4 * zz - xx - yy),
            C3[5] * z * (xx - yy),
            C3[6] * x * (xx - 3 * yy),
        ]
    return np.stack(out, axis=-1)


def eval_sh(sh: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Colour ``[N, 3]`` of SH coefficients ``[N, K, 3]`` seen along unit ``dirs [N, 3]``.

    Returns ``SH(dir) + 0.5`` clamped at 0, the 3DGS colour rule.
    """
    degree = degree_of(sh.shape[1])
    basis = sh_basis(dirs, degree)  # [N, K]
    rgb = np.einsum("nk,nkc->nc", basis, np.asarray(sh, dtype=np.float64)) + 0.5
    return np.maximum(rgb, 0.0)


def rotation_matrices(rotation: np.ndarray, degree: int) -> list[np.ndarray]:
    """Per-band matrices ``D_l`` so that ``coeffs_l' = D_l @ coeffs_l`` rotates an SH function.

    The rotated function satisfies ``f'(R d) = f(d)``. Each band is an invariant subspace, so
    ``D_l`` is found exactly by least squares over a few sample directions, which avoids
    hand-written Wigner formulas for every band.
    """
    r = np.asarray(rotation, dtype=np.float64)
    rng = np.random.default_rng(0)
    dirs = rng.normal(size=(64, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    # f'(d) = f(R^T d):   Y(d) c' = Y(R^T d) c   for all d.
    a = sh_basis(dirs, degree)
    b = sh_basis(dirs @ r, degree)  # rows are (R^T d)^T = d^T R
    mats = []
    for band in range(1, degree + 1):
        lo, hi = num_coeffs(band - 1), num_coeffs(band)
        d_l, *_ = np.linalg.lstsq(a[:, lo:hi], b[:, lo:hi], rcond=None)
        mats.append(d_l)
    return mats


def rotate_sh(sh: np.ndarray, orthogonal: np.ndarray) -> np.ndarray:
    """SH coefficients ``[N, K, 3]`` of the same colours after turning the object by ``orthogonal``.

    ``orthogonal`` may be a rotation or include a mirror: an improper ``Q`` equals ``-R`` with
    ``R`` a rotation, and the inversion ``d -> -d`` flips the sign of the odd bands.
    """
    sh = np.asarray(sh)
    degree = degree_of(sh.shape[1])
    if degree == 0:
        return sh.copy()
    q = np.asarray(orthogonal, dtype=np.float64)
    mirrored = np.linalg.det(q) < 0
    rotation = -q if mirrored else q
    out = sh.astype(np.float64, copy=True)
    for band, d_l in enumerate(rotation_matrices(rotation, degree), start=1):
        lo, hi = num_coeffs(band - 1), num_coeffs(band)
        out[:, lo:hi, :] = np.einsum("ij,njc->nic", d_l, out[:, lo:hi, :])
        if mirrored and band % 2 == 1:
            out[:, lo:hi, :] *= -1.0
    return out.astype(sh.dtype)
