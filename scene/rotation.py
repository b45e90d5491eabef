"""Quaternion and rotation-matrix helpers (quaternions are ``w, x, y, z``)."""

from __future__ import annotations

import numpy as np


def normalize_quats(quats: np.ndarray) -> np.ndarray:
    """Unit quaternions ``[..., 4]``; a zero quaternion becomes the identity."""
    q = np.asarray(quats, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    identity = np.zeros_like(q)
    identity[..., 0] = 1.0
    safe = np.where(norm > 0, norm, 1.0)
    return np.where(norm > 0, q / safe, identity)


def quat_to_matrix(quats: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` of unit quaternions ``[..., 4]`` (wxyz)."""
    q = normalize_quats(quats)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = np.empty(q.shape[:-1] + (3, 3), dtype=np.float64)
    m[..., 0, 0] = 1 - 2 * (y * y + z * z)
    m[..., 0, 1] = 2 * (x * y - w * z)
    m[..., 0, 2] = 2 * (x * z + w * y)
    m[..., 1, 0] = 2 * (x * y + w * z)
    m[..., 1, 1] = 1 - 2 * (x * x + z * z)
    m[..., 1, 2] = 2 * (y * z - w * x)
    m[..., 2, 0] = 2 * (x * z - w * y)
    m[..., 2, 1] = 2 * (y * z + w * x)
    m[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return m


def matrix_to_quat(mats: np.ndarray) -> np.ndarray:
    """Unit quaternions ``[..., 4]`` (wxyz, w >= 0) of rotation matrices ``[..., 3, 3]``."""
    m = np.asarray(mats, dtype=np.float64)
    batch = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    m00, m01, m02 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    m10, m11, m12 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    m20, m21, m22 = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    # Shepperd's method: each row is 4 * (one component) * q; use the row of the largest component.
    candidates = np.stack(
        [
            np.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            np.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            np.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            np.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        axis=1,
    )  # [M, 4 candidates, 4]
    best = np.argmax(np.stack([candidates[:, i, i] for i in range(4)], -1), axis=1)
    q = normalize_quats(candidates[np.arange(len(m)), best])
    q = np.where(q[:, :1] < 0, -q, q)
    return q.reshape(batch + (4,))


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` of quaternions ``[..., 4]`` (apply ``b`` first, then ``a``)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def axis_angle_to_quat(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """The unit quaternion (wxyz) rotating by ``angle_rad`` about ``axis``."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    half = 0.5 * angle_rad
    return np.concatenate([[np.cos(half)], np.sin(half) * axis])


def polar_decompose(linear: np.ndarray, proper: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Split a 3x3 linear map into ``orthogonal @ stretch`` (stretch symmetric).

    With ``proper`` a reflection (negative determinant) is folded into the stretch so the
    orthogonal factor is a rotation; without it the orthogonal factor keeps the mirror and the
    stretch stays positive definite.
    """
    u, s, vt = np.linalg.svd(np.asarray(linear, dtype=np.float64))
    orthogonal = u @ vt
    if proper and np.linalg.det(orthogonal) < 0:
        u[:, -1] *= -1
        orthogonal = u @ vt
    stretch = orthogonal.T @ np.asarray(linear, dtype=np.float64)
    return orthogonal, stretch
