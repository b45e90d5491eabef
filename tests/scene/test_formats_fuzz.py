"""Dispatch (``load``, ``save``, ``sniff_kind``) and fuzzing: no input makes a reader raise
anything but ``FormatError``."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scene import GaussianCloud, MeshAsset, PointCloud
from scene.io import READ_EXTENSIONS, WRITE_EXTENSIONS, FormatError, dialog_filter, load, save, sniff_kind

FUZZ = settings(max_examples=150, deadline=None)


# ------------------------------------------------------------------------------ dispatch
@pytest.fixture(scope="module")
def assets(helpers) -> dict[str, object]:
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return {
        "splats": helpers.random_cloud(rng, 30, 2),
        "mesh": helpers.quad_mesh(uvs=rng.uniform(size=(4, 2)), texture=texture),
        "points": PointCloud(rng.normal(size=(10, 3)), rng.uniform(size=(10, 3))),
    }


@pytest.mark.parametrize(
    ("kind", "suffix", "expected_type"),
    [
        ("splats", ".ply", GaussianCloud),
        ("splats", ".splat", GaussianCloud),
        ("mesh", ".glb", MeshAsset),
        ("mesh", ".obj", MeshAsset),
        ("mesh", ".ply", MeshAsset),
        ("points", ".ply", PointCloud),
    ],
)
def test_save_then_load_by_extension(tmp_path, assets, kind, suffix, expected_type):
    path = tmp_path / f"asset{suffix.upper()}"  # extensions are case-insensitive
    save(path, assets[kind])
    assert sniff_kind(path) == kind
    assert isinstance(load(path), expected_type)


@pytest.mark.parametrize(("kind", "suffix"), [("points", ".splat"), ("splats", ".glb"), ("mesh", ".splat")])
def test_wrong_combination_names_the_possible_formats(tmp_path, assets, kind, suffix):
    obj = assets[kind]
    with pytest.raises(FormatError) as info:
        save(tmp_path / f"x{suffix}", obj)
    for possible in WRITE_EXTENSIONS[kind]:
        assert possible in str(info.value)
    assert not (tmp_path / f"x{suffix}").exists()


def test_unknown_objects_and_extensions(tmp_path, assets):
    with pytest.raises(FormatError, match="cannot save a str"):
        save(tmp_path / "x.ply", "not an asset")
    (tmp_path / "x.stl").write_bytes(b"solid")
    for call in (load, sniff_kind):
        with pytest.raises(FormatError, match="unknown format .stl"):
            call(tmp_path / "x.stl")
    for call in (load, sniff_kind, lambda p: save(p, assets["mesh"])):
        with pytest.raises(FormatError, match=r"a project \(\.a4d\) holds layers, not a single one; open it in the studio"):
            call(tmp_path / "doc.a4d")


def test_a_failed_save_leaves_the_previous_file_and_no_debris(tmp_path, assets, monkeypatch):
    path = tmp_path / "keep.ply"
    save(path, assets["points"])
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    for obj, name in ((assets["splats"], "keep.ply"), (assets["splats"], "keep.splat"), (assets["mesh"], "keep.glb")):
        with pytest.raises(OSError, match="disk full"):
            save(tmp_path / name, obj)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.ply"]


def test_dialog_filter_lists_every_extension():
    text = dialog_filter(READ_EXTENSIONS)
    assert re.findall(r"\(\*(\.\w+)\)", text) == list(READ_EXTENSIONS)


# ------------------------------------------------------------------------------ fuzzing
@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def valid_files(workdir, assets) -> dict[str, bytes]:
    """Bytes of one valid file per format (and a small ascii PLY), to be mutated."""
    files = {}
    for name, obj in (("s.ply", "splats"), ("m.ply", "mesh"), ("s.splat", "splats"), ("m.glb", "mesh"),
                      ("m.obj", "mesh")):  # fmt: skip
        save(workdir / name, assets[obj])
        files[name] = (workdir / name).read_bytes()
    files["a.ply"] = (
        b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
        b"property uchar red\nproperty uchar green\nproperty uchar blue\n"
        b"element face 1\nproperty list uchar int vertex_indices\nend_header\n"
        b"0 0 0 255 0 0\n1 0 0 0 255 0\n0 1 0 0 0 255\n3 0 1 2\n"
    )
    return files


def read_everything(path) -> None:
    """``load`` and ``sniff_kind`` may only succeed or raise FormatError."""
    for call in (sniff_kind, load):
        try:
            call(path)
        except FormatError:
            pass


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".ply", ".splat", ".glb", ".obj", ".gltf"]))
def test_arbitrary_bytes(workdir, data, suffix):
    path = workdir / f"random{suffix}"
    path.write_bytes(data)
    read_everything(path)


@FUZZ
@given(data=st.binary(max_size=400), encoding=st.sampled_from(["ascii", "binary_little_endian", "binary_big_endian"]))
def test_ply_header_then_arbitrary_bytes(workdir, data, encoding):
    path = workdir / "header.ply"
    path.write_bytes(f"ply\nformat {encoding} 1.0\n".encode() + data)
    read_everything(path)


def mutate(draw, data: bytes) -> bytes:
    """Truncate, flip bytes, or fiddle with a number or word of a file's text."""
    how = draw(st.sampled_from(["truncate", "flip", "number", "word"]))
    if how == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if how == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    head = data[:2000]
    pattern = rb"\d+" if how == "number" else rb"[a-z_]+"
    matches = list(re.finditer(pattern, head))
    if not matches:
        return data
    match = draw(st.sampled_from(matches))
    if how == "number":
        new = str(draw(st.sampled_from([0, 1, 2, 3, 7, 255, 256, 10**6, 10**12, 2**31, 2**32 + 1]))).encode()
    else:
        new = draw(st.sampled_from([b"float", b"double", b"uchar", b"int", b"list", b"vertex", b"face", b"x",
                                    b"f_rest_0", b"opacity", b"end_header", b"ascii", b"", b"mtllib"]))  # fmt: skip
    return data[: match.start()] + new + data[match.end() :]


@FUZZ
@given(st.data())
def test_mutated_valid_files(workdir, valid_files, data):
    name = data.draw(st.sampled_from(sorted(valid_files)))
    path = workdir / f"mutated_{name}"
    path.write_bytes(mutate(data.draw, valid_files[name]))
    read_everything(path)
