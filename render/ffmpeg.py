"""ffmpeg as a checked child process: encode frames to a video file, and count the frames a video
file decodes to.

ffmpeg is the binary of imageio-ffmpeg (or the one ``IMAGEIO_FFMPEG_EXE`` names). Its exit status
is always checked and its messages kept, so a failed encode is an error saying why, in one line,
rather than a broken file reported as written.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import IO, Iterable

import numpy as np


class FfmpegFailed(Exception):
    """ffmpeg failed; the message says why in one line."""


def encode(images: Iterable[np.ndarray], path: Path, fps: float, codec: str, container: str) -> None:
    """Encode ``images`` (``[H, W, 3]`` uint8, all one size) into ``path`` as ``container`` with
    ``codec`` at ``fps``; FfmpegFailed when ffmpeg fails."""
    process: subprocess.Popen | None = None
    with tempfile.TemporaryFile() as log:
        try:
            for image in images:
                if process is None:
                    process = _start_encoder(path, image.shape[1], image.shape[0], fps, codec, container, log)
                process.stdin.write(np.ascontiguousarray(image, np.uint8).tobytes())
        except BrokenPipeError:
            pass  # ffmpeg stopped reading: its status and messages below say why
        except BaseException:  # rendering failed or was interrupted: the video is abandoned
            if process is not None:
                process.kill()
                process.wait()
            raise
        if process is None:
            raise FfmpegFailed("no frames to encode")
        _finish(process)
        if process.returncode != 0:
            raise FfmpegFailed(_why(process.returncode, log))


def decoded_frames(path: Path) -> int:
    """How many video frames ``path`` decodes to; FfmpegFailed when it does not decode to the end."""
    with tempfile.TemporaryFile() as log:
        done = subprocess.run(
            [_exe(), "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-map", "0:v:0", "-f", "null",
             "-progress", "pipe:1", "-"],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )
        if done.returncode != 0:
            raise FfmpegFailed(_why(done.returncode, log))
    counts = [line.partition("=")[2] for line in done.stdout.splitlines() if line.startswith("frame=")]
    if not counts or not counts[-1].strip().isdigit():
        raise FfmpegFailed("ffmpeg did not report the frames it decoded")
    return int(counts[-1])


def _exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _start_encoder(path: Path, width: int, height: int, fps: float, codec: str, container: str, log: IO) -> subprocess.Popen:
    """ffmpeg reading raw RGB frames on stdin: H.264 at CRF 10 (VP9 at constant quality for WebM),
    yuv420p so that every player shows it."""
    quality = ["-crf", "10"] if codec == "libx264" else ["-crf", "20", "-b:v", "0"]
    command = [
        _exe(), "-nostdin", "-y", "-v", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(Fraction(fps).limit_denominator()),
        "-i", "-", "-an", "-vcodec", codec, "-pix_fmt", "yuv420p", *quality, "-f", container, str(path),
    ]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)


def _finish(process: subprocess.Popen) -> None:
    """Tell ffmpeg the last frame was sent and wait for it to write the file (killing it if interrupted)."""
    try:
        process.stdin.close()
    except BrokenPipeError:
        pass
    try:
        process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise


def _why(status: int, log: IO) -> str:
    """One line: ffmpeg's last message, or the signal that ended it."""
    log.seek(0)
    lines = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
    if status < 0:
        name = signal.Signals(-status).name
        reason = "the file grew past what the disk or account allows" if -status == signal.SIGXFSZ else "it was killed"
        return f"ffmpeg stopped by {name} ({reason})"
    return f"ffmpeg failed (status {status}): {lines[-1] if lines else 'no message'}"
