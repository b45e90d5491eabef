"""``GaussianCloud``: a set of 3D Gaussians in the 3DGS parametrisation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from scene import sh as shmath
from scene.rotation import matrix_to_quat, polar_decompose, quat_multiply, quat_to_matrix
from scene.validation import as_array, axis_bounds, same_length


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass(frozen=True, eq=False)
class GaussianCloud:
    """N Gaussians: centres, log-scales, unit quaternions (wxyz), opacity logits, SH colours.

    Arrays are float32 and validated on construction (shapes, element counts, finite values), so
    every other part of the program can trust a cloud it is handed. Instances are immutable:
    edits make a new cloud, which keeps undo and streaming snapshots cheap to reason about.
    """

    means: np.ndarray  # [N, 3]
    log_scales: np.ndarray  # [N, 3]
    quats: np.ndarray  # [N, 4] wxyz, unit
    opacity_logits: np.ndarray  # [N]
    sh: np.ndarray  # [N, K, 3], K = (degree + 1) ** 2, DC first

    def __post_init__(self) -> None:
        f32 = np.float32
        means = as_array("GaussianCloud.means", self.means, f32, (None, 3))
        log_scales = as_array("GaussianCloud.log_scales", self.log_scales, f32, (None, 3))
        quats = as_array("GaussianCloud.quats", self.quats, f32, (None, 4))
        opacity = as_array("GaussianCloud.opacity_logits", self.opacity_logits, f32, (None,))
        sh = as_array("GaussianCloud.sh", self.sh, f32, (None, None, 3))
        try:
            shmath.degree_of(sh.shape[1])
        except ValueError as exc:
            raise ValueError(f"GaussianCloud.sh: {exc}") from None
        same_length(
            "GaussianCloud", means=means, log_scales=log_scales, quats=quats, opacity_logits=opacity, sh=sh
        )
        squared = np.einsum("ij,ij->i", quats, quats)  # float32, one pass: clouds stream 10 times a second
        if len(quats) and not squared.min() > 0:
            raise ValueError("GaussianCloud.quats: a quaternion has zero length")
        if len(quats) and np.abs(squared - 1.0).max() > 2e-3:  # |q| within 1e-3 of 1
            quats = quats / np.sqrt(squared)[:, None]
        for name, value in (
            ("means", means),
            ("log_scales", log_scales),
            ("quats", quats),
            ("opacity_logits", opacity),
            ("sh", sh),
        ):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    # ----------------------------------------------------------------- construction
    @classmethod
    def create(
        cls,
        means: np.ndarray,
        scales: np.ndarray | float,
        colors: np.ndarray,
        opacities: np.ndarray | float = 0.9,
        quats: np.ndarray | None = None,
        sh_degree: int = 0,
    ) -> "GaussianCloud":
        """A cloud from activated values: linear scales, RGB colours 0-1, opacities 0-1."""
        means = np.asarray(means, dtype=np.float32).reshape(-1, 3)
        n = len(means)
        scales = np.broadcast_to(np.asarray(scales, dtype=np.float64), (n, 3))
        if np.any(scales <= 0):
            raise ValueError("GaussianCloud.create: scales must be positive")
        colors = np.broadcast_to(np.asarray(colors, dtype=np.float32), (n, 3))
        opacities = np.broadcast_to(np.asarray(opacities, dtype=np.float64), (n,))
        if quats is None:
            quats = np.tile(np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32), (n, 1))
        sh = np.zeros((n, shmath.num_coeffs(sh_degree), 3), dtype=np.float32)
        sh[:, 0, :] = shmath.rgb_to_dc(colors)
        return cls(means, np.log(scales), quats, _logit(opacities), sh)

    @classmethod
    def empty(cls, sh_degree: int = 0) -> "GaussianCloud":
        k = shmath.num_coeffs(sh_degree)
        return cls(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 4)), np.zeros(0), np.zeros((0, k, 3)))

    # ----------------------------------------------------------------- properties
    def __len__(self) -> int:
        return len(self.means)

    @property
    def count(self) -> int:
        return len(self.means)

    @property
    def sh_degree(self) -> int:
        return shmath.degree_of(self.sh.shape[1])

    @property
    def scales(self) -> np.ndarray:
        """Linear standard deviations ``[N, 3]`` along the Gaussian's local axes."""
        return np.exp(self.log_scales)

    @property
    def opacities(self) -> np.ndarray:
        """Opacities ``[N]`` in 0-1."""
        return _sigmoid(self.opacity_logits.astype(np.float64)).astype(np.float32)

    @property
    def base_colors(self) -> np.ndarray:
        """View-independent RGB ``[N, 3]`` from the DC band, clamped to 0-1."""
        return np.clip(shmath.dc_to_rgb(self.sh[:, 0, :]), 0.0, 1.0)

    def covariances(self) -> np.ndarray:
        """World-space covariance matrices ``[N, 3, 3]`` = ``R S S^T R^T``."""
        rot = quat_to_matrix(self.quats)
        m = rot * self.scales.astype(np.float64)[:, None, :]
        return m @ np.swapaxes(m, 1, 2)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds ``(min, max)`` of the centres; zeros for an empty cloud."""
        return self._bounds

    @cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:  # the cloud is immutable: compute once
        return axis_bounds(self.means)

    # ----------------------------------------------------------------- editing
    def replace(self, **fields: np.ndarray) -> "GaussianCloud":
        """A copy with some arrays replaced (validated like any new cloud)."""
        current = {
            "means": self.means,
            "log_scales": self.log_scales,
            "quats": self.quats,
            "opacity_logits": self.opacity_logits,
            "sh": self.sh,
        }
        unknown = set(fields) - set(current)
        if unknown:
            raise TypeError(f"GaussianCloud has no field(s) {sorted(unknown)}")
        current.update(fields)
        return GaussianCloud(**current)

    def subset(self, selection: np.ndarray | Sequence[int]) -> "GaussianCloud":
        """The Gaussians picked by a boolean mask ``[N]`` or an index array."""
        sel = np.asarray(selection)
        if sel.dtype == bool and sel.shape != (self.count,):
            raise ValueError(f"GaussianCloud.subset: mask has shape {sel.shape}, expected ({self.count},)")
        return GaussianCloud(
            self.means[sel], self.log_scales[sel], self.quats[sel], self.opacity_logits[sel], self.sh[sel]
        )

    def with_sh_degree(self, degree: int) -> "GaussianCloud":
        """The same cloud with SH truncated, or padded with zero bands, to ``degree``."""
        k = shmath.num_coeffs(degree)
        sh = np.zeros((self.count, k, 3), dtype=np.float32)
        keep = min(k, self.sh.shape[1])
        sh[:, :keep] = self.sh[:, :keep]
        return self.replace(sh=sh)

    @staticmethod
    def concatenate(clouds: Sequence["GaussianCloud"]) -> "GaussianCloud":
        """One cloud holding all of ``clouds``; SH is padded to the highest degree among them."""
        if not clouds:
            return GaussianCloud.empty()
        degree = max(c.sh_degree for c in clouds)
        clouds = [c if c.sh_degree == degree else c.with_sh_degree(degree) for c in clouds]
        return GaussianCloud(
            np.concatenate([c.means for c in clouds]),
            np.concatenate([c.log_scales for c in clouds]),
            np.concatenate([c.quats for c in clouds]),
            np.concatenate([c.opacity_logits for c in clouds]),
            np.concatenate([c.sh for c in clouds]),
        )

    def transformed(self, matrix: np.ndarray) -> "GaussianCloud":
        """The cloud moved by an affine 4x4 ``matrix`` (any rotation, scale, even non-uniform).

        Each covariance becomes ``A Σ A^T`` and is re-factored into scales and a rotation, so
        non-uniform scale is exact. View-dependent colour (SH bands 1-3) turns with the orthogonal
        part of ``A`` (mirrors included), so highlights follow the object.
        """
        m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
        linear = m[:3, :3]
        if not np.isfinite(m).all() or abs(np.linalg.det(linear)) < 1e-12:
            raise ValueError("GaussianCloud.transformed: the matrix must be finite and invertible")
        means = self.means.astype(np.float64) @ linear.T + m[:3, 3]
        if self.count == 0:
            return self.replace(means=means)
        orthogonal, stretch = polar_decompose(linear, proper=False)
        sh = shmath.rotate_sh(self.sh, orthogonal)
        uniform = stretch[0, 0]
        if np.linalg.det(orthogonal) > 0 and np.allclose(stretch, uniform * np.eye(3), rtol=1e-6, atol=1e-9):
            # A similarity: compose the rotations directly (exact, no re-factoring).
            quats = quat_multiply(matrix_to_quat(orthogonal), self.quats.astype(np.float64))
            return GaussianCloud(means, self.log_scales + np.log(uniform), quats, self.opacity_logits, sh)
        cov = linear[None] @ self.covariances() @ linear.T[None]
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        eigvals, eigvecs = np.linalg.eigh(cov)
        flip = np.linalg.det(eigvecs) < 0  # make each frame a proper rotation
        eigvecs[flip, :, 0] *= -1
        scales = np.sqrt(np.maximum(eigvals, 1e-30))
        return GaussianCloud(means, np.log(scales), matrix_to_quat(eigvecs), self.opacity_logits, sh)
