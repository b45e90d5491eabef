"""The PLY container: header parsing, element and property layout, ascii and binary data.

Our own reader: a header parser plus numpy structured dtypes, so a million-row element reads in
one ``np.frombuffer`` and no per-row Python runs. It accepts ascii and both binary encodings, any
scalar property type, list properties, extra properties and extra elements, and names the file
and the problem in a ``FormatError`` for anything it cannot read. The writer produces binary
little-endian files. What the elements mean (splats, meshes, points) is :mod:`scene.io.ply`'s business.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import NamedTuple, Union

import numpy as np

from scene.io.atomic import atomic_output
from scene.io.errors import FormatError

PathLike = Union[str, os.PathLike]

# PLY type names (both spellings) -> numpy type code without byte order.
_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_WRITE_NAMES = {"i1": "char", "u1": "uchar", "i2": "short", "u2": "ushort",
                "i4": "int", "u4": "uint", "f4": "float", "f8": "double"}  # fmt: skip
_STRUCT_CODES = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "f4": "f", "f8": "d"}
ENCODINGS = {"ascii": "", "binary_little_endian": "<", "binary_big_endian": ">"}
_MAX_HEADER = 1 << 20
ASCII_VALUE_BYTES = 64  # an ASCII value with its separator: more than any writer uses (repr takes <= 25)


# ------------------------------------------------------------------------------ header
@dataclass(frozen=True)
class PlyProperty:
    """One property: a scalar of ``dtype``, or a list of ``dtype`` preceded by a ``count_dtype``."""

    name: str
    dtype: str  # numpy code without byte order, e.g. "f4"
    count_dtype: str | None = None  # set for list properties


@dataclass(frozen=True)
class PlyElement:
    name: str
    count: int
    properties: tuple[PlyProperty, ...]

    def property_names(self) -> list[str]:
        return [p.name for p in self.properties]

    @property
    def has_lists(self) -> bool:
        return any(p.count_dtype for p in self.properties)


@dataclass(frozen=True)
class PlyHeader:
    encoding: str  # "ascii", "binary_little_endian" or "binary_big_endian"
    elements: tuple[PlyElement, ...]
    data_offset: int  # bytes from the start of the file to the first element's data

    def element(self, name: str) -> PlyElement | None:
        return next((e for e in self.elements if e.name == name), None)


def _scalar_type(path: PathLike, name: str) -> str:
    if name not in _TYPES:
        raise FormatError(path, f"unknown PLY property type {name!r}")
    return _TYPES[name]


def _finished(path: PathLike, element: PlyElement, props: list[PlyProperty]) -> PlyElement:
    if element.count and not props:
        raise FormatError(path, f"element {element.name!r} has {element.count} rows but no properties")
    return PlyElement(element.name, element.count, tuple(props))


def _parse_header(path: PathLike, lines: list[str], data_offset: int) -> PlyHeader:
    encoding = None
    elements: list[PlyElement] = []
    props: list[PlyProperty] = []
    for number, line in enumerate(lines[1:], start=2):
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        keyword = words[0]
        if keyword == "format" and len(words) == 3 and encoding is None:
            if words[1] not in ENCODINGS or words[2] != "1.0":
                raise FormatError(path, f"unsupported PLY format {' '.join(words[1:])!r}")
            encoding = words[1]
        elif keyword == "element" and len(words) == 3 and words[2].isdigit():
            if any(e.name == words[1] for e in elements):
                raise FormatError(path, f"element {words[1]!r} is declared twice")
            if elements:
                elements[-1] = _finished(path, elements[-1], props)
            elements.append(PlyElement(words[1], int(words[2]), ()))
            props = []
        elif keyword == "property" and elements and len(words) in (3, 5):
            if len(words) == 5 and words[1] == "list":
                count_type = _scalar_type(path, words[2])
                if count_type[0] == "f":
                    raise FormatError(path, f"list property {words[4]!r} has a non-integer count type")
                prop = PlyProperty(words[4], _scalar_type(path, words[3]), count_type)
            elif len(words) == 3:
                prop = PlyProperty(words[2], _scalar_type(path, words[1]))
            else:
                raise FormatError(path, f"header line {number} is not a valid property: {line!r}")
            if any(p.name == prop.name for p in props):
                raise FormatError(path, f"property {prop.name!r} of element {elements[-1].name!r} is declared twice")
            props.append(prop)
        else:
            raise FormatError(path, f"header line {number} is not valid PLY: {line[:80]!r}")
    if encoding is None:
        raise FormatError(path, "the PLY header has no 'format' line")
    if elements:
        elements[-1] = _finished(path, elements[-1], props)
    return PlyHeader(encoding, tuple(elements), data_offset)


def _split_header(path: PathLike, data: bytes) -> tuple[list[str], int] | None:
    """The header lines and the data offset, or None when ``end_header`` is not in ``data``."""
    offset = 0
    lines = []
    while True:
        end = data.find(b"\n", offset)
        if end < 0:
            return None
        raw = data[offset:end].rstrip(b"\r")
        offset = end + 1
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(path, "not a PLY file (the header is not ASCII text)") from None
        if not lines and line.strip() != "ply":
            raise FormatError(path, "not a PLY file (it does not start with 'ply')")
        if line.strip() == "end_header":
            return lines, offset
        lines.append(line)


def read_header(path: PathLike) -> PlyHeader:
    """Parse only the header of a PLY file (cheap: reads the first kilobytes)."""
    try:
        with open(path, "rb") as handle:
            data = b""
            while len(data) < _MAX_HEADER:
                chunk = handle.read(65536)
                data += chunk
                found = _split_header(path, data)
                if found is not None:
                    return _parse_header(path, *found)
                if not chunk:
                    break
    except OSError as exc:
        raise FormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    return header_from_bytes(path, data)


def header_from_bytes(path: PathLike, data: bytes) -> PlyHeader:
    """Parse the header at the start of ``data`` (a file's first bytes; ``path`` names it in errors)."""
    found = _split_header(path, data[:_MAX_HEADER])
    if found is not None:
        return _parse_header(path, *found)
    if not data.startswith(b"ply"):
        raise FormatError(path, "not a PLY file (it does not start with 'ply')")
    raise FormatError(path, "the PLY header is truncated (no 'end_header' line)")


def largest_size(header: PlyHeader) -> int:
    """The most bytes a file with ``header`` can take: exact for binary rows without lists; lists count
    as long as their count type allows, and an ASCII value as :data:`ASCII_VALUE_BYTES` bytes.

    What a project checks a payload's size against before inflating it (a zip bomb stops there).
    """
    total = header.data_offset
    for element in header.elements:
        if header.encoding == "ascii":
            row = sum(ASCII_VALUE_BYTES * (1 + _most_items(p.count_dtype) if p.count_dtype else 1)
                      for p in element.properties)  # fmt: skip
        else:
            row = sum(
                np.dtype(p.count_dtype).itemsize + _most_items(p.count_dtype) * np.dtype(p.dtype).itemsize
                if p.count_dtype
                else np.dtype(p.dtype).itemsize
                for p in element.properties
            )
        total += element.count * row
    return total


def _most_items(count_dtype: str) -> int:
    """The longest list a count of type ``count_dtype`` can announce."""
    return int(np.iinfo(count_dtype).max)


# ------------------------------------------------------------------------------ element data
class Ragged(NamedTuple):
    """A list property: ``counts [rows]`` and all rows' items concatenated in ``values``."""

    counts: np.ndarray
    values: np.ndarray


# An element's data: a structured array of its rows, or (when it has list properties) columns.
Columns = dict[str, Union[np.ndarray, Ragged]]
ElementData = Union[np.ndarray, Columns]


def fixed_dtype(element: PlyElement, order: str, list_lengths: dict[str, int]) -> np.dtype:
    fields: list[tuple] = []
    for p in element.properties:
        if p.count_dtype:
            fields.append((f"{p.name}\0count", order + p.count_dtype))
            fields.append((p.name, order + p.dtype, (list_lengths[p.name],)))
        else:
            fields.append((p.name, order + p.dtype))
    return np.dtype(fields)


def _binary_rows_one_by_one(
    path: PathLike, element: PlyElement, order: str, data: memoryview, offset: int
) -> tuple[Columns, int]:
    """Read an element with lists of varying length, row by row (rare: polygon meshes)."""
    scalars = {p.name: [] for p in element.properties if not p.count_dtype}
    counts = {p.name: [] for p in element.properties if p.count_dtype}
    values = {p.name: [] for p in element.properties if p.count_dtype}
    readers = []
    for p in element.properties:
        if p.count_dtype:
            readers.append((p, struct.Struct(order + _STRUCT_CODES[p.count_dtype]), np.dtype(order + p.dtype)))
        else:
            readers.append((p, struct.Struct(order + _STRUCT_CODES[p.dtype]), None))
    try:
        for _ in range(element.count):
            for prop, reader, item in readers:
                (number,) = reader.unpack_from(data, offset)
                offset += reader.size
                if item is None:
                    scalars[prop.name].append(number)
                    continue
                size = number * item.itemsize
                if number < 0 or offset + size > len(data):
                    raise struct.error
                counts[prop.name].append(number)
                values[prop.name].append(np.frombuffer(data, item, number, offset))
                offset += size
    except struct.error:
        raise FormatError(path, f"the data of element {element.name!r} is truncated") from None
    columns: Columns = {}
    for p in element.properties:
        if p.count_dtype:
            flat = np.concatenate(values[p.name]) if values[p.name] else np.zeros(0, p.dtype)
            columns[p.name] = Ragged(np.asarray(counts[p.name], np.int64), flat)
        else:
            columns[p.name] = np.asarray(scalars[p.name], dtype=p.dtype)
    return columns, offset


def _first_row_list_lengths(element: PlyElement, order: str, data: memoryview, offset: int) -> dict[str, int] | None:
    """The lengths of the first row's lists (None if they run past the data).

    Rows whose lists all have these lengths have a fixed size and read as one structured array,
    as every row of a triangle mesh does.
    """
    lengths: dict[str, int] = {}
    cursor = offset
    for p in element.properties:
        if not p.count_dtype:
            cursor += np.dtype(p.dtype).itemsize
            continue
        if element.count == 0:
            lengths[p.name] = 0
            continue
        count_type = np.dtype(order + p.count_dtype)
        if cursor + count_type.itemsize > len(data):
            return None
        lengths[p.name] = int(np.frombuffer(data, count_type, 1, cursor)[0])
        cursor += count_type.itemsize + lengths[p.name] * np.dtype(p.dtype).itemsize
        if lengths[p.name] < 0:
            return None
    return lengths


def check_room(path: PathLike, element: PlyElement, min_row: int, remaining: int) -> None:
    """Fail clearly when ``element``'s rows of at least ``min_row`` bytes cannot fit in ``remaining``."""
    if element.count * min_row > remaining:
        raise FormatError(
            path,
            f"element {element.name!r} claims {element.count} rows, which need at least "
            f"{element.count * min_row} bytes, but only {remaining} remain (truncated or corrupt)",
        )


def _read_binary(
    path: PathLike, element: PlyElement, order: str, data: memoryview, offset: int
) -> tuple[ElementData, int]:
    """The data of one binary element and the offset after it."""
    remaining = len(data) - offset
    min_row = sum(np.dtype(p.count_dtype or p.dtype).itemsize for p in element.properties)
    check_room(path, element, min_row, remaining)
    lengths = _first_row_list_lengths(element, order, data, offset)
    dtype = fixed_dtype(element, order, lengths) if lengths is not None else None
    if dtype is not None and element.count * dtype.itemsize <= remaining:
        rows = np.frombuffer(data, dtype, element.count, offset)
        end = offset + element.count * dtype.itemsize
        if not element.has_lists:
            return rows, end
        lists = [p for p in element.properties if p.count_dtype]
        if all(np.all(rows[f"{p.name}\0count"] == lengths[p.name]) for p in lists):
            columns: Columns = {}
            for p in element.properties:
                if p.count_dtype:
                    counts = np.full(element.count, lengths[p.name], np.int64)
                    columns[p.name] = Ragged(counts, rows[p.name].reshape(-1))
                else:
                    columns[p.name] = rows[p.name]
            return columns, end
    return _binary_rows_one_by_one(path, element, order, data, offset)


def _check_integers(path: PathLike, element: PlyElement, name: str, dtype: str, values: np.ndarray) -> None:
    info = np.iinfo(dtype)
    if not (np.all(values == np.round(values)) and np.all(values >= info.min) and np.all(values <= info.max)):
        raise FormatError(path, f"element {element.name!r}, property {name!r}: values are not {dtype} integers")


def _read_ascii(path: PathLike, element: PlyElement, tokens: list[bytes], start: int) -> tuple[ElementData, int]:
    """The data of one ascii element (from whitespace-separated ``tokens``) and the next token."""
    width = len(element.properties)
    if element.count * width > len(tokens) - start:
        raise FormatError(
            path, f"element {element.name!r} claims {element.count} rows but the file has too few values"
        )

    def parse(words: np.ndarray, name: str, dtype: str) -> np.ndarray:
        try:
            values = words.astype(np.float64)
        except ValueError:
            raise FormatError(path, f"element {element.name!r}, property {name!r}: a value is not a number") from None
        if dtype[0] != "f":
            _check_integers(path, element, name, dtype, values)
        return values.astype(dtype)

    def numbers(first: int, count: int, name: str, dtype: str) -> np.ndarray:
        if first + count > len(tokens):
            raise FormatError(path, f"the data of element {element.name!r} is truncated")
        return parse(np.array(tokens[first : first + count], dtype="S"), name, dtype)

    if not element.has_lists:
        end = start + element.count * width
        words = np.array(tokens[start:end], dtype="S").reshape(element.count, width)
        rows = np.empty(element.count, fixed_dtype(element, "=", {}))
        for i, p in enumerate(element.properties):  # column by column, so an error names its property
            rows[p.name] = parse(words[:, i], p.name, p.dtype)
        return rows, end
    scalars: dict[str, list] = {p.name: [] for p in element.properties}
    cursor = start
    for _ in range(element.count):
        for p in element.properties:
            if p.count_dtype:
                n = int(numbers(cursor, 1, p.name, p.count_dtype)[0])
                scalars[p.name].append(numbers(cursor + 1, n, p.name, p.dtype))
                cursor += 1 + n
            else:
                scalars[p.name].append(numbers(cursor, 1, p.name, p.dtype)[0])
                cursor += 1
    columns: Columns = {}
    for p in element.properties:
        rows = scalars[p.name]
        if p.count_dtype:
            flat = np.concatenate(rows) if rows else np.zeros(0, p.dtype)
            columns[p.name] = Ragged(np.array([len(r) for r in rows], np.int64), flat)
        else:
            columns[p.name] = np.asarray(rows, dtype=p.dtype)
    return columns, cursor


def read_elements(path: PathLike, wanted: set[str]) -> tuple[PlyHeader, dict[str, ElementData]]:
    """The header and the data of the ``wanted`` elements that the file has.

    Elements before a wanted one are parsed (to skip them); those after the last one are not.
    """
    header = read_header(path)
    last = max((i for i, e in enumerate(header.elements) if e.name in wanted), default=-1)
    try:
        with open(path, "rb") as handle:
            handle.seek(header.data_offset)
            body = handle.read()
    except OSError as exc:
        raise FormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    result: dict[str, ElementData] = {}
    if header.encoding == "ascii":
        tokens = body.split()
        cursor = 0
        for element in header.elements[: last + 1]:
            result[element.name], cursor = _read_ascii(path, element, tokens, cursor)
    else:
        order = ENCODINGS[header.encoding]
        data = memoryview(body)
        offset = 0
        for element in header.elements[: last + 1]:
            result[element.name], offset = _read_binary(path, element, order, data, offset)
    return header, {name: cols for name, cols in result.items() if name in wanted}


# ------------------------------------------------------------------------------ writing
def write_elements(path: PathLike, elements: list[tuple[str, np.ndarray]]) -> None:
    """Write a binary little-endian PLY of ``(name, structured array)`` pairs, atomically.

    Each field becomes a property in order; a field with shape ``(n,)`` becomes a list property
    with a uchar count (every row's list has ``n`` items).
    """
    lines = ["ply", "format binary_little_endian 1.0"]
    bodies = []
    for name, rows in elements:
        lines.append(f"element {name} {len(rows)}")
        fields: list[tuple] = []
        for field in rows.dtype.names:
            base, shape = rows.dtype[field].base, rows.dtype[field].shape
            kind = _WRITE_NAMES[base.str[1:]]
            if shape:
                lines.append(f"property list uchar {kind} {field}")
                fields += [(f"{field}\0count", "u1"), (field, "<" + base.str[1:], shape)]
            else:
                lines.append(f"property {kind} {field}")
                fields.append((field, "<" + base.str[1:]))
        packed = rows
        if np.dtype(fields) != rows.dtype:
            packed = np.empty(len(rows), np.dtype(fields))
            for field in rows.dtype.names:
                packed[field] = rows[field]
                if rows.dtype[field].shape:
                    packed[f"{field}\0count"] = rows.dtype[field].shape[0]
        bodies.append(packed)
    lines.append("end_header\n")
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write("\n".join(lines).encode("ascii"))
        for body in bodies:  # not tofile: numpy drops a failed flush, leaving a short file on a full disk
            handle.write(np.ascontiguousarray(body).data)
