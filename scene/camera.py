"""``Camera``: a pinhole camera in the OpenGL convention (looks along local -Z, +Y up).

See the package docstring for the conventions. Renderers that work in the OpenCV convention
(+Z forward, +Y down, as gsplat does) use :meth:`Camera.w2c_opencv` and :meth:`Camera.intrinsics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from scene.validation import as_array

_GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])  # flips Y and Z: OpenGL camera axes <-> OpenCV ones


@dataclass(frozen=True, eq=False)
class Camera:
    """A posed pinhole camera.

    ``c2w`` is the 4x4 camera-to-world matrix (rotation part orthonormal). The principal point
    defaults to the image centre; ``cx``/``cy`` are in pixels from the top-left corner.
    """

    c2w: np.ndarray  # [4, 4]
    width: int
    height: int
    fov_y_deg: float = 50.0
    cx: float | None = None
    cy: float | None = None
    near: float = 0.01
    far: float = 1000.0

    def __post_init__(self) -> None:
        c2w = as_array("Camera.c2w", self.c2w, np.float64, (4, 4))
        rot = c2w[:3, :3]
        if not np.allclose(rot @ rot.T, np.eye(3), atol=1e-4) or np.linalg.det(rot) < 0:
            raise ValueError("Camera.c2w: the rotation part must be orthonormal and right-handed")
        c2w.setflags(write=False)
        object.__setattr__(self, "c2w", c2w)
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"Camera: image size must be positive, got {self.width}x{self.height}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        if not 0.0 < float(self.fov_y_deg) < 180.0:
            raise ValueError(f"Camera.fov_y_deg must be in (0, 180), got {self.fov_y_deg}")
        if not 0.0 < self.near < self.far:
            raise ValueError(f"Camera: need 0 < near < far, got near={self.near}, far={self.far}")

    # ----------------------------------------------------------------- construction
    @classmethod
    def look_at(
        cls,
        eye: np.ndarray,
        target: np.ndarray,
        up: np.ndarray = (0.0, 1.0, 0.0),
        *,
        width: int = 640,
        height: int = 480,
        fov_y_deg: float = 50.0,
        near: float = 0.01,
        far: float = 1000.0,
    ) -> "Camera":
        """A camera at ``eye`` looking at ``target`` with ``up`` pointing up in the image."""
        eye = np.asarray(eye, dtype=np.float64).reshape(3)
        target = np.asarray(target, dtype=np.float64).reshape(3)
        up = np.asarray(up, dtype=np.float64).reshape(3)
        forward = target - eye
        if np.linalg.norm(forward) < 1e-12:
            raise ValueError("Camera.look_at: eye and target are the same point")
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, up)
        if np.linalg.norm(right) < 1e-9:
            raise ValueError("Camera.look_at: the up vector is parallel to the viewing direction")
        right /= np.linalg.norm(right)
        true_up = np.cross(right, forward)
        c2w = np.eye(4)
        c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, true_up, -forward, eye
        return cls(c2w, width, height, fov_y_deg, near=near, far=far)

    @classmethod
    def from_fov_x(cls, c2w: np.ndarray, width: int, height: int, fov_x_rad: float, **kw) -> "Camera":
        """A camera given its horizontal field of view, as NeRF-synthetic's ``camera_angle_x``."""
        fx = 0.5 * width / math.tan(0.5 * fov_x_rad)
        fov_y = 2.0 * math.degrees(math.atan(0.5 * height / fx))
        return cls(c2w, width, height, fov_y, **kw)

    def resized(self, width: int, height: int) -> "Camera":
        """The same view at another resolution (same fov; the principal point scales along)."""
        sx, sy = width / self.width, height / self.height
        return replace(
            self,
            width=width,
            height=height,
            cx=None if self.cx is None else self.cx * sx,
            cy=None if self.cy is None else self.cy * sy,
        )

    # ----------------------------------------------------------------- geometry
    @property
    def position(self) -> np.ndarray:
        return self.c2w[:3, 3].copy()

    @property
    def forward(self) -> np.ndarray:
        """Unit viewing direction in world space (the camera's -Z axis)."""
        return -self.c2w[:3, 2].copy()

    @property
    def fy(self) -> float:
        """Focal length in pixels (square pixels, so ``fx == fy``)."""
        return 0.5 * self.height / math.tan(math.radians(self.fov_y_deg) * 0.5)

    @property
    def fx(self) -> float:
        return self.fy

    @property
    def principal_point(self) -> tuple[float, float]:
        cx = 0.5 * self.width if self.cx is None else float(self.cx)
        cy = 0.5 * self.height if self.cy is None else float(self.cy)
        return cx, cy

    def intrinsics(self) -> np.ndarray:
        """The 3x3 pixel intrinsics ``K`` (OpenCV convention: +Y down, origin at top-left)."""
        cx, cy = self.principal_point
        return np.array([[self.fx, 0.0, cx], [0.0, self.fy, cy], [0.0, 0.0, 1.0]])

    def w2c(self) -> np.ndarray:
        """World-to-camera (view) matrix in the OpenGL camera convention."""
        return np.linalg.inv(self.c2w)

    def w2c_opencv(self) -> np.ndarray:
        """World-to-camera matrix in the OpenCV convention (+Z forward, +Y down), as gsplat wants."""
        return _GL_TO_CV @ self.w2c()

    def projection(self) -> np.ndarray:
        """OpenGL clip-space projection matching :meth:`intrinsics` (so both draw the same image).

        NDC y is up while pixel rows go down; an off-centre principal point shifts the frustum.
        """
        cx, cy = self.principal_point
        w, h, n, f = self.width, self.height, self.near, self.far
        p = np.zeros((4, 4))
        p[0, 0] = 2.0 * self.fx / w
        p[1, 1] = 2.0 * self.fy / h
        p[0, 2] = 1.0 - 2.0 * cx / w
        p[1, 2] = 2.0 * cy / h - 1.0
        p[2, 2] = -(f + n) / (f - n)
        p[2, 3] = -2.0 * f * n / (f - n)
        p[3, 2] = -1.0
        return p

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates ``[N, 2]`` (x right, y down) and depths ``[N]`` of world ``points``."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        cam = pts @ self.w2c_opencv()[:3, :3].T + self.w2c_opencv()[:3, 3]
        depth = cam[:, 2]
        safe = np.where(np.abs(depth) > 1e-12, depth, 1e-12)
        k = self.intrinsics()
        uv = np.stack([k[0, 0] * cam[:, 0] / safe + k[0, 2], k[1, 1] * cam[:, 1] / safe + k[1, 2]], axis=1)
        return uv, depth

    def to_dict(self) -> dict:
        return {
            "c2w": self.c2w.tolist(),
            "width": self.width,
            "height": self.height,
            "fov_y_deg": self.fov_y_deg,
            "cx": self.cx,
            "cy": self.cy,
            "near": self.near,
            "far": self.far,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Camera":
        return cls(**data)
