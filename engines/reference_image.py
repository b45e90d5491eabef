"""The reference image of image-to-3D, as the novel-view model expects it: the object cut out,
centred, scaled to a fixed share of a square, on white.

zero123 was trained on objects centred in square renders, filling about 80% of the side, on a
white background; an input photo rarely is. This turns any RGBA picture (or RGB with a mask: from
the GUI's mask brush, or ``object_mask``'s removal of a plain backdrop) into that: the object's
mask, its box, the crop padded to a square around the box's centre, resized so the object fills
``fill`` of the side. A picture that cannot serve says why in the artist's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scene.io.errors import FormatError

MIN_OBJECT_PIXELS = 16
"""Fewer covered pixels than this is no object."""

MIN_COLOUR_DISTANCE = 0.12
"""A pixel this far (RGB distance, 0-1 channels) from the background colour or nearer is background,
however clean the border: above JPEG's ringing and a studio backdrop's gentle shading."""

MAX_COLOUR_DISTANCE = 0.5
"""The threshold never rises above this, even when a busy border makes its noise look large."""

KEPT_PART_SHARE = 0.1
"""Separate parts at least this share of the largest one are kept with it (a cup and its saucer);
smaller ones are specks of background clutter or noise."""


@dataclass(frozen=True)
class Reference:
    """``rgb`` ``[S, S, 3]`` float32 0-1 composited on white, ``mask`` ``[S, S]`` float32 0-1."""

    rgb: np.ndarray
    mask: np.ndarray


def read_rgba(path: str | Path, name: str = "image") -> np.ndarray:
    """``[H, W, 4]`` float32 0-1 of an image file; ValueError saying why it cannot be read, naming
    the setting ``name`` it came from. A file claiming more pixels than its bytes can hold is refused
    before anything is decoded (:mod:`scene.io.images`)."""
    from scene.io.images import decode, open_image

    if not Path(path).exists():
        raise ValueError(f"{name}: {path} does not exist")
    try:
        with open_image(Path(path)) as image:
            return decode(image, "RGBA", path).astype(np.float32) / 255.0
    except FormatError as exc:
        raise ValueError(f"{name}: {path} cannot be read as a picture ({exc.problem})") from None
    except OSError as exc:  # a folder, no permission
        raise ValueError(f"{name}: {path} cannot be read as a picture ({exc.strerror or exc})") from None


def object_mask(rgba: np.ndarray) -> np.ndarray:
    """``[H, W]`` float32 0-1: where the object of ``rgba`` (``[H, W, 3|4]`` 0-1) is.

    The alpha when the picture has any transparency; otherwise the object is told from a plain
    background: the background colour is the median of the border pixels, the pixels far from it
    (beyond the border's own noise, so JPEG artefacts and grain stay background) are the object,
    specks are opened away, the largest part (with any others of comparable size) is kept and its
    holes filled, since a highlight the colour of the backdrop is still the object."""
    from scipy import ndimage

    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.shape[-1] == 4 and (rgba[..., 3] < 1.0 - 0.5 / 255).any():
        return np.clip(rgba[..., 3], 0.0, 1.0)
    rgb = rgba[..., :3]
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0)
    border_noise = np.percentile(np.linalg.norm(border - background, axis=-1), 99)
    threshold = float(np.clip(2.0 * border_noise, MIN_COLOUR_DISTANCE, MAX_COLOUR_DISTANCE))
    covered = np.linalg.norm(rgb - background, axis=-1) > threshold
    covered = ndimage.binary_opening(covered, structure=np.ones((3, 3), bool))
    parts, count = ndimage.label(covered)
    if count == 0:
        return np.zeros(rgb.shape[:2], np.float32)
    sizes = np.bincount(parts.ravel())[1:]
    kept = np.flatnonzero(sizes >= KEPT_PART_SHARE * sizes.max()) + 1
    return ndimage.binary_fill_holes(np.isin(parts, kept)).astype(np.float32)


def read_mask(path: str | Path) -> np.ndarray:
    """``[H, W]`` float32 0-1 of a painted mask file: its white (on black or on transparent) is the
    object; ValueError naming the ``mask`` setting when it cannot be read."""
    painted = read_rgba(path, "mask")
    return painted[..., :3].mean(axis=-1) * painted[..., 3]


def prepare_reference(
    rgba: np.ndarray, size: int = 256, fill: float = 0.8, mask: np.ndarray | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> Reference:
    """The object of ``rgba`` (``[H, W, 4]``, or ``[H, W, 3]`` with ``mask`` ``[H, W]``, all 0-1)
    centred in a ``size`` square, its larger side ``fill`` of it, composited on white. ``box``
    (:func:`object_box`) is the box to centre instead of the mask's own: a video's frames all
    take their first frame's, so the object's motion stays in the picture."""
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill must be within (0, 1], got {fill}")
    rgb = np.asarray(rgba, dtype=np.float32)[..., :3]
    if mask is None:
        if rgba.shape[-1] != 4:
            raise ValueError("image: it has no transparent background; cut the object out (a PNG with alpha) or paint its mask")
        mask = rgba[..., 3]
    mask = np.asarray(mask, dtype=np.float32)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask: it is {mask.shape[1]}x{mask.shape[0]} but the image {rgb.shape[1]}x{rgb.shape[0]}")
    top, bottom, left, right = object_box(mask) if box is None else box
    side = int(np.ceil(max(bottom - top, right - left) / fill))
    centre_y, centre_x = (top + bottom) / 2, (left + right) / 2
    y0, x0 = int(round(centre_y - side / 2)), int(round(centre_x - side / 2))
    square = np.zeros((side, side, 4), np.float32)  # transparent padding all round
    sy0, sx0 = max(0, y0), max(0, x0)
    sy1, sx1 = min(rgb.shape[0], y0 + side), min(rgb.shape[1], x0 + side)
    square[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0, :3] = rgb[sy0:sy1, sx0:sx1]
    square[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0, 3] = mask[sy0:sy1, sx0:sx1]
    resized = _resize(square, size)
    alpha = np.clip(resized[..., 3], 0.0, 1.0)
    on_white = resized[..., :3] * alpha[..., None] + (1.0 - alpha[..., None])
    return Reference(np.clip(on_white, 0.0, 1.0).astype(np.float32), alpha.astype(np.float32))


def object_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)``, the rows and columns (ends excluded) of where ``mask``
    (``[H, W]`` 0-1) covers the object; ValueError when it covers too little or everything."""
    covered = mask > 0.5
    if covered.sum() < MIN_OBJECT_PIXELS:
        raise ValueError("image: no object in it (its background covers everything); cut the object out or paint its mask")
    if covered.all():
        raise ValueError("image: the object covers the whole picture, so nothing tells it from its background; cut it out")
    rows, cols = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` ``[S, S, 4]`` resized to ``size`` with premultiplied alpha (no dark fringes)."""
    from PIL import Image

    premultiplied = image.copy()
    premultiplied[..., :3] *= image[..., 3:4]
    channels = [np.asarray(Image.fromarray(premultiplied[..., c]).resize((size, size), Image.BILINEAR)) for c in range(4)]
    out = np.stack(channels, axis=-1)
    alpha = out[..., 3:4]
    out[..., :3] = np.where(alpha > 1e-6, out[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    return out
