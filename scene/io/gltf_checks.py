"""A glTF's structure checked against its own bytes before trimesh reads it.

trimesh sizes what it reads by what the file says: a GLB chunk's length is read as it is, an
accessor without data becomes an array of zeros of its ``count``, and every node instancing a mesh
copies it. A hostile or broken file could so make it allocate gigabytes from a few bytes, or fail
with a Python error. These checks refuse such a file first, with one line saying what is wrong:
the GLB's chunks must tile the file, every buffer must hold the bytes it claims, every buffer view
must lie inside its buffer and every accessor inside its buffer view, and the meshes the scene
instances may hold at most ``MAX_ELEMENTS_PER_BYTE`` vertices and indices per byte of the file(s).
Only what sizes memory is checked; the rest is left to trimesh (which fails cleanly on it).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from scene.io.errors import FormatError
from scene.io.images import refuse_image_bomb

COMPONENT_BYTES = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
"""Bytes of each accessor componentType (glTF 2.0)."""

TYPE_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
"""Components of each accessor type."""

MAX_ELEMENTS_PER_BYTE = 1
"""Vertices plus indices the instanced meshes may reach per byte of input. A mesh stored once needs
several bytes for each (a float position alone is 12), so this leaves room for instancing each
mesh several times while a file of a few bytes cannot unfold into gigabytes."""

ELEMENT_FLOOR = 1 << 17
"""Vertices plus indices any file may instance, whatever its size (small files instancing a few
times); read, each costs about 40 bytes, so this is about 5 MB."""


def check_glb(path: str | os.PathLike) -> None:
    """Check a GLB file: its header and chunks, then its glTF document (see the module docstring)."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"glTF":
            raise FormatError(path, "not a GLB file (no 'glTF' magic)")
        _, version, length = struct.unpack("<4sII", head)
        if version != 2:
            raise FormatError(path, f"GLB version {version} is not supported (only 2)")
        if length != size:
            raise FormatError(path, f"the GLB header says {length} bytes but the file has {size} (truncated?)")
        chunks: list[tuple[bytes, int, int]] = []  # (type, offset of the data, length)
        at = 12
        while at < size:
            chunk_head = handle.read(8)
            if len(chunk_head) < 8:
                raise FormatError(path, f"a GLB chunk header at byte {at} is cut short")
            chunk_length, kind = struct.unpack("<I4s", chunk_head)
            if chunk_length > size - at - 8:
                problem = f"a GLB chunk at byte {at} claims {chunk_length} bytes, past the end of the file"
                raise FormatError(path, problem)
            chunks.append((kind, at + 8, chunk_length))
            at += 8 + chunk_length
            handle.seek(at)
        if not chunks or chunks[0][0] != b"JSON":
            raise FormatError(path, "the GLB does not start with its JSON chunk")
        handle.seek(chunks[0][1])
        text = handle.read(chunks[0][2])
        if len(chunks) > 1 and chunks[1][0] != b"BIN\x00":  # trimesh reads the chunks after JSON as buffers
            raise FormatError(path, "the GLB's second chunk is not its binary (BIN) chunk")
        binary = None
        if len(chunks) > 1:
            handle.seek(chunks[1][1])
            binary = handle.read(chunks[1][2])
    _check_document(path, _parse(path, text), binary, size)


def check_gltf(path: str | os.PathLike) -> None:
    """Check a ``.gltf`` file and the sizes of the buffer files it names (see the module docstring)."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        text = handle.read()
    _check_document(path, _parse(path, text), None, size)


def _parse(path: str | os.PathLike, text: bytes) -> dict:
    """The glTF JSON document in ``text``."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise FormatError(path, "the glTF JSON is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(path, f"the glTF JSON is not readable ({exc})") from None
    if not isinstance(document, dict):
        raise FormatError(path, "the glTF JSON is not an object")
    return document


def _objects(path: str | os.PathLike, document: dict, key: str) -> list[dict]:
    """``document[key]``: a list of objects (empty when absent)."""
    items = document.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FormatError(path, f"the glTF's {key} is not a list of objects")
    return items


def _integer(path: str | os.PathLike, where: str, value: Any, low: int = 0, high: int | None = None) -> int:
    """``value`` checked to be an integer in ``low..high`` (``high`` included)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f"at least {low}"
        raise FormatError(path, f"{where} must be a whole number {span}, not {json.dumps(value)[:40]}")
    return value


def _index(path: str | os.PathLike, where: str, value: Any, items: list) -> int:
    """``value`` checked to be an index into ``items``."""
    if not items:
        raise FormatError(path, f"{where} refers to {json.dumps(value)[:40]} but there are none")
    return _integer(path, where, value, 0, len(items) - 1)


def _buffer_data(path: str | os.PathLike, index: int, buffer: dict, glb_binary: bytes | None) -> bytes:
    """What buffer ``index`` really holds: the GLB's BIN chunk, a base64 data URI, or a file beside
    (a regular file inside the folder, as trimesh reads it)."""
    uri = buffer.get("uri")
    if uri is None:
        if index == 0 and glb_binary is not None:
            return glb_binary
        raise FormatError(path, f"buffer {index} has no data (no uri and no binary chunk)")
    return _uri_data(path, f"buffer {index}", uri)


def _uri_data(path: str | os.PathLike, where: str, uri: Any) -> bytes:
    """The bytes a glTF uri names: base64 data (as trimesh reads it: after "base64,") or a file beside."""
    if not isinstance(uri, str):
        raise FormatError(path, f"{where}'s uri is not text")
    at = uri.find("base64,")
    if at >= 0:
        try:
            return base64.b64decode(uri[at + 7 :])
        except (binascii.Error, ValueError):
            raise FormatError(path, f"{where}'s data URI is not base64") from None
    folder = Path(path).parent
    target = folder / unquote(uri)
    try:
        found = target.is_file() and target.resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError, RuntimeError):  # a name too long, a NUL, a symlink loop
        found = False
    if not found:
        raise FormatError(path, f"{where} names {uri[:80]!r}, which is not a file beside it")
    return target.read_bytes()


def _check_document(path: str | os.PathLike, document: dict, glb_binary: bytes | None, size: int) -> None:
    buffers = _objects(path, document, "buffers")
    views = _objects(path, document, "bufferViews")
    accessors = _objects(path, document, "accessors")
    meshes = _objects(path, document, "meshes")
    nodes = _objects(path, document, "nodes")
    held = []
    for i, buffer in enumerate(buffers):
        claimed = _integer(path, f"buffer {i}'s byteLength", buffer.get("byteLength"))
        data = _buffer_data(path, i, buffer, glb_binary)
        if claimed > len(data):
            raise FormatError(path, f"buffer {i} claims {claimed} bytes but holds {len(data)}")
        if buffer.get("uri") is not None:
            size += len(data)  # a file beside, or decoded text: what the scene may unfold from
        held.append(data)
    view_bytes = []
    for v, view in enumerate(views):
        b = _index(path, f"buffer view {v}'s buffer", view.get("buffer"), buffers)
        start = _integer(path, f"buffer view {v}'s byteOffset", view.get("byteOffset", 0))
        length = _integer(path, f"buffer view {v}'s byteLength", view.get("byteLength"))
        if "byteStride" in view:
            _integer(path, f"buffer view {v}'s byteStride", view["byteStride"], 1, 252)
        if start + length > len(held[b]):
            problem = f"buffer view {v} reaches byte {start + length} of buffer {b}, which holds {len(held[b])}"
            raise FormatError(path, problem)
        view_bytes.append(length)
    counts = []
    for a, accessor in enumerate(accessors):
        component = accessor.get("componentType")
        kind = accessor.get("type")
        if component not in COMPONENT_BYTES or isinstance(component, bool) or kind not in TYPE_COMPONENTS:
            found = f"{component!r}, {kind!r}"[:60]
            raise FormatError(path, f"accessor {a} has an unknown componentType or type ({found})")
        count = _integer(path, f"accessor {a}'s count", accessor.get("count"))
        element = COMPONENT_BYTES[component] * TYPE_COMPONENTS[kind]
        if "bufferView" in accessor:
            v = _index(path, f"accessor {a}'s bufferView", accessor["bufferView"], views)
            start = _integer(path, f"accessor {a}'s byteOffset", accessor.get("byteOffset", 0))
            stride = views[v].get("byteStride", element)
            if stride < element:  # rows overlapping: the copy would outgrow the bytes
                raise FormatError(path, f"accessor {a}'s {element}-byte elements overlap (its stride is {stride})")
            needed = start + (count - 1) * stride + element if count else 0
            if needed > view_bytes[v]:
                problem = f"accessor {a} needs {needed} bytes but its buffer view {v} holds {view_bytes[v]}"
                raise FormatError(path, problem)
        elif count * element > size:  # no data: zeros (a sparse accessor's base), sized by count alone
            problem = f"accessor {a} has no data but claims {count} elements, more than the file's {size} bytes"
            raise FormatError(path, problem)
        counts.append(count)
    for i, image in enumerate(_objects(path, document, "images")):
        if "bufferView" in image:
            v = _index(path, f"image {i}'s bufferView", image["bufferView"], views)
            view = views[v]
            start = view.get("byteOffset", 0)
            data = held[view["buffer"]][start : start + view["byteLength"]]
        else:
            try:
                data = _uri_data(path, f"image {i}", image.get("uri"))
            except FormatError:  # a missing texture: trimesh reads the mesh without it
                continue
        refuse_image_bomb(data, f"{path} (image {i})")
    _check_instancing(path, meshes, nodes, accessors, counts, size)


def _check_instancing(
    path: str | os.PathLike, meshes: list[dict], nodes: list[dict], accessors: list[dict], counts: list[int], size: int
) -> None:
    """Refuse a scene whose nodes repeat its meshes into more vertices and indices than
    ``MAX_ELEMENTS_PER_BYTE`` per byte of input (an upper bound: every node referring to a mesh)."""
    per_mesh = []
    for m, mesh in enumerate(meshes):
        primitives = mesh.get("primitives")
        if not isinstance(primitives, list) or not all(isinstance(p, dict) for p in primitives):
            raise FormatError(path, f"mesh {m}'s primitives are not a list of objects")
        total = 0
        for p, primitive in enumerate(primitives):
            attributes = primitive.get("attributes", {})
            if not isinstance(attributes, dict):
                raise FormatError(path, f"mesh {m} primitive {p}'s attributes are not an object")
            for key in ("POSITION", "indices"):
                value = attributes.get(key) if key == "POSITION" else primitive.get(key)
                if value is not None:
                    total += counts[_index(path, f"mesh {m} primitive {p}'s {key}", value, accessors)]
        per_mesh.append(total)
    instanced = 0
    for n, node in enumerate(nodes):
        if "mesh" in node:
            instanced += per_mesh[_index(path, f"node {n}'s mesh", node["mesh"], meshes)]
    limit = max(ELEMENT_FLOOR, MAX_ELEMENTS_PER_BYTE * size)
    if instanced > limit:
        raise FormatError(
            path, f"the scene repeats its meshes into {instanced} vertices and indices, more than a {size}-byte "
            f"file may unfold into ({limit})"
        )
