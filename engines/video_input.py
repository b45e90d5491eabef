"""The artist's own video as driving frames for 4D: decoded with ffmpeg, resampled to a frame count.

ffmpeg comes with imageio-ffmpeg (the binary it ships, or the one on the PATH it finds), as for the
studio's MP4 export; any container and codec ffmpeg reads will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Video:
    """``frames`` ``[F, H, W, 3]`` float32 0-1, evenly spread over the source's ``seconds``."""

    frames: np.ndarray
    seconds: float

    @property
    def fps(self) -> float:
        """The rate at which the frames play the source in its own time."""
        return len(self.frames) / self.seconds if self.seconds > 0 else 24.0


def read_video(path: str | Path, frames: int, max_side: int = 1024, name: str = "video") -> Video:
    """``frames`` frames spread evenly from the first to the last of the video at ``path`` (frames
    repeat when it has fewer), scaled down to ``max_side`` at most; ValueError in one line saying
    why the file cannot serve, naming the setting ``name`` it came from."""
    import imageio_ffmpeg
    from PIL import Image

    if frames < 1:
        raise ValueError(f"frames: need at least 1, got {frames}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{name}: {path} does not exist")
    decoded: list[np.ndarray] = []
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        scale = min(1.0, max_side / max(width, height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        for raw in reader:
            image = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            decoded.append(image if scale == 1.0 else np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR)))
    except (RuntimeError, OSError, StopIteration, KeyError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{name}: {path} cannot be read as a video ({reason})") from None
    if not decoded:
        raise ValueError(f"{name}: {path} has no frames")
    picked = np.linspace(0, len(decoded) - 1, frames).round().astype(int)
    seconds = float(meta.get("duration") or 0.0) or len(decoded) / float(meta.get("fps") or 24.0)
    return Video(np.stack([decoded[i] for i in picked]).astype(np.float32) / 255.0, seconds)
