"""``scene.Camera`` -> the tensors the rasterizer takes (OpenCV world-to-camera and pixel intrinsics)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from scene import Camera


def camera_to_tensors(
    cameras: Sequence[Camera],
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor, int, int]:
    """``(viewmats [C, 4, 4], Ks [C, 3, 3], width, height)`` of cameras sharing one image size."""
    if not cameras:
        raise ValueError("camera_to_tensors: no cameras")
    sizes = {(c.width, c.height) for c in cameras}
    if len(sizes) != 1:
        raise ValueError(f"camera_to_tensors: cameras differ in image size {sorted(sizes)}")
    viewmats = torch.as_tensor(np.stack([c.w2c_opencv() for c in cameras]), dtype=dtype, device=device)
    Ks = torch.as_tensor(np.stack([c.intrinsics() for c in cameras]), dtype=dtype, device=device)
    (width, height), = sizes
    return viewmats, Ks, width, height
