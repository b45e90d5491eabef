"""Images read from artists' files (mesh textures, dataset frames), checked before they are decoded.

An image header says how many pixels follow, and decoding allocates that many before it finds the
data missing: a PNG of a few bytes can claim 60,000 x 60,000 pixels. Deflate packs at most 1032
bytes into one, and a 1-bit image has 8 pixels a byte, so no real image holds more than
``MAX_PIXELS_PER_BYTE`` pixels per stored byte; an image claiming more is refused unopened.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from scene.io.errors import FormatError

MAX_PIXELS_PER_BYTE = 8 * 1032
"""Pixels a stored byte can hold at most (deflate's 1032:1 at 1 bit a pixel)."""

DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)
"""What PIL raises for a broken or hostile image."""


class ImageBomb(FormatError):
    """An image claiming more pixels than its bytes can hold."""


def open_image(source: bytes | os.PathLike, path: str | os.PathLike | None = None) -> Image.Image:
    """``source`` (an image's bytes, or its file) opened but not decoded; FormatError naming
    ``path`` (default: the file) when it is not an image or claims more pixels than it can hold."""
    stored = len(source) if isinstance(source, bytes) else os.path.getsize(source)
    name = path if path is not None else source
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
    except Image.DecompressionBombError:
        raise ImageBomb(name, "the image claims more pixels than any image may have") from None
    except DECODE_ERRORS as exc:
        raise FormatError(name, f"not a readable image ({exc})") from None
    width, height = image.size
    if width * height > MAX_PIXELS_PER_BYTE * stored:
        image.close()
        raise ImageBomb(name, f"the image claims {width}x{height} pixels but holds only {stored} bytes")
    return image


def decode(image: Image.Image, mode: str, path: str | os.PathLike) -> np.ndarray:
    """The ``[H, W, C]`` uint8 pixels of an opened ``image`` in ``mode`` ("RGB", "RGBA");
    FormatError naming ``path`` when its data is broken."""
    try:
        return np.asarray(image.convert(mode), dtype=np.uint8)
    except DECODE_ERRORS as exc:
        raise FormatError(path, f"the image data is broken ({exc})") from None


def refuse_image_bomb(data: bytes, name: str | os.PathLike) -> None:
    """ImageBomb naming ``name`` when ``data`` is an image claiming more pixels than it holds;
    other data passes (not an image: its reader says what is wrong)."""
    try:
        open_image(data, name).close()
    except ImageBomb:
        raise
    except FormatError:
        pass
