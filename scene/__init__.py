"""The Atelier4D document model and its file formats: numpy arrays and dataclasses only.

Conventions, followed by every package of Atelier4D:

* The world is right-handed with +Y up. Lengths have no fixed unit.
* A camera looks along its local -Z axis with +Y up (OpenGL). ``Camera.c2w`` maps camera
  coordinates to world coordinates; this is also the convention of the ``transform_matrix`` in
  NeRF-synthetic ``transforms.json`` files, which can be used as they are.
* Cameras are pinholes with square pixels; the principal point is the image centre unless given.
  ``fov_y_deg`` is the vertical field of view. Image row 0 is the top row.
* Quaternions are stored ``w, x, y, z`` and are unit length.
* Gaussians store log-scales and opacity logits (the 3DGS parametrisation); ``scales`` and
  ``opacities`` give the activated values. Spherical-harmonic coefficients are ``[N, K, 3]`` with
  ``K = (degree + 1) ** 2`` and the DC term first; colour = ``SH(view dir) + 0.5``, clamped at 0.
"""

from scene.camera import Camera
from scene.document import Document, Layer
from scene.gaussians import GaussianCloud
from scene.kinds import PayloadKind, kind_named, kind_of, payload_kinds, register_kind
from scene.mesh import MeshAsset
from scene.points import PointCloud
from scene.transform import Transform

__all__ = [
    "Camera",
    "Document",
    "GaussianCloud",
    "Layer",
    "MeshAsset",
    "PayloadKind",
    "PointCloud",
    "Transform",
    "kind_named",
    "kind_of",
    "payload_kinds",
    "register_kind",
]
