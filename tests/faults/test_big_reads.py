"""Every reader on real files of a few megabytes, whole and cut short: the memory a read holds is a
bounded multiple of the file (what the fault report gives as each reader's memory-to-file ratio; the
fuzz tests' small hostile files are dominated by the fixed allowance every read has)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from engines.data import load_views
from scene import Document, GaussianCloud, Layer, MeshAsset
from scene.io import FormatError, save
from scene.io.project import load_project, save_project
from scene.points import PointCloud
from tests.engines.test_nerf_synthetic import orbit_cameras, write_dataset
from tests.faults.fuzzing import Files, within_memory

BIG_RATIO = 16
"""Bytes a reader may hold per byte of a file of megabytes (the fuzzing's bound is 64x plus 8 MB):
its arrays, the file's decoded form, and little more. trimesh's mesh readers hold the most (about
10x: its float64 arrays, then ours)."""


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _splats(n: int) -> GaussianCloud:
    rng = _rng()
    return GaussianCloud.create(
        rng.normal(size=(n, 3)), rng.uniform(0.01, 0.1, (n, 3)), rng.uniform(size=(n, 3)), rng.uniform(0.2, 0.9, n),
        quats=rng.normal(size=(n, 4)), sh_degree=3,
    )


def _mesh(side: int, textured: bool) -> MeshAsset:
    """A wavy grid of ``side`` x ``side`` vertices, UV-textured with noise or coloured per vertex."""
    rng = _rng()
    u, v = np.meshgrid(np.linspace(0, 1, side), np.linspace(0, 1, side))
    vertices = np.stack([u.ravel(), 0.1 * np.sin(7 * u.ravel()) * np.cos(5 * v.ravel()), v.ravel()], axis=1)
    rows = np.arange(side - 1)[:, None] * side + np.arange(side - 1)[None, :]
    quads = np.stack([rows, rows + 1, rows + side + 1, rows + side], axis=-1).reshape(-1, 4)
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    if textured:
        texture = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
        return MeshAsset(vertices, faces, uvs=np.stack([u.ravel(), v.ravel()], axis=1), texture=texture)
    return MeshAsset(vertices, faces, vertex_colors=rng.uniform(size=(side * side, 4)))


def _files(write: Callable[[Path], Path]) -> tuple[Files, str]:
    """The files ``write(folder)`` makes, by name, and the one to read (a folder: ``""``)."""
    with tempfile.TemporaryDirectory() as folder:
        target = write(Path(folder))
        files = {str(p.relative_to(folder)): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}
        return files, "" if target == Path(folder) else str(target.relative_to(folder))


def _saved(name: str, data: object) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        save(folder / name, data)
        return folder / name

    return write


def _project(folder: Path) -> Path:
    document = Document()
    document.add_layer(Layer("splats", _splats(8_000)))
    document.add_layer(Layer("mesh", _mesh(200, textured=False)))
    save_project(document, folder / "scene.a4d")
    return folder / "scene.a4d"


def _dataset(folder: Path) -> Path:
    """A NeRF-synthetic split of photos' worth of detail: noise compresses as little as a photo does
    (a PNG of a smooth sphere is a few bytes a pixel, decoded to 16: its ratio says how well it compresses)."""
    path = write_dataset(folder, orbit_cameras(8, 256))
    for image in (folder / "train").glob("*.png"):
        Image.fromarray(_rng().integers(0, 256, (256, 256, 4), dtype=np.uint8), "RGBA").save(image)
    return path.parent


SAMPLES: dict[str, tuple[Callable[[Path], Path], str, Callable | None]] = {  # how to write it, its reader's name, the reader
    "splat ply": (_saved("a.ply", _splats(8_000)), ".ply", None),
    "mesh ply": (_saved("a.ply", _mesh(300, textured=False)), ".ply", None),
    "points ply": (_saved("a.ply", PointCloud(_rng().normal(size=(100_000, 3)), _rng().uniform(size=(100_000, 3)))), ".ply", None),
    "splat": (_saved("a.splat", _splats(60_000)), ".splat", None),
    "glb": (_saved("a.glb", _mesh(300, textured=True)), ".glb", None),
    "obj": (_saved("a.obj", _mesh(200, textured=True)), ".obj", None),
    "a4d": (_project, ".a4d", load_project),
    "nerf-synthetic": (_dataset, "nerf-synthetic", lambda folder: load_views(folder, "train")),
}


@pytest.fixture(scope="module")
def samples() -> dict[str, tuple[Files, str]]:
    return {name: _files(write) for name, (write, _, _) in SAMPLES.items()}


@pytest.mark.parametrize("cut", [None, 0.5, 0.97])
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_a_reader_holds_a_bounded_multiple_of_a_big_file(sample, cut, samples) -> None:
    """Whole, or its main file cut short at half or near the end (as a copy that stopped)."""
    files, target = samples[sample]
    _, name, reader = SAMPLES[sample]
    main = target or max(files, key=lambda key: len(files[key]))  # a dataset: cut its biggest image
    size = sum(map(len, files.values()))
    assert size >= 1 << 20, f"{sample}: {size} bytes, not a big file"
    if cut is not None:
        files = {**files, main: files[main][: int(len(files[main]) * cut)]}
    read = within_memory(files, name, reader, target, ratio=BIG_RATIO)
    assert cut is not None or not isinstance(read, FormatError), read
