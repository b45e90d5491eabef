"""A layer's placement in the world: translation, rotation and scale."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scene.rotation import matrix_to_quat, normalize_quats, polar_decompose, quat_to_matrix


def _vec(values, n: int) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(n).copy()


@dataclass(frozen=True)
class Transform:
    """Translation, rotation (unit quaternion wxyz) and per-axis scale, applied scale first.

    Frozen so a layer's transform can be swapped as one value (which keeps undo simple).
    """

    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    rotation: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0, 0.0]))
    scale: np.ndarray = field(default_factory=lambda: np.ones(3))

    def __post_init__(self) -> None:
        object.__setattr__(self, "translation", _vec(self.translation, 3))
        object.__setattr__(self, "rotation", normalize_quats(_vec(self.rotation, 4)))
        object.__setattr__(self, "scale", _vec(self.scale, 3))
        for name in ("translation", "rotation", "scale"):
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"Transform.{name} must be finite")
        if np.any(self.scale == 0):
            raise ValueError("Transform.scale must not be zero on any axis")

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> "Transform":
        """Decompose an affine 4x4 matrix (no shear) into translation, rotation and scale."""
        m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
        rotation, stretch = polar_decompose(m[:3, :3])
        return cls(m[:3, 3], matrix_to_quat(rotation), np.diag(stretch))

    def matrix(self) -> np.ndarray:
        """The 4x4 matrix ``T @ R @ S``."""
        m = np.eye(4)
        m[:3, :3] = quat_to_matrix(self.rotation) * self.scale[None, :]
        m[:3, 3] = self.translation
        return m

    def is_identity(self) -> bool:
        return bool(np.allclose(self.matrix(), np.eye(4)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Transform):
            return NotImplemented
        return bool(np.allclose(self.matrix(), other.matrix()))

    def __hash__(self) -> int:  # frozen dataclasses with arrays need an explicit hash
        return hash(tuple(np.round(self.matrix(), 9).ravel()))

    def to_dict(self) -> dict:
        return {
            "translation": self.translation.tolist(),
            "rotation": self.rotation.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Transform":
        return cls(data["translation"], data["rotation"], data["scale"])
