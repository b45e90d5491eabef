"""Property-based fuzzing of the mesh readers (GLB, glTF with its .bin, OBJ with its MTL and texture)
and of the NeRF-synthetic dataset reader, plus hand-written hostile files.

Samples come from the real writers and are mutated two ways: structurally (a field of the glTF JSON,
a line of the OBJ or MTL, a frame of ``transforms_train.json`` set to a hostile value) and byte by byte
(``tests.faults.fuzzing.mutate``). Whatever comes in, the reader returns a payload or raises one
FormatError line, holding memory proportional to the input's size. A campaign:
``A4D_FUZZ_EXAMPLES=1000 pytest tests/faults/test_fuzz_meshes.py -p no:cacheprovider``.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from engines.data import load_views
from scene import Camera, MeshAsset
from scene.io import FormatError
from scene.io.meshes import to_trimesh
from tests.faults.fuzzing import FUZZ, json_values, mutate, within_memory, written

HUGE = [2**31 - 1, 2**31, 2**32, 2**32 + 12, 10**12, 2**63, 2**64 + 1]
NEGATIVE = [-1, -4, -(2**31), -(2**63)]


def _hostile_numbers():
    return st.sampled_from(HUGE + NEGATIVE + [0, 1, 3, 5120, 5121, 5123, 5125, 5126, 5130, 0.5, math.nan])


def _hostile_values():
    """What a hostile author puts where a glTF index, count or offset belongs."""
    return _hostile_numbers() | json_values() | st.lists(st.integers(-1, 4), max_size=4)


def _png(rgba: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose (valid, CRC-checked) header says ``width`` x ``height`` RGBA but whose data is a
    few bytes: a texture bomb's header without its body."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", zlib.compress(bytes(64))) + _chunk(b"IEND", b"")


def _mesh(textured: bool) -> MeshAsset:
    rng = np.random.default_rng(3)
    vertices, faces = rng.normal(size=(5, 3)), [[0, 1, 2], [0, 2, 3], [1, 3, 4]]
    if textured:
        texture = (rng.uniform(size=(4, 4, 4)) * 255).astype(np.uint8)
        return MeshAsset(vertices, faces, uvs=rng.uniform(size=(5, 2)), texture=texture)
    return MeshAsset(vertices, faces, vertex_colors=rng.uniform(size=(5, 4)))


# ------------------------------------------------------------------------------ GLB
def glb_split(data: bytes) -> tuple[dict, bytes]:
    """The JSON and BIN chunks of a well-formed GLB."""
    json_length = struct.unpack_from("<I", data, 12)[0]
    body = data[20 + json_length :]
    return json.loads(data[20 : 20 + json_length]), body[8:]


def glb_join(gltf: dict | str | bytes, binary: bytes) -> bytes:
    """A GLB of ``gltf`` (a dict, or raw JSON text) and a BIN chunk, all lengths consistent."""
    text = json.dumps(gltf) if isinstance(gltf, dict) else gltf
    text = text.encode() if isinstance(text, str) else text
    text += b" " * (-len(text) % 4)
    binary += bytes(-len(binary) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(binary), b"BIN\x00") + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(chunks)) + chunks


def _glb_sample(textured: bool) -> bytes:
    return to_trimesh(_mesh(textured)).export(file_type="glb", include_normals=True)


GLB_SAMPLES = {"textured": _glb_sample(True), "coloured": _glb_sample(False)}
GLB_FIELDS = {
    "accessors": ["count", "componentType", "type", "bufferView", "byteOffset", "normalized", "sparse"],
    "bufferViews": ["buffer", "byteOffset", "byteLength", "byteStride"],
    "buffers": ["byteLength", "uri"],
    "images": ["bufferView", "mimeType", "uri"],
    "meshes": ["primitives"],
    "nodes": ["mesh", "children", "matrix", "translation", "rotation", "scale"],
    "scenes": ["nodes"],
    "materials": ["pbrMetallicRoughness"],
    "textures": ["source", "sampler"],
}
PRIMITIVE_FIELDS = ["indices", "mode", "material", "POSITION", "NORMAL", "TEXCOORD_0", "COLOR_0"]


def mutate_gltf(gltf: dict, draw) -> dict | str:
    """One structural mutation of a glTF document: a field set to a hostile value, an array emptied or
    dropped, every bufferView aliasing the same bytes, or a field nested very deep (raw text)."""
    gltf = json.loads(json.dumps(gltf))
    choice = draw(st.sampled_from(["field", "field", "primitive", "array", "overlap", "deep", "top"]))
    if choice == "field":  # one to three fields set to hostile values, or dropped
        for _ in range(draw(st.integers(1, 3))):
            array = draw(st.sampled_from(sorted(k for k in GLB_FIELDS if isinstance(gltf.get(k), list) and gltf[k])))
            item = gltf[array][draw(st.integers(0, len(gltf[array]) - 1))]
            key = draw(st.sampled_from(GLB_FIELDS[array]))
            if draw(st.integers(0, 3)) == 0:
                item.pop(key, None)
            else:
                item[key] = draw(_hostile_values())
    elif choice == "primitive":
        primitive = gltf["meshes"][0]["primitives"][0]
        key, value = draw(st.sampled_from(PRIMITIVE_FIELDS)), draw(_hostile_values())
        (primitive if key in ("indices", "mode", "material") else primitive["attributes"])[key] = value
    elif choice == "array":
        key = draw(st.sampled_from(sorted(GLB_FIELDS)))
        if draw(st.booleans()):
            gltf.pop(key, None)
        else:
            gltf[key] = draw(st.sampled_from([[], {}, [None], "x", [[]], 7]))
    elif choice == "overlap":
        for view in gltf["bufferViews"]:
            view["byteOffset"] = 0
    elif choice == "top":
        key = draw(st.sampled_from(["scene", "scenes", "asset", "extensionsUsed", "extensionsRequired"]))
        gltf[key] = draw(json_values())
    else:
        depth = draw(st.integers(100, 200_000))
        text = json.dumps({**gltf, "extras": 0})
        return text.replace('"extras": 0', '"extras": ' + "[" * depth + "]" * depth, 1)
    return gltf


@FUZZ
@given(st.sampled_from(sorted(GLB_SAMPLES)), st.data())
def test_fuzz_glb_bytes(sample, data):
    within_memory(mutate(GLB_SAMPLES[sample], data.draw), ".glb")


@FUZZ
@given(st.sampled_from(sorted(GLB_SAMPLES)), st.data())
def test_fuzz_glb_json(sample, data):
    """The JSON chunk mutated, structurally or as bytes, with the chunk lengths kept right."""
    gltf, binary = glb_split(GLB_SAMPLES[sample])
    if data.draw(st.integers(0, 3)) == 0:
        mutated = mutate(json.dumps(gltf).encode(), data.draw)
    else:
        mutated = mutate_gltf(gltf, data.draw)
    within_memory(glb_join(mutated, binary), ".glb")


@FUZZ
@given(st.data())
def test_fuzz_glb_chunks(data):
    """Chunk lengths that lie, a BIN chunk cut short or padded, an image that is not one."""
    gltf, binary = glb_split(GLB_SAMPLES["textured"])
    choice = data.draw(st.sampled_from(["json_length", "bin_length", "bin_size", "image"]))
    if choice == "image":
        view = gltf["bufferViews"][gltf["images"][0]["bufferView"]]
        start, end = view.get("byteOffset", 0), view.get("byteOffset", 0) + view["byteLength"]
        image = data.draw(st.sampled_from([b"", b"not an image", png_claiming(60_000, 60_000),
                                           png_claiming(9000, 9000), mutate(binary[start:end], data.draw)]))
        image = (image + bytes(max(0, end - start - len(image))))[: end - start]
        data_out = glb_join(gltf, binary[:start] + image + binary[end:])
    elif choice == "bin_size":
        size = data.draw(st.integers(0, len(binary) + 64))
        data_out = glb_join(gltf, (binary + bytes(64))[:size])
    else:
        data_out = bytearray(glb_join(gltf, binary))
        at = 12 if choice == "json_length" else 20 + struct.unpack_from("<I", data_out, 12)[0]
        struct.pack_into("<I", data_out, at, data.draw(st.sampled_from([0, 1, 7, 2**31, 2**32 - 1, 2**32 - 8])))
    within_memory(bytes(data_out), ".glb")


# ------------------------------------------------------------------------------ glTF with .bin files
def _gltf_sample() -> dict[str, bytes]:
    return to_trimesh(_mesh(True)).export(file_type="gltf")


GLTF_SAMPLE = _gltf_sample()
HOSTILE_URIS = ["../../../../etc/passwd", "/etc/passwd", "/dev/zero", "sub", "missing.bin", "", ".",
                "data:application/octet-stream;base64,AAAA", "data:,", "data:;base64,!!!!", "http://example.com/x.bin",
                "gltf_buffer_0.bin/../gltf_buffer_1.bin", "%2e%2e/%2e%2e/etc/passwd"]


@FUZZ
@given(st.data())
def test_fuzz_gltf_with_buffers(data):
    files = dict(GLTF_SAMPLE)
    gltf = json.loads(files["model.gltf"])
    choice = data.draw(st.sampled_from(["json", "uri", "bin", "text"]))
    if choice == "json":
        mutated = mutate_gltf(gltf, data.draw)
        files["model.gltf"] = (mutated if isinstance(mutated, str) else json.dumps(mutated)).encode()
    elif choice == "uri":
        items = gltf[data.draw(st.sampled_from(["buffers", "images"]))] if gltf.get("images") else gltf["buffers"]
        items[data.draw(st.integers(0, len(items) - 1))]["uri"] = data.draw(st.sampled_from(HOSTILE_URIS))
        files["model.gltf"] = json.dumps(gltf).encode()
        files["sub/x"] = b""
    elif choice == "bin":
        name = data.draw(st.sampled_from(sorted(n for n in files if n.endswith(".bin"))))
        files[name] = mutate(files[name], data.draw)
    else:
        files["model.gltf"] = mutate(files["model.gltf"], data.draw)
    within_memory(files, ".gltf", target="model.gltf")


# ------------------------------------------------------------------------------ OBJ with MTL and texture
def _obj_sample() -> dict[str, bytes]:
    with written({}) as folder:
        from scene.io import save

        save(folder / "m.obj", _mesh(True))
        return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


OBJ_SAMPLE = _obj_sample()
OBJ_LINES = [
    "f 0 1 2", "f -100 1 2", "f 1 2 99999999", "f 1/99 2/99 3/99", "f 1//-7 2//2 3//3", "f 1 2", "f",
    "f " + " ".join(str(i % 5 + 1) for i in range(5000)), "f a b c", "f 1/1/1/1 2 3", "f 1.5 2 3",
    "v nan inf 1", "v 1e400 -1e400 0", "v 1", "v", "v a b c", "vt nan", "vt 1e400 2", "vn 0 0 0", "vt 0.5",
    "v 1 2 3 4 5 6 7", "v 0 0 0 1 0", "g", "o", "usemtl missing", "usemtl", "s off", "l 1 2 3", "p 1",
    "mtllib ../../etc/passwd", "mtllib /etc/passwd", "mtllib sub", "mtllib missing.mtl", "mtllib /dev/zero",
    "mtllib", "mtllib m.png", "\x00\xff garbage", "#" * 5000, "v " + "1" * 400 + " 0 0",
]
MTL_LINES = [
    "map_Kd ../../etc/passwd", "map_Kd /etc/passwd", "map_Kd sub", "map_Kd missing.png", "map_Kd /dev/zero",
    "map_Kd broken.png", "map_Kd bomb.png", "map_Kd big.png", "map_Kd", "map_Kd m.obj", "Kd nan inf 1", "Kd 1e400",
    "Kd a b c", "Kd", "newmtl", "newmtl m", "Ns -1", "d 2", "Tr nan", "illum 99999999999",
]
OBJ_EXTRAS = {"broken.png": b"\x89PNG\r\n\x1a\n broken", "bomb.png": png_claiming(60_000, 60_000),
              "big.png": png_claiming(9000, 9000), "sub/x": b""}


def _lines(choices: list[str]):
    return st.lists(st.sampled_from(choices), min_size=1, max_size=3)


def _insert_lines(text: bytes, lines: list[str]) -> bytes:
    rows = text.split(b"\n")
    for line in lines:
        rows.insert(len(rows) // 2, line.encode("utf-8", "surrogateescape"))
    return b"\n".join(rows)


@FUZZ
@given(st.data())
def test_fuzz_obj(data):
    files = {**OBJ_SAMPLE, **OBJ_EXTRAS}
    choice = data.draw(st.sampled_from(["obj_lines", "mtl_lines", "obj_bytes", "mtl_bytes", "png_bytes"]))
    if choice == "obj_lines":
        files["m.obj"] = _insert_lines(files["m.obj"], data.draw(_lines(OBJ_LINES)))
    elif choice == "mtl_lines":
        files["m.mtl"] = _insert_lines(files["m.mtl"], data.draw(_lines(MTL_LINES)))
    else:
        name = {"obj_bytes": "m.obj", "mtl_bytes": "m.mtl", "png_bytes": "m.png"}[choice]
        files[name] = mutate(files[name], data.draw)
    within_memory(files, ".obj", target="m.obj")


# ------------------------------------------------------------------------------ NeRF-synthetic datasets
FOV_X = 0.6911


def _dataset_sample() -> dict[str, bytes]:
    """A three-frame NeRF-synthetic split of tiny PNGs (what ``tests/engines/test_nerf_synthetic`` writes, smaller)."""
    rng = np.random.default_rng(4)
    files, frames = {}, []
    for i in range(3):
        angle = 2 * math.pi * i / 3
        eye = 4 * np.array([math.cos(angle), 0.5, math.sin(angle)])
        files[f"train/r_{i}.png"] = _png((rng.uniform(size=(8, 8, 4)) * 255).astype(np.uint8))
        c2w = Camera.look_at(eye, np.zeros(3)).c2w
        frames.append({"file_path": f"./train/r_{i}", "transform_matrix": c2w.tolist()})
    files["transforms_train.json"] = json.dumps({"camera_angle_x": FOV_X, "frames": frames}).encode()
    return files


DATASET_SAMPLE = _dataset_sample()
HOSTILE_FILE_PATHS = ["../../../../etc/passwd", "/etc/passwd", "/dev/zero", "train", "", ".", "missing",
                      "./train/r_0.png", "./train/r_0.png.png", "train/../transforms_train.json", "\x00", "a" * 5000]


def _read_dataset(folder):
    return load_views(folder, "train", resolution=None)


@FUZZ
@given(st.data())
def test_fuzz_nerf_synthetic(data):
    files = dict(DATASET_SAMPLE)
    meta = json.loads(files["transforms_train.json"])
    choice = data.draw(st.sampled_from(["top", "frame", "file_path", "image", "size", "json_bytes", "deep"]))
    if choice == "top":
        key = data.draw(st.sampled_from(["camera_angle_x", "frames"]))
        if data.draw(st.booleans()):
            meta.pop(key)
        else:
            meta[key] = data.draw(_hostile_values() | st.sampled_from([math.inf, -math.inf, 1e308, 3.1, [1.0], "0.6"]))
    elif choice == "frame":
        frame = meta["frames"][data.draw(st.integers(0, 2))]
        key = data.draw(st.sampled_from(["file_path", "transform_matrix"]))
        if data.draw(st.booleans()):
            frame.pop(key)
        else:
            frame[key] = data.draw(_hostile_values() | st.sampled_from([[[math.nan] * 4] * 4, [[1e308] * 4] * 4, [[]]]))
    elif choice == "file_path":
        meta["frames"][data.draw(st.integers(0, 2))]["file_path"] = data.draw(st.sampled_from(HOSTILE_FILE_PATHS))
    elif choice == "image":
        name = f"train/r_{data.draw(st.integers(0, 2))}.png"
        files[name] = data.draw(st.sampled_from([b"", png_claiming(60_000, 60_000), png_claiming(9000, 9000),
                                                 png_claiming(0, 5), mutate(files[name], data.draw)]))
    elif choice == "size":
        size = data.draw(st.sampled_from([(1, 1), (8, 9), (300, 2)]))
        files[f"train/r_{data.draw(st.integers(0, 2))}.png"] = _png(np.zeros((size[1], size[0], 4), np.uint8))
    elif choice == "deep":
        depth = data.draw(st.integers(100, 200_000))
        meta = json.dumps({**meta, "extra": 0}).replace('"extra": 0', '"extra": ' + "[" * depth + "]" * depth, 1)
    else:
        files["transforms_train.json"] = mutate(files["transforms_train.json"], data.draw)
    if not isinstance(meta, str) and choice != "json_bytes":
        meta = json.dumps(meta)
    if choice != "json_bytes":
        files["transforms_train.json"] = meta.encode()
    within_memory(files, "nerf-synthetic", _read_dataset)


# ------------------------------------------------------------------------------ hand-written hostile files
def _glb_with(edit) -> bytes:
    gltf, binary = glb_split(GLB_SAMPLES["textured"])
    edit(gltf)
    return glb_join(gltf, binary)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda g: g["buffers"][0].update(byteLength=2**32), "buffer 0 claims 4294967296 bytes but holds"),
        (lambda g: g["accessors"][1].update(count=2**62), "accessor 1 needs .* bytes but its buffer view"),
        (lambda g: g["bufferViews"][1].update(byteStride=252) or g["accessors"][1].update(count=2**40),
         "accessor 1 needs"),
        (lambda g: g["accessors"].append({"componentType": 5126, "type": "VEC3", "count": 2**25}),
         "accessor 4 has no data but claims 33554432 elements"),
        (lambda g: g["bufferViews"][0].update(byteOffset=2**31), "buffer view 0 reaches byte"),
        (lambda g: g["accessors"][0].update(componentType=5124), "accessor 0 has an unknown componentType"),
        (lambda g: g["meshes"][0]["primitives"][0].update(indices=-1), "indices must be a whole number 0..3"),
    ],
)
def test_a_glb_lying_about_its_sizes_is_refused_before_anything_is_sized(edit, message):
    result = within_memory(_glb_with(edit), ".glb")
    assert isinstance(result, FormatError) and re.search(message, result.problem), result


@pytest.mark.parametrize("chunk", ["json", "bin"])
def test_a_glb_chunk_claiming_4_gb_is_refused(chunk):
    data = bytearray(GLB_SAMPLES["textured"])
    at = 12 if chunk == "json" else 20 + struct.unpack_from("<I", data, 12)[0]
    struct.pack_into("<I", data, at, 2**32 - 8)
    result = within_memory(bytes(data), ".glb")
    assert isinstance(result, FormatError) and "claims 4294967288 bytes, past the end" in result.problem, result


@pytest.mark.parametrize("copies", [4, 500])
def test_a_glb_instancing_its_mesh_hundreds_of_times_is_refused(copies):
    """Each node costs a few bytes of JSON but unfolds into a copy of the mesh: a few copies are
    read, hundreds refused."""
    rng = np.random.default_rng(5)
    mesh = MeshAsset(rng.normal(size=(2000, 3)), rng.integers(0, 2000, (2000, 3)))
    gltf, binary = glb_split(to_trimesh(mesh).export(file_type="glb"))
    gltf["nodes"] = [{"mesh": 0} for _ in range(copies)]
    gltf["scenes"] = [{"nodes": list(range(copies))}]
    result = within_memory(glb_join(gltf, binary), ".glb")
    if copies == 4:
        assert isinstance(result, MeshAsset) and result.vertex_count == 4 * 2000
    else:
        assert isinstance(result, FormatError) and "repeats its meshes into 4000000 vertices" in result.problem


def test_a_glb_texture_claiming_billions_of_pixels_is_refused():
    gltf, binary = glb_split(GLB_SAMPLES["textured"])
    view = gltf["bufferViews"][gltf["images"][0]["bufferView"]]
    bomb = png_claiming(9000, 9000)
    view.update(byteOffset=len(binary), byteLength=len(bomb))
    gltf["buffers"][0]["byteLength"] = len(binary) + len(bomb)
    result = within_memory(glb_join(gltf, binary + bomb), ".glb")
    assert isinstance(result, FormatError) and "claims 9000x9000 pixels but holds only" in result.problem, result


@pytest.mark.parametrize("uri", ["../../../../etc/passwd", "/dev/zero", "sub"])
def test_a_gltf_naming_a_buffer_outside_its_folder_is_refused(uri):
    gltf = json.loads(GLTF_SAMPLE["model.gltf"])
    gltf["buffers"][0]["uri"] = uri
    files = {**GLTF_SAMPLE, "model.gltf": json.dumps(gltf).encode(), "sub/x": b""}
    result = within_memory(files, ".gltf", target="model.gltf")
    assert isinstance(result, FormatError) and "which is not a file beside it" in result.problem, result


def test_an_obj_texture_claiming_billions_of_pixels_is_refused():
    files = {**OBJ_SAMPLE, "m.png": png_claiming(9000, 9000)}
    result = within_memory(files, ".obj", target="m.obj")
    assert isinstance(result, FormatError) and "m.png: the image claims 9000x9000 pixels" in str(result), result


@pytest.mark.parametrize("hostile", ["mtllib", "map_Kd"])
def test_an_obj_naming_a_pipe_does_not_hang(tmp_path, hostile):
    """A companion that is a named pipe (or a device) is not read: open() on it would wait forever."""
    pipe = "m.mtl" if hostile == "mtllib" else "m.png"
    for name, data in OBJ_SAMPLE.items():
        if name != pipe:
            (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / pipe)
    script = "import sys; from scene.io import load; m = load(sys.argv[1]); print(m.vertex_count, m.is_textured)"
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.obj")], capture_output=True, text=True,
                            timeout=60, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "5"  # read, with or without its texture


def test_a_dataset_image_claiming_billions_of_pixels_is_refused():
    for side, message in ((60_000, "more pixels than any image may have"), (9000, "9000x9000 pixels but holds")):
        files = {**DATASET_SAMPLE, "train/r_1.png": png_claiming(side, side)}
        result = within_memory(files, "nerf-synthetic", _read_dataset)
        assert isinstance(result, FormatError) and f"r_1.png: the image claims {message}" in str(result), result


def test_a_dataset_naming_one_image_for_every_frame_is_refused():
    """A frame costs a few hundred bytes of JSON but decodes its image again: 400 frames of one
    image would take a hundred times the dataset's size."""
    rng = np.random.default_rng(6)
    meta = json.loads(DATASET_SAMPLE["transforms_train.json"])
    meta["frames"] = [meta["frames"][0]] * 400
    files = {"transforms_train.json": json.dumps(meta).encode(),
             "train/r_0.png": _png((rng.uniform(size=(64, 64, 4)) * 255).astype(np.uint8))}
    result = within_memory(files, "nerf-synthetic", _read_dataset)
    assert isinstance(result, FormatError) and "frame 1 (./train/r_0) uses the image of frame 0 again" in str(result)


def _frame0(file_path: str):
    return lambda meta: json.dumps({**meta, "frames": [{**meta["frames"][0], "file_path": file_path}]})


@pytest.mark.parametrize(
    "edit, message",
    [
        (_frame0("../../../../etc/passwd"), "not name an image inside"),
        (_frame0("/etc/passwd"), "not name an image inside"),
        (_frame0("a" * 5000), "image not found"),
        (lambda meta: json.dumps({**meta, "camera_angle_x": True}), "camera_angle_x must be an angle"),
        (lambda meta: json.dumps(meta)[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_a_hostile_dataset_is_one_format_error(edit, message):
    text = edit(json.loads(DATASET_SAMPLE["transforms_train.json"]))
    result = within_memory({**DATASET_SAMPLE, "transforms_train.json": text.encode()}, "nerf-synthetic", _read_dataset)
    assert isinstance(result, FormatError) and re.search(message, str(result)), result
