"""The ``.splat`` format of antimatter15/splat: 32 bytes per Gaussian, degree-0 colour only.

Each record is position (float32 x3), linear scale (float32 x3), RGBA (uint8 x4: base colour and
opacity) and a unit quaternion w, x, y, z (uint8 x4, ``round(q * 128 + 128)``), little-endian.
Colour, opacity and rotation are quantised to 8 bits; positions and scales are kept exactly
(scales up to float32 rounding of ``exp``). View-dependent colour (SH bands 1-3) is dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from scene import sh as shmath
from scene.gaussians import GaussianCloud
from scene.io.atomic import atomic_output
from scene.io.errors import FormatError

PathLike = Union[str, os.PathLike]

SPLAT_DTYPE = np.dtype([("position", "<f4", (3,)), ("scale", "<f4", (3,)), ("rgba", "u1", (4,)), ("rot", "u1", (4,))])
_ALPHA_LIMIT = 0.5 / 255.0  # keeps the opacity logit finite for alpha 0 and 255


def read_splat(path: PathLike) -> GaussianCloud:
    """Read a ``.splat`` file as a degree-0 ``GaussianCloud``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) % SPLAT_DTYPE.itemsize:
        raise FormatError(path, f"the size, {len(data)} bytes, is not a multiple of 32 (truncated or not .splat)")
    rows = np.frombuffer(data, SPLAT_DTYPE)
    if not (np.isfinite(rows["position"]).all() and np.isfinite(rows["scale"]).all()):
        raise FormatError(path, "a position or scale is NaN or infinite")
    if not np.all(rows["scale"] > 0):
        raise FormatError(path, "a scale is zero or negative")
    quats = (rows["rot"].astype(np.float32) - 128.0) / 128.0
    if not np.all(np.any(rows["rot"] != 128, axis=1)):
        raise FormatError(path, "a rotation quaternion is zero")
    rgba = rows["rgba"].astype(np.float64) / 255.0
    alpha = np.clip(rgba[:, 3], _ALPHA_LIMIT, 1.0 - _ALPHA_LIMIT)
    sh = shmath.rgb_to_dc(rgba[:, :3])[:, None, :]
    try:
        return GaussianCloud(rows["position"], np.log(rows["scale"]), quats, np.log(alpha / (1.0 - alpha)), sh)
    except ValueError as exc:
        raise FormatError(path, str(exc)) from None


def write_splat(path: PathLike, cloud: GaussianCloud) -> None:
    """Write ``cloud`` as ``.splat`` (8-bit colour, opacity and rotation; SH bands above 0 dropped)."""
    with np.errstate(over="ignore"):
        scales = np.exp(cloud.log_scales.astype(np.float64)).astype(np.float32)
    if not (np.isfinite(scales).all() and np.all(scales > 0)):
        raise FormatError(path, "a scale is too large or too small for .splat's float32 linear scales")
    rows = np.empty(cloud.count, SPLAT_DTYPE)
    rows["position"] = cloud.means
    rows["scale"] = scales
    rgb = np.clip(shmath.dc_to_rgb(cloud.sh[:, 0, :]), 0.0, 1.0)
    rows["rgba"][:, :3] = np.round(rgb * 255.0)
    rows["rgba"][:, 3] = np.round(cloud.opacities * 255.0)
    quats = cloud.quats / np.linalg.norm(cloud.quats, axis=1, keepdims=True)
    rows["rot"] = np.clip(np.round(quats * 128.0 + 128.0), 0, 255)
    with atomic_output(path) as tmp:
        tmp.write_bytes(rows.tobytes())  # not tofile: numpy drops a failed flush, leaving a short file
