"""Shared helpers for the file-format tests: random assets and an independent PLY writer.

They are handed out as session fixtures (usable with hypothesis) rather than imported, since
other test folders have conftest modules of their own.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from scene import GaussianCloud, MeshAsset

PLY_TYPE_NAMES = {"f4": "float", "f8": "double", "u1": "uchar", "i1": "char", "u2": "ushort",
                  "i2": "short", "i4": "int", "u4": "uint"}  # fmt: skip


def standard_splat_fields(degree: int) -> list[str]:
    """The reference 3DGS vertex properties, spelled out independently of the code under test."""
    rest = [f"f_rest_{i}" for i in range(3 * ((degree + 1) ** 2 - 1))]
    return (
        ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        + rest
        + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    )


def ply_bytes(elements: list[tuple[str, np.ndarray]], encoding: str = "binary_little_endian") -> bytes:
    """A PLY file of ``(name, structured array)`` elements; ``(n,)``-shaped fields become lists."""
    header = ["ply", f"format {encoding} 1.0", "comment written by the test's own writer"]
    for name, rows in elements:
        header.append(f"element {name} {len(rows)}")
        for field in rows.dtype.names:
            base, shape = rows.dtype[field].base, rows.dtype[field].shape
            kind = PLY_TYPE_NAMES[base.str[1:]]
            header.append(f"property list uchar {kind} {field}" if shape else f"property {kind} {field}")
    out = ("\n".join(header) + "\nend_header\n").encode()
    for _, rows in elements:
        if encoding == "ascii":
            lines = []
            for row in rows:
                words = []
                for field in rows.dtype.names:
                    value = np.atleast_1d(row[field])
                    if rows.dtype[field].shape:
                        words.append(str(len(value)))
                    words += [repr(v.item()) for v in value]
                lines.append(" ".join(words))
            out += ("\n".join(lines) + "\n").encode() if lines else b""
        else:
            order = "<" if encoding == "binary_little_endian" else ">"
            for row in rows:  # row by row, so lists get their count byte
                for field in rows.dtype.names:
                    value = np.atleast_1d(row[field])
                    if rows.dtype[field].shape:
                        out += np.uint8(len(value)).tobytes()
                    out += value.astype(order + value.dtype.str[1:]).tobytes()
    return out


def random_cloud(rng: np.random.Generator, n: int, degree: int) -> GaussianCloud:
    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32)

    quats = normal(n, 4)
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    return GaussianCloud(normal(n, 3), normal(n, 3) - 3, quats, normal(n), normal(n, (degree + 1) ** 2, 3) * 0.5)


def quad_mesh(**visual: np.ndarray) -> MeshAsset:
    """A unit square of two triangles in the z = 0 plane."""
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], np.float32)
    return MeshAsset(vertices, np.array([[0, 1, 2], [1, 3, 2]]), **visual)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The helpers above, as attributes: ``helpers.ply_bytes(...)`` etc."""
    return SimpleNamespace(
        standard_splat_fields=standard_splat_fields, ply_bytes=ply_bytes, random_cloud=random_cloud, quad_mesh=quad_mesh
    )
