"""The ``.a4d`` project file: one zip holding a JSON manifest and each layer's payload.

Each payload is stored by its kind (:mod:`scene.kinds`): in the standard format the kind names
(3DGS PLY for splats, GLB for meshes, PLY for point clouds), so a project can be unpacked and its
layers opened by any other tool, or else as an ``.npz`` of the kind's named arrays. No pickle anywhere.
The manifest carries a schema version (2 adds the document's time and ``.npz`` payloads; version 1
files, written before, read the same way) and refuses files from a newer Atelier4D. A generated
layer's entry may also hold its ``provenance`` (engine, settings, models: see
:class:`scene.document.Provenance`); files without it open as before, and readers that do not know
it ignore it, so it needs no new version. The document's camera paths are in the manifest's ``paths``
(each its id, name and the path as :meth:`scene.camera_path.CameraPath.to_json` writes it); files
without them open with none, the same way. The timeline's playback settings (frame rate, in/out
range, loop, speed: :class:`scene.playback.Playback`) are the manifest's ``playback``, likewise
optional: files without it open with the defaults, and settings a newer file adds are left out.
Saving is atomic (the previous file is never damaged by a failed save). Opening reads only the
members the manifest names, refuses names that would escape the archive, and refuses absurd sizes
before reading them (a zip bomb or a corrupt header must not exhaust memory or disk): a member is
inflated only after its own header (PLY header, GLB header, each ``.npy`` header of an ``.npz``) has
been checked against the size the zip claims for it, and an ``.npz`` is copied out no further than its
arrays' headers say it reaches, whatever the zip claims for it. Layers that name the same member share
one decoded payload (payloads are immutable), and every malformed manifest is a FormatError saying what.
"""

from __future__ import annotations

import io
import json
import lzma
import math
import os
import struct
import tempfile
import tokenize
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from scene.camera import Camera
from scene.camera_path import CameraPath
from scene.document import Document, Layer, LayerDisplay, NamedPath, Provenance
from scene.io.atomic import CannotWrite, atomic_output
from scene.io.errors import FormatError
from scene.io.formats import load, save
from scene.io.leftovers import part_prefix
from scene.io.ply_container import header_from_bytes, largest_size
from scene.kinds import PayloadKind, kind_named, kind_of, payload_kinds
from scene.playback import Playback
from scene.transform import Transform

PROJECT_SUFFIX = ".a4d"
FORMAT_NAME = "atelier4d-project"
SCHEMA_VERSION = 2
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_MEMBER_BYTES = 16 * 2**30
MAX_COMPRESSION_RATIO = 200  # deflate rarely exceeds ~10x on scene data; bombs reach 1000x+
MAX_MANIFEST_DEPTH = 64  # nesting of the manifest's JSON; ours is under 10 deep
HEAD_BYTES = 1 << 20  # what of a payload is inflated before its own header is checked
ARRAYS_SUFFIX = ".npz"  # payloads of kinds without a standard format: np.savez of their arrays
_ENCRYPTED = 0x1  # the zip flag bit of an encrypted member


def save_project(document: Document, path: str | os.PathLike) -> None:
    """Write ``document`` to ``path`` (``.a4d``) atomically; marks the undo stack clean.

    Each payload is written to a scratch folder beside the project (the project's own disk, not a
    system temp folder that may be small; a killed save's is swept as any temp file), then stored in
    the archive. A failure is said of the project: "scene.a4d: the disk is full"."""
    path = Path(path)
    layers = []
    with atomic_output(path) as tmp, tempfile.TemporaryDirectory(prefix=part_prefix(path), suffix=".part", dir=tmp.parent) as scratch:
        with zipfile.ZipFile(tmp, "w") as archive:
            for index, layer in enumerate(document.layers):
                kind = layer.payload_kind
                suffix = kind.project_suffix or ARRAYS_SUFFIX
                member = f"layers/{index:04d}{suffix}"
                payload = Path(scratch) / f"{index:04d}{suffix}"
                try:
                    if kind.project_suffix:
                        save(payload, layer.data)
                    else:
                        np.savez(payload, **kind.to_arrays(layer.data))
                except CannotWrite as exc:  # said of the scratch file: the project's own problem
                    raise OSError(exc.errno, exc.problem) from None
                # Payload formats are float arrays that deflate poorly; storing keeps saves fast.
                archive.write(payload, member, compress_type=zipfile.ZIP_STORED)
                payload.unlink()
                layers.append(
                    {
                        "id": layer.id,
                        "name": layer.name,
                        "kind": layer.kind,
                        "visible": layer.visible,
                        "transform": layer.transform.to_dict(),
                        "display": {
                            "splat_scale": layer.display.splat_scale,
                            "opacity_scale": layer.display.opacity_scale,
                        },
                        "payload": member,
                        **({} if layer.provenance is None else {"provenance": layer.provenance.to_dict()}),
                    }
                )
            manifest = {
                "format": FORMAT_NAME,
                "schema_version": SCHEMA_VERSION,
                "layers": layers,
                "current": document.current_id,
                "time": document.time,
                "playback": document.playback.to_dict(),
                "view": None if document.view is None else document.view.to_dict(),
                "paths": [
                    {"id": named.id, "name": named.name, "path": json.loads(named.path.to_json())}
                    for named in document.paths
                ],
            }
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1), compress_type=zipfile.ZIP_DEFLATED)
    document.undo_stack.mark_clean()


def load_project(path: str | os.PathLike) -> Document:
    """Read a ``.a4d`` file into a new Document (with a clean undo stack)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _read_manifest(path, archive)
            document = Document()
            payloads: dict[str, Any] = {}  # member name -> its payload, decoded once for every layer naming it
            with tempfile.TemporaryDirectory(prefix="a4d-open-") as scratch:
                for entry in manifest["layers"]:
                    data = _read_payload(path, archive, entry, Path(scratch), payloads)
                    layer = _layer_from_entry(path, entry, data)
                    if any(known.id == layer.id for known in document.layers):
                        raise FormatError(path, f"two layers have the id {layer.id!r}")
                    document.add_layer(layer)
            for named in _read_paths(path, manifest):
                document.add_path(named)
    except zipfile.BadZipFile as exc:
        raise FormatError(path, f"not an Atelier4D project or a damaged one ({_one_line(exc)})") from None
    except (OSError, EOFError, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, NotImplementedError) as exc:
        raise FormatError(path, f"cannot read the project ({_one_line(exc)})") from None  # NotImplemented: compression
    document.set_time(_read_time(path, manifest))
    document.set_playback(_read_playback(path, manifest))
    current = manifest.get("current")
    document.set_current(current if any(layer.id == current for layer in document.layers) else None)
    if manifest.get("view") is not None:
        try:
            document.view = Camera.from_dict(manifest["view"])
        except (TypeError, ValueError) as exc:
            raise FormatError(path, f"the saved view camera is invalid ({_one_line(exc)})") from None
    document.undo_stack.clear()
    return document


def _read_manifest(path: Path, archive: zipfile.ZipFile) -> dict:
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise FormatError(path, f"not an Atelier4D project ({MANIFEST} is missing)") from None
    if info.flag_bits & _ENCRYPTED:
        raise FormatError(path, "the manifest is encrypted; projects never are")
    if info.file_size > MAX_MANIFEST_BYTES:
        raise FormatError(path, f"the manifest is {info.file_size} bytes, more than a project's can be")
    try:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, f"the manifest is not valid JSON ({_one_line(exc)})") from None
    except RecursionError:
        raise FormatError(path, f"the manifest is nested more than {MAX_MANIFEST_DEPTH} levels deep") from None
    if _depth(manifest) > MAX_MANIFEST_DEPTH:
        raise FormatError(path, f"the manifest is nested more than {MAX_MANIFEST_DEPTH} levels deep")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise FormatError(path, "not an Atelier4D project (wrong manifest format)")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise FormatError(path, f"invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise FormatError(
            path, f"written by a newer Atelier4D (schema {version}; this version reads up to {SCHEMA_VERSION})"
        )
    if not isinstance(manifest.get("layers"), list):
        raise FormatError(path, "the manifest has no layer list")
    return manifest


def _one_line(problem: object) -> str:
    """``problem`` as text on one line: a manifest's strings can hold line breaks and other controls,
    which an error message repeats (``\\n`` stands for a line break)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(problem))


def _depth(value: object) -> int:
    """How deeply lists and objects nest in a JSON value (counted without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            if level <= MAX_MANIFEST_DEPTH:
                stack.extend((child, level + 1) for child in children)
    return deepest


def _safe_member_name(path: Path, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise FormatError(path, f"a layer names an invalid payload {name!r}")
    pure = PurePosixPath(name)
    if name.startswith(("/", "\\")) or "\\" in name or ".." in pure.parts or ":" in pure.parts[0]:
        raise FormatError(path, f"the payload name {name!r} escapes the archive; refusing to open it")
    return name


def _read_time(path: Path, manifest: dict) -> float:
    time = manifest.get("time", 0.0)  # version 1 files have no time
    if isinstance(time, bool) or not isinstance(time, (int, float)) or not math.isfinite(time):
        raise FormatError(path, f"the saved time {time!r} is not a finite number of seconds")
    return float(time)


def _read_playback(path: Path, manifest: dict) -> Playback:
    """The saved playback settings (the defaults in files written before they were saved)."""
    try:
        return Playback.from_dict(manifest.get("playback", {}))
    except (TypeError, ValueError) as exc:
        raise FormatError(path, f"the saved playback settings are invalid ({_one_line(exc)})") from None


def _read_paths(path: Path, manifest: dict) -> list[NamedPath]:
    """The manifest's camera paths (none in files written before paths were saved)."""
    entries = manifest.get("paths", [])
    if not isinstance(entries, list):
        raise FormatError(path, "the manifest's camera paths are not a list")
    paths = []
    for index, entry in enumerate(entries):
        try:
            identity = {"id": str(entry["id"])} if entry.get("id") else {}
            camera_path = CameraPath.from_json(json.dumps(entry["path"]))
            paths.append(NamedPath(str(entry.get("name") or f"Path {index + 1}"), camera_path, **identity))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise FormatError(path, f"camera path {index + 1} is invalid ({_one_line(exc)})") from None
    return paths


def _check_member_size(path: Path, name: str, info: zipfile.ZipInfo) -> None:
    """Refuse a member whose declared sizes are absurd or look like a zip bomb, before reading it."""
    if info.flag_bits & _ENCRYPTED:
        raise FormatError(path, f"the payload {name} is encrypted; projects never are")
    if info.file_size > MAX_MEMBER_BYTES:
        raise FormatError(path, f"the payload {name} claims {info.file_size} bytes; refusing absurd sizes")
    if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO and info.file_size > 2**26:
        raise FormatError(path, f"the payload {name} is suspiciously compressed (a zip bomb?); refusing it")


def _entry_kind(path: Path, entry: dict) -> PayloadKind:
    try:
        return kind_named(entry.get("kind"))
    except KeyError as exc:
        raise FormatError(
            path, f"layer {entry.get('name')!r}: {exc.args[0]} (written by a newer Atelier4D or with a plug-in?)"
        ) from None


def _read_payload(path: Path, archive: zipfile.ZipFile, entry: dict, scratch: Path, payloads: dict[str, Any]) -> Any:
    """The payload ``entry`` names, from ``payloads`` when an earlier layer named the same member."""
    if not isinstance(entry, dict):
        raise FormatError(path, "a layer entry in the manifest is not an object")
    name = _safe_member_name(path, entry.get("payload"))
    kind = _entry_kind(path, entry)
    if name not in payloads:
        payloads[name] = _decode_member(path, archive, name, kind, entry.get("name"), scratch)
    actual = kind_of(payloads[name])
    if actual is not kind:
        raise FormatError(
            path, f"layer {entry.get('name')!r} says it is {kind.name!r} but its payload holds {actual.name}"
        )
    return payloads[name]


def _decode_member(
    path: Path, archive: zipfile.ZipFile, name: str, kind: PayloadKind, layer_name: object, scratch: Path
) -> Any:
    """Member ``name`` decoded: its size checked, extracted under its header's cap, read by its format."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise FormatError(path, f"the payload {name} named by the manifest is missing") from None
    _check_member_size(path, name, info)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in {ARRAYS_SUFFIX} | {k.project_suffix for k in payload_kinds() if k.project_suffix}:
        raise FormatError(path, f"the payload {name} has an unsupported type {suffix!r}")
    target = scratch / f"payload{suffix}"
    try:
        _extract(path, archive, info, target, kind)
        return _read_arrays(path, name, kind, target) if suffix == ARRAYS_SUFFIX else load(target)
    except FormatError as exc:
        if exc.path == str(path):  # about the project's own structure: already said in its terms
            raise
        raise FormatError(path, f"layer {layer_name!r} ({name}): {_one_line(exc.problem)}") from None  # not the scratch name
    finally:
        target.unlink(missing_ok=True)


def _extract(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, kind: PayloadKind) -> None:
    """Copy member ``info`` to ``target``, inflating past its first :data:`HEAD_BYTES` only when its
    own header agrees with the size the zip claims for it (zipfile stops at that size: a member
    cannot inflate further than it claims; a stored member cannot claim more than it holds). An
    ``.npz`` is copied array by array, each no further than its ``.npy`` header says (:func:`_copy_arrays`)."""
    name = info.filename
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise FormatError(path, f"the payload {name} claims {info.file_size} bytes but holds {info.compress_size}")
    suffix = PurePosixPath(name).suffix.lower()
    with archive.open(info) as source, open(target, "wb") as sink:
        if suffix == ARRAYS_SUFFIX:
            _copy_arrays(path, name, target, kind, _Copying(source, sink))
            return
        head = source.read(min(info.file_size, HEAD_BYTES))
        most, what = _largest_payload(target, suffix, head)
        if info.file_size > most:
            raise FormatError(
                path, f"the payload {name} claims {info.file_size} bytes but its {what} header describes "
                f"at most {most} (damaged, or a zip bomb); refusing it"
            )
        sink.write(head)
        while chunk := source.read(HEAD_BYTES):
            sink.write(chunk)


def _largest_payload(target: Path, suffix: str, head: bytes) -> tuple[int, str]:
    """The most bytes a payload (not an ``.npz``) starting with ``head`` can take, by its own header, and
    the format's name."""
    if suffix == ".ply":
        return largest_size(header_from_bytes(target, head)), "PLY"
    if suffix == ".glb":
        if len(head) < 12 or head[:4] != b"glTF":
            raise FormatError(target, "not a binary glTF (no 'glTF' header)")
        return struct.unpack_from("<I", head, 8)[0], "GLB"
    return MAX_MEMBER_BYTES, suffix  # a plug-in kind's format: its reader checks its own header


_LOCAL_HEADER = b"PK\x03\x04"
_LOCAL_FIELDS = struct.Struct("<2xHH8xIIHH")  # after the signature: flags, method, sizes, name and extra lengths
_ZIP64_SIZES = 0x0001  # the extra field holding a member's sizes when they pass 4 GB (np.savez always writes it)
_SIZES_AFTER_DATA = 0x8  # the flag of a member whose sizes follow its data (a streamed zip)


def _copy_arrays(path: Path, payload: str, target: Path, kind: PayloadKind, copying: "_Copying") -> None:
    """Copy the ``.npz`` payload member ``payload`` of project ``path`` to ``target`` (through ``copying``),
    walking its members as they come: each member's sizes pass :func:`_check_member_size`, its ``.npy``
    header is read first (a few KB inflated), and it is copied only when it holds exactly the bytes its
    array needs (packed in no more than deflate could make of them); after the last member, at most
    :data:`HEAD_BYTES` of directory. So whatever the project's zip claims for the payload, no more is
    written out than its arrays need."""
    try:
        _walk_arrays(path, payload, target, kind, copying)
    except (EOFError, zlib.error) as exc:
        raise FormatError(target, f"not an .npz archive ({_one_line(exc)})") from None


def _walk_arrays(path: Path, payload: str, target: Path, kind: PayloadKind, copying: "_Copying") -> None:
    """:func:`_copy_arrays`' walk: local headers and their members, then the directory."""
    while (signature := copying.take(4)) == _LOCAL_HEADER:
        flags, method, packed, size, name_length, extra_length = _LOCAL_FIELDS.unpack(copying.take(_LOCAL_FIELDS.size))
        name = copying.take(name_length).decode("utf-8", "replace")
        packed, size = _zip64_sizes(copying.take(extra_length), packed, size)
        if flags & _SIZES_AFTER_DATA or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FormatError(target, f"the array {name} is stored in a way np.savez never writes")
        sizes = zipfile.ZipInfo(name)
        sizes.flag_bits, sizes.compress_size, sizes.file_size = flags, packed, size
        _check_member_size(path, f"{payload}:{name}", sizes)
        if packed > size + (size >> 10) + 64:  # more than deflate ever makes of ``size`` bytes
            raise FormatError(target, f"the array {name} takes {packed} bytes packed for {size} bytes of data")
        member = _Member(copying, method, packed)
        extent = _array_extent(target, name, member)
        if extent is None:
            raise FormatError(target, f"not a valid {kind.label} payload (the array {name} holds Python objects)")
        if size != extent:
            raise FormatError(target, f"the array {name}'s header does not match its {size} bytes")
        copying.copy(packed - member.packed_read)
    if signature not in (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06"):
        raise FormatError(target, "not an .npz archive (no zip header)")
    copying.copy(HEAD_BYTES, to_end=True)
    if not copying.ended():
        raise FormatError(target, "the archive holds more than its arrays and their directory; refusing it")


def _zip64_sizes(extra: bytes, packed: int, size: int) -> tuple[int, int]:
    """A local header's sizes, the zip64 extra field's where the header has none (0xFFFFFFFF)."""
    at = 0
    while at + 4 <= len(extra):
        key, length = struct.unpack_from("<HH", extra, at)
        if key == _ZIP64_SIZES:
            values = iter(struct.unpack_from(f"<{min(length, 16, len(extra) - at - 4) // 8}Q", extra, at + 4))
            size = next(values, size) if size == 0xFFFFFFFF else size
            packed = next(values, packed) if packed == 0xFFFFFFFF else packed
        at += 4 + length
    return packed, size


class _Copying:
    """Reads of a stream that are written to ``sink`` as they are read; ``take`` is exact or raises."""

    def __init__(self, source: io.BufferedIOBase, sink: io.BufferedIOBase) -> None:
        self.source, self.sink = source, sink

    def take(self, count: int) -> bytes:
        data = self.source.read(count)
        if len(data) != count:
            raise EOFError("it ends inside a member")
        self.sink.write(data)
        return data

    def ended(self) -> bool:
        """Whether the stream has nothing more (what is left is not copied)."""
        return not self.source.read(1)

    def copy(self, count: int, to_end: bool = False) -> None:
        """Copy ``count`` bytes (or fewer, with ``to_end``, when the stream ends first)."""
        while count > 0:
            chunk = self.source.read(min(count, HEAD_BYTES))
            if not chunk:
                if to_end:
                    return
                raise EOFError("it ends inside a member")
            self.sink.write(chunk)
            count -= len(chunk)


class _Member:
    """The data of one ``.npz`` member read from its start, inflated when deflated (for its ``.npy``
    header); ``packed_read`` is how many of its ``packed`` bytes were copied so far."""

    def __init__(self, copying: _Copying, method: int, packed: int) -> None:
        self.copying, self.packed, self.packed_read = copying, packed, 0
        self.inflate = zlib.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
        self.position = 0

    def read(self, count: int) -> bytes:
        out = b""
        while len(out) < count and (self.packed_read < self.packed or (self.inflate and self.inflate.unconsumed_tail)):
            if self.inflate is None:
                data = self._packed(count - len(out))
            else:
                tail = self.inflate.unconsumed_tail or self._packed(4096)
                data = self.inflate.decompress(tail, count - len(out))
            out += data
        self.position += len(out)
        return out

    def tell(self) -> int:
        return self.position

    def _packed(self, count: int) -> bytes:
        data = self.copying.take(min(count, self.packed - self.packed_read))
        self.packed_read += len(data)
        return data


def _read_arrays(path: Path, name: str, kind: PayloadKind, target: Path) -> Any:
    """An ``.npz`` payload (itself a zip: its members pass the same size checks, and each ``.npy``
    header must describe exactly the bytes its member holds) as ``kind``'s payload."""
    try:
        with zipfile.ZipFile(target) as arrays_zip:
            for info in arrays_zip.infolist():
                _check_member_size(path, f"{name}:{info.filename}", info)
                _check_array_header(target, info.filename, arrays_zip, info)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise FormatError(target, f"not an .npz archive ({_one_line(exc)})") from None
    try:
        with np.load(target, allow_pickle=False) as arrays:
            named = {key: arrays[key] for key in arrays.files}
        return kind.from_arrays(named)
    except (OSError, EOFError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise FormatError(target, f"not a valid {kind.label} payload ({_one_line(exc)})") from None


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _array_extent(target: Path, name: str, member: Any) -> int | None:
    """The bytes an ``.npy`` member needs by its own header (read from ``member``, at its start):
    the header and the array; None for an object array, whose size no header says."""
    try:
        read_header = _NPY_HEADERS.get(np.lib.format.read_magic(member))
        if read_header is None:
            raise ValueError("an unknown .npy version")
        shape, _, dtype = read_header(member)
    except (ValueError, SyntaxError, tokenize.TokenError) as exc:  # numpy parses the header as Python
        raise FormatError(target, f"the array {name} has an invalid header ({_one_line(exc)})") from None
    return None if dtype.hasobject else member.tell() + math.prod(shape) * dtype.itemsize


def _check_array_header(target: Path, name: str, arrays_zip: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse an ``.npy`` member whose header's shape and type do not fill exactly its declared size
    (an object array is left to ``np.load``, which refuses it without reading it)."""
    with arrays_zip.open(info) as member:
        extent = _array_extent(target, name, member)
    if extent is not None and info.file_size != extent:
        raise FormatError(target, f"the array {name}'s header does not match its {info.file_size} bytes")


def _layer_from_entry(path: Path, entry: dict, data: Any) -> Layer:
    try:
        display = entry.get("display") or {}
        identity = {"id": str(entry["id"])} if entry.get("id") else {}
        provenance = entry.get("provenance")
        return Layer(
            name=str(entry.get("name") or "Layer"),
            data=data,
            visible=bool(entry.get("visible", True)),
            transform=Transform.from_dict(entry["transform"]) if "transform" in entry else Transform(),
            display=LayerDisplay(
                float(display.get("splat_scale", 1.0)), float(display.get("opacity_scale", 1.0))
            ),
            provenance=None if provenance is None else Provenance.from_dict(provenance),
            **identity,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # AttributeError: display not a dict
        raise FormatError(path, f"layer {entry.get('name')!r} has invalid settings ({_one_line(exc)})") from None
