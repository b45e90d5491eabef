"""Read a NeRF-synthetic (Blender) dataset as it ships: JSON camera files plus RGBA PNGs.

A folder holds ``transforms_train.json``, ``transforms_test.json`` (and ``transforms_val.json``),
or a single ``transforms.json``. Each has ``camera_angle_x`` (horizontal field of view, radians)
and ``frames``, each with a camera-to-world ``transform_matrix`` (OpenGL camera, our convention,
used as it is) and a ``file_path`` usually given without extension (``"./train/r_0"``): the reader
tries ``file_path + ".png"`` first, then the path as given. RGBA images are composited on the
chosen background, straight (not premultiplied) alpha as Blender writes them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from scene import Camera
from scene.io.errors import FormatError
from scene.io.images import decode, open_image


@dataclass(frozen=True)
class Views:
    """Posed images of one split, all the same size."""

    images: np.ndarray  # [V, H, W, 3] float32 0-1, composited on the background
    alphas: np.ndarray  # [V, H, W] float32 0-1
    cameras: list[Camera]
    names: list[str]  # file_path of each frame, as the JSON gives it

    def __len__(self) -> int:
        return len(self.cameras)


def split_file(root: str | Path, split: str) -> Path:
    """The JSON of ``split``: ``transforms_<split>.json``, or ``transforms.json`` for "train"."""
    folder = Path(root)
    if not folder.is_dir():
        raise FormatError(folder, "no such dataset folder")
    named = folder / f"transforms_{split}.json"
    if named.is_file():
        return named
    single = folder / "transforms.json"
    if split == "train" and single.is_file():
        return single
    raise FormatError(folder, f"no transforms_{split}.json" + (" or transforms.json" if split == "train" else ""))


def has_split(root: str | Path, split: str) -> bool:
    try:
        split_file(root, split)
    except FormatError:
        return False
    return True


def load_views(
    root: str | Path,
    split: str = "train",
    background: Sequence[float] = (1.0, 1.0, 1.0),
    resolution: int | None = None,
) -> Views:
    """The frames of ``split``, composited on ``background`` and downscaled so that the longer
    side is at most ``resolution`` pixels (None or 0: as stored)."""
    path = split_file(root, split)
    meta = _read_json(path)
    fov_x = meta.get("camera_angle_x")
    if not isinstance(fov_x, (int, float)) or isinstance(fov_x, bool) or not 0 < fov_x < math.pi:
        raise FormatError(path, f"camera_angle_x must be an angle in radians in (0, pi), got {fov_x!r}")
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise FormatError(path, "no frames")
    bg = np.asarray(background, dtype=np.float32).reshape(3)
    images, alphas, cameras, names = [], [], [], []
    used: dict[str, int] = {}  # each image's real path: the frame that read it (a frame of a few
    for i, frame in enumerate(frames):  # bytes of JSON naming an image again would decode it again)
        where = f"frame {i}"
        if not isinstance(frame, dict) or "file_path" not in frame or "transform_matrix" not in frame:
            raise FormatError(path, f"{where} needs file_path and transform_matrix")
        image = _image_path(path.parent, str(frame["file_path"]))
        first = used.setdefault(os.path.realpath(image), i)
        if first != i:
            raise FormatError(path, f"{where} ({frame['file_path']}) uses the image of frame {first} again")
        rgba = _read_rgba(image)  # [H, W, 4]
        rgba = _downscale(rgba, resolution)
        if images and rgba.shape[:2] != images[0].shape[:2]:
            raise FormatError(path, f"{where} ({frame['file_path']}) is {rgba.shape[1]}x{rgba.shape[0]}, "
                              f"the first image {images[0].shape[1]}x{images[0].shape[0]}")
        alpha = rgba[..., 3:4]
        images.append(rgba[..., :3] * alpha + bg * (1.0 - alpha))
        alphas.append(alpha[..., 0])
        height, width = rgba.shape[:2]
        cameras.append(Camera.from_fov_x(_c2w(path, where, frame["transform_matrix"]), width, height, float(fov_x)))
        names.append(str(frame["file_path"]))
    return Views(np.stack(images).astype(np.float32), np.stack(alphas).astype(np.float32), cameras, names)


def _read_json(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, f"not readable JSON: {exc}") from None
    except RecursionError:
        raise FormatError(path, "not readable JSON: nested too deeply") from None
    if not isinstance(meta, dict):
        raise FormatError(path, "expected a JSON object")
    return meta


def _image_path(folder: Path, file_path: str) -> Path:
    """``file_path + ".png"`` when that exists, else ``file_path`` as given. Only regular files
    inside the dataset folder (judged by the path as written, so a symlinked image store works):
    a frame may not name the rest of the disk, a device or a pipe."""
    given = Path(os.path.normpath(folder / file_path))
    if not given.is_relative_to(os.path.normpath(folder)) or given == Path(os.path.normpath(folder)):
        raise FormatError(given, "file_path does not name an image inside the dataset folder")
    for candidate in (given.with_name(given.name + ".png"), given):
        try:
            if candidate.is_file():
                return candidate
        except OSError:  # a name too long
            continue
    raise FormatError(given, "image not found (tried with .png and as given)")


def _read_rgba(path: Path) -> np.ndarray:  # [H, W, 4] float32 0-1
    with open_image(path) as img:
        return decode(img, "RGBA", path).astype(np.float32) / 255.0


def _downscale(rgba: np.ndarray, resolution: int | None) -> np.ndarray:
    """Area-downscale to at most ``resolution`` on the longer side, in premultiplied alpha (so
    the transparent background's colour does not bleed into edges)."""
    height, width = rgba.shape[:2]
    if not resolution or max(width, height) <= resolution:
        return rgba
    factor = resolution / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    premult = np.concatenate([rgba[..., :3] * rgba[..., 3:4], rgba[..., 3:4]], axis=-1)
    out = np.stack(
        [np.asarray(Image.fromarray(premult[..., c]).resize(size, Image.Resampling.BOX)) for c in range(4)], axis=-1
    )
    alpha = out[..., 3:4]
    out[..., :3] = np.where(alpha > 1e-6, out[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    return np.clip(out, 0.0, 1.0)


def _c2w(path: Path, where: str, matrix: object) -> np.ndarray:  # [4, 4]
    """The frame's camera-to-world matrix, checked; a nearly orthonormal rotation is cleaned up."""
    try:
        c2w = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise FormatError(path, f"{where}: transform_matrix is not a 4x4 matrix of numbers") from None
    if c2w.shape != (4, 4) or not np.isfinite(c2w).all():
        raise FormatError(path, f"{where}: transform_matrix must be a finite 4x4 matrix, got shape {c2w.shape}")
    rot = c2w[:3, :3]
    if not np.allclose(c2w[3], [0, 0, 0, 1], atol=1e-6) or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-3) \
            or np.linalg.det(rot) <= 0:
        raise FormatError(path, f"{where}: transform_matrix is not a rigid camera-to-world transform")
    u, _, vt = np.linalg.svd(rot)
    c2w = c2w.copy()
    c2w[:3, :3] = u @ vt
    return c2w


__all__ = ["Views", "has_split", "load_views", "split_file"]
