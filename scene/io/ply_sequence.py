"""PLY sequences: a folder of 3DGS PLY files, one per frame, read as a clip and written from one.

This is the 4D layout of SuperSplat and DreamGaussian4D: ``frame_0000.ply, frame_0001.ply ...``.
Frames are taken in natural name order (``frame_2`` before ``frame_10``); frames of the same splats
(equal counts and colours) make one moving cloud, others a flipbook (see
:meth:`GaussianClip.from_frames`). Reading a sequence and writing it back gives the same files.

A sequence is written into a hidden sibling folder and swapped into place when every frame is
written, so a failure leaves no partial set behind and an existing sequence's old frames never mix
with new ones.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Callable, Union

import numpy as np

from scene.clip import GaussianClip
from scene.io.atomic import atomic_folder
from scene.io.errors import FormatError
from scene.io.ply import ply_kind, read_ply, write_gaussians_ply

PathLike = Union[str, os.PathLike]
Progress = Callable[[float], None]  # called with the share done, 0-1; may raise to cancel
FRAME_NAME = "frame_{:04d}.ply"
DEFAULT_FPS = 24.0  # a PLY sequence holds no frame rate; this is the one it plays at unless told
_KIND_WORDS = {"mesh": "a mesh", "points": "a point cloud"}


def natural_key(name: str) -> tuple:
    """Sort key putting ``frame_2`` before ``frame_10``: digit runs compare as numbers."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts), name


def sequence_files(folder: PathLike) -> list[Path]:
    """The PLY files of ``folder`` in natural name order (hidden files left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError(folder, "no such folder")
    files = [p for p in folder.iterdir() if p.suffix.lower() == ".ply" and not p.name.startswith(".") and p.is_file()]
    if not files:
        raise FormatError(folder, "the folder holds no PLY files (a PLY sequence is frame_0000.ply, frame_0001.ply ...)")
    return sorted(files, key=lambda p: natural_key(p.name))


def read_ply_sequence(folder: PathLike, fps: float = DEFAULT_FPS, progress: Progress | None = None) -> GaussianClip:
    """The splat PLY files of ``folder``, in natural name order, as a clip playing at ``fps``."""
    _check_fps(fps)
    files = sequence_files(folder)
    frames = []
    for i, path in enumerate(files):
        kind = ply_kind(path)
        if kind != "splats":
            problem = f"holds {_KIND_WORDS[kind]}, not splats: every frame of a PLY sequence must be a 3DGS splat PLY"
            raise FormatError(path, problem)
        frames.append(read_ply(path))
        if progress is not None:
            progress((i + 1) / len(files))
    return GaussianClip.from_frames(frames, fps)


def sequence_times(clip: GaussianClip, fps: float | None = None) -> np.ndarray:
    """Document seconds of the frames a sequence of ``clip`` holds (:meth:`GaussianClip.frame_times`):
    at its own rate, or resampled at ``fps``."""
    if fps is not None:
        _check_fps(fps)
    return clip.frame_times(fps)


def write_ply_sequence(
    clip: GaussianClip, folder: PathLike, fps: float | None = None, progress: Progress | None = None
) -> list[Path]:
    """Write ``clip`` as ``folder/frame_0000.ply ...`` (the 3DGS layout), one file per time of
    :func:`sequence_times`; returns the files. ``folder`` is created, or replaced when it holds
    only PLY files (a former sequence); its parent must exist."""
    folder = Path(os.path.abspath(folder))
    _check_target(folder)
    times = sequence_times(clip, fps)
    with atomic_folder(folder) as staging:
        for i, time in enumerate(times):
            write_gaussians_ply(staging / FRAME_NAME.format(i), clip.at(float(time)))
            if progress is not None:
                progress((i + 1) / len(times))
    return [folder / FRAME_NAME.format(i) for i in range(len(times))]


def _check_fps(fps: float) -> None:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"the frame rate must be a positive number of frames per second, got {fps!r}")


def _check_target(folder: Path) -> None:
    """Refuse a folder that cannot hold the sequence before any frame is made."""
    if not folder.parent.is_dir():
        raise FormatError(folder, f"the folder {folder.parent} does not exist")
    if folder.exists() and not folder.is_dir():
        raise FormatError(folder, "is a file; a PLY sequence is written into a folder")
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if not (p.is_file() and p.suffix.lower() == ".ply"))
        if others:
            raise FormatError(
                folder, f"holds other things than PLY files ({', '.join(others[:3])}); choose an empty or new folder"
            )
