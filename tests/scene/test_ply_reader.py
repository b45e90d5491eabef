"""The PLY reader piece by piece: header parsing, element data in every encoding, corrupt input."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from scene import GaussianCloud, MeshAsset, PointCloud
from scene.io import FormatError, ply_kind, read_ply
from scene.io.ply_container import PlyElement, PlyHeader, PlyProperty, Ragged, read_elements, read_header

XYZ = "property float x\nproperty float y\nproperty float z\n"


def write(tmp_path, text: str, body: bytes = b"", name: str = "t.ply"):
    path = tmp_path / name
    path.write_bytes(text.encode() + body)
    return path


def raises(path, message: str, call=read_ply):
    """``call(path)`` raises FormatError with exactly ``path: message``."""
    with pytest.raises(FormatError) as info:
        call(path)
    assert str(info.value) == f"{path}: {message}"


# ------------------------------------------------------------------------------ header
def test_header_lists_elements_properties_and_the_data_offset(tmp_path):
    """Every type spelling, lists, comments, obj_info and blank lines; the offset is the header's length."""
    names = ["char", "int8", "uchar", "uint8", "short", "int16", "ushort", "uint16",
             "int", "int32", "uint", "uint32", "float", "float32", "double", "float64"]  # fmt: skip
    codes = ["i1", "i1", "u1", "u1", "i2", "i2", "u2", "u2", "i4", "i4", "u4", "u4", "f4", "f4", "f8", "f8"]
    text = "ply\nformat binary_big_endian 1.0\ncomment made by hand\nobj_info nothing\n\n"
    text += "element vertex 3\n" + "".join(f"property {t} p{i}\n" for i, t in enumerate(names))
    text += "element face 2\nproperty list uchar int vertex_indices\nproperty list ushort double w\n"
    text += "element empty 0\nend_header\n"
    header = read_header(write(tmp_path, text, b"\0" * 50))
    vertex = PlyElement("vertex", 3, tuple(PlyProperty(f"p{i}", c) for i, c in enumerate(codes)))
    face = PlyElement("face", 2, (PlyProperty("vertex_indices", "i4", "u1"), PlyProperty("w", "f8", "u2")))
    assert header == PlyHeader("binary_big_endian", (vertex, face, PlyElement("empty", 0, ())), len(text))
    assert header.element("face") is face or header.element("face") == face
    assert header.element("nothing") is None
    assert vertex.property_names() == [f"p{i}" for i in range(16)]
    assert face.has_lists and not vertex.has_lists


def test_header_with_crlf_line_ends_and_padding_words(tmp_path):
    text = "ply \r\nformat ascii 1.0\r\nelement vertex 1\r\n" + XYZ.replace("\n", "\r\n") + "end_header  \r\n"
    path = write(tmp_path, text, b"1 2 3\r\n")
    header = read_header(path)
    assert header.data_offset == len(text) and header.encoding == "ascii"
    assert header.elements[0].property_names() == ["x", "y", "z"]
    np.testing.assert_array_equal(read_ply(path).points, [[1, 2, 3]])


@pytest.mark.parametrize("line", ["bogus X", "bogus  "])
def test_a_bad_crlf_header_line_is_quoted_without_its_carriage_return(tmp_path, line):
    raises(write(tmp_path, f"ply\r\nformat ascii 1.0\r\n{line}\r\nend_header\r\n"),
           f"header line 3 is not valid PLY: {line!r}", read_header)  # fmt: skip


def test_a_header_longer_than_one_read_is_parsed(tmp_path):
    comments = "".join(f"comment {i:06d} {'.' * 60}\n" for i in range(2000))  # ~140 kB: three reads
    text = "ply\nformat ascii 1.0\n" + comments + "element vertex 1\n" + XYZ + "end_header\n"
    assert read_header(write(tmp_path, text, b"1 2 3\n")).data_offset == len(text)


def test_a_header_over_one_megabyte_is_refused(tmp_path):
    comments = f"comment {'.' * 1000}\n" * 1100
    path = write(tmp_path, "ply\nformat ascii 1.0\n" + comments + "end_header\n")
    raises(path, "the PLY header is truncated (no 'end_header' line)", read_header)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ply\nformat ascii 1.0\nformat ascii 1.0\n", "header line 3 is not valid PLY: 'format ascii 1.0'"),
        ("ply\nformat ascii\n", "header line 2 is not valid PLY: 'format ascii'"),
        ("ply\nformat ascii 1.0 x\n", "header line 2 is not valid PLY: 'format ascii 1.0 x'"),
        ("ply\nformat ascii 2.0\n", "unsupported PLY format 'ascii 2.0'"),
        ("ply\nformat binary 1.0\n", "unsupported PLY format 'binary 1.0'"),
        ("ply\nformat ascii 1.0\nelement vertex -1\n", "header line 3 is not valid PLY: 'element vertex -1'"),
        ("ply\nformat ascii 1.0\nelement vertex\n", "header line 3 is not valid PLY: 'element vertex'"),
        ("ply\nformat ascii 1.0\nelement vertex 1 2\n", "header line 3 is not valid PLY: 'element vertex 1 2'"),
        ("ply\nformat ascii 1.0\nproperty float x\n", "header line 3 is not valid PLY: 'property float x'"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty float\n", "header line 4 is not valid PLY: 'property float'"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty list uchar int\n",
         "header line 4 is not valid PLY: 'property list uchar int'"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty float x y z\n",
         "header line 4 is not a valid property: 'property float x y z'"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty list float int i\n",
         "list property 'i' has a non-integer count type"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty list double int i\n",
         "list property 'i' has a non-integer count type"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty list half int i\n", "unknown PLY property type 'half'"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty list uchar half i\n", "unknown PLY property type 'half'"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty half i\n", "unknown PLY property type 'half'"),
        ("ply\nformat ascii 1.0\nelement v 0\nelement v 0\n", "element 'v' is declared twice"),
        ("ply\nformat ascii 1.0\nelement v 0\nproperty float a\nproperty list uchar int a\n",
         "property 'a' of element 'v' is declared twice"),
        ("ply\nformat ascii 1.0\nelement v 2\nelement w 0\n", "element 'v' has 2 rows but no properties"),
        ("ply\nformat ascii 1.0\nelement w 0\nelement v 2\n", "element 'v' has 2 rows but no properties"),
        ("ply\nelement v 0\n", "the PLY header has no 'format' line"),
        ("ply\nformat ascii 1.0\n" + "x" * 100 + "\n", f"header line 3 is not valid PLY: {'x' * 80!r}"),
    ],
)
def test_invalid_headers_name_the_line_and_the_problem(tmp_path, text, problem):
    raises(write(tmp_path, text + "end_header\n"), problem, read_header)


def test_same_property_name_in_two_elements_and_empty_elements_are_fine(tmp_path):
    text = "ply\nformat ascii 1.0\nelement nothing 0\nelement vertex 1\n" + XYZ
    text += "element other 1\nproperty float x\nend_header\n"
    header = read_header(write(tmp_path, text))
    assert [(e.name, e.count) for e in header.elements] == [("nothing", 0), ("vertex", 1), ("other", 1)]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not a PLY file (it does not start with 'ply')"),
        (b"PLY\nformat ascii 1.0\nend_header\n", "not a PLY file (it does not start with 'ply')"),
        (b"plyx\nend_header\n", "not a PLY file (it does not start with 'ply')"),
        (b"ply", "the PLY header is truncated (no 'end_header' line)"),
        (b"ply\nformat ascii 1.0\ncomment caf\xc3\xa9\nend_header\n", "not a PLY file (the header is not ASCII text)"),
    ],
)
def test_files_that_are_not_ply_say_why(tmp_path, data, problem):
    (tmp_path / "x.ply").write_bytes(data)
    raises(tmp_path / "x.ply", problem, read_header)


def test_unreadable_files_give_the_system_reason(tmp_path):
    raises(tmp_path / "nowhere.ply", "cannot be read (No such file or directory)", read_header)
    (tmp_path / "dir.ply").mkdir()
    raises(tmp_path / "dir.ply", "cannot be read (Is a directory)", read_header)


# ------------------------------------------------------------------------------ element data
def test_ascii_elements_read_every_type_and_lists(tmp_path):
    text = "ply\nformat ascii 1.0\nelement vertex 2\nproperty char a\nproperty uchar b\nproperty short c\n"
    text += "property uint d\nproperty double e\nelement face 3\nproperty uchar tag\n"
    text += "property list uchar int vertex_indices\nproperty float w\nend_header\n"
    body = b"-128 255 -32768 4294967295 0.25\n127 0 32767 0 -1e300\n7 3 0 1 2 0.5\n8 0 1.5\n9 4 3 2 1 0 -2\n"
    header, data = read_elements(write(tmp_path, text, body), {"vertex", "face"})
    vertex, face = data["vertex"], data["face"]
    assert vertex.dtype == np.dtype([("a", "i1"), ("b", "u1"), ("c", "i2"), ("d", "u4"), ("e", "f8")])
    assert vertex.tolist() == [(-128, 255, -32768, 4294967295, 0.25), (127, 0, 32767, 0, -1e300)]
    assert set(face) == {"tag", "vertex_indices", "w"}
    np.testing.assert_array_equal(face["tag"], [7, 8, 9])
    assert face["tag"].dtype == np.uint8 and face["w"].dtype == np.float32
    np.testing.assert_array_equal(face["w"], [0.5, 1.5, -2])
    counts, values = face["vertex_indices"]
    np.testing.assert_array_equal(counts, [3, 0, 4])
    np.testing.assert_array_equal(values, [0, 1, 2, 3, 2, 1, 0])
    assert counts.dtype == np.int64 and values.dtype == np.int32


def test_ascii_lists_of_an_element_with_no_rows_are_empty(tmp_path):
    text = "ply\nformat ascii 1.0\nelement vertex 1\n" + XYZ + "element face 0\n"
    text += "property list uchar int vertex_indices\nproperty float w\nend_header\n"
    _, data = read_elements(write(tmp_path, text, b"1 2 3\n"), {"face"})
    assert set(data) == {"face"}
    counts, values = data["face"]["vertex_indices"]
    assert counts.shape == values.shape == (0,) and values.dtype == np.int32
    assert data["face"]["w"].shape == (0,) and data["face"]["w"].dtype == np.float32


@pytest.mark.parametrize(
    ("props", "body", "problem"),
    [
        ("property uchar r\n", b"256", "element 'vertex', property 'r': values are not u1 integers"),
        ("property uchar r\n", b"-1", "element 'vertex', property 'r': values are not u1 integers"),
        ("property char r\n", b"128", "element 'vertex', property 'r': values are not i1 integers"),
        ("property char r\n", b"-129", "element 'vertex', property 'r': values are not i1 integers"),
        ("property int r\n", b"2.5", "element 'vertex', property 'r': values are not i4 integers"),
        ("property list uchar int r\n", b"1 0.5", "element 'vertex', property 'r': values are not i4 integers"),
        ("property list uchar int r\n", b"256 0", "element 'vertex', property 'r': values are not u1 integers"),
        ("property list uchar int r\n", b"1 zebra", "element 'vertex', property 'r': a value is not a number"),
        ("property list uchar int r\n", b"3 1 2", "the data of element 'vertex' is truncated"),
        ("property list uchar int r\nproperty float s\n", b"1 5", "the data of element 'vertex' is truncated"),
        ("property float r\n", b"", "element 'vertex' claims 1 rows but the file has too few values"),
        ("property float r\nproperty float s\n", b"1 zebra", "element 'vertex', property 's': a value is not a number"),
        ("property uchar r\nproperty float s\n", b"1.5 2",
         "element 'vertex', property 'r': values are not u1 integers"),
        ("property list uchar int r\nproperty float s\n", b"1 5 zebra",
         "element 'vertex', property 's': a value is not a number"),
        ("property list uchar int r\nproperty uchar s\n", b"1 5 -1",
         "element 'vertex', property 's': values are not u1 integers"),
    ],
)
def test_bad_ascii_values_name_the_property(tmp_path, props, body, problem):
    text = "ply\nformat ascii 1.0\nelement vertex 1\n" + props + "end_header\n"
    raises(write(tmp_path, text, body), problem, lambda p: read_elements(p, {"vertex"}))


def test_a_later_ascii_element_with_too_few_values_says_so(tmp_path):
    text = "ply\nformat ascii 1.0\nelement vertex 1\n" + XYZ + "element face 2\nproperty float w\nend_header\n"
    raises(write(tmp_path, text, b"1 2 3 4\n"), "element 'face' claims 2 rows but the file has too few values",
           lambda p: read_elements(p, {"face"}))  # fmt: skip


def test_ascii_integer_bounds_are_accepted(tmp_path):
    text = "ply\nformat ascii 1.0\nelement vertex 2\nproperty char a\nproperty list char uchar b\nend_header\n"
    _, data = read_elements(write(tmp_path, text, b"-128 1 255\n127 2 0 1\n"), {"vertex"})
    np.testing.assert_array_equal(data["vertex"]["a"], [-128, 127])
    np.testing.assert_array_equal(data["vertex"]["b"].values, [255, 0, 1])


def test_binary_fixed_length_lists_read_as_one_array(tmp_path):
    rows = np.array([(1, 3, [0, 1, 2], 2.5), (2, 3, [2, 1, 3], -1.0)],
                    [("tag", ">u2"), ("n", "u1"), ("vertex_indices", ">i4", (3,)), ("w", ">f8")])  # fmt: skip
    text = "ply\nformat binary_big_endian 1.0\nelement face 2\nproperty ushort tag\n"
    text += "property list uchar int vertex_indices\nproperty double w\nend_header\n"
    _, data = read_elements(write(tmp_path, text, rows.tobytes()), {"face"})
    face = data["face"]
    np.testing.assert_array_equal(face["tag"], [1, 2])
    np.testing.assert_array_equal(face["w"], [2.5, -1.0])
    assert isinstance(face["vertex_indices"], Ragged)
    np.testing.assert_array_equal(face["vertex_indices"].counts, [3, 3])
    np.testing.assert_array_equal(face["vertex_indices"].values, [0, 1, 2, 2, 1, 3])
    assert face["vertex_indices"].counts.dtype == np.int64


@pytest.mark.parametrize("counts", [[2, 3, 1], [2, 2, 0], [0, 0, 0], [0, 1, 2]])
def test_binary_lists_of_varying_length_read_row_by_row(tmp_path, counts):
    """Rows whose lists differ from the first row's are read one by one, to the same columns."""
    values = [v for i, n in enumerate(counts) for v in range(10 * i, 10 * i + n)]
    text = "ply\nformat binary_little_endian 1.0\nelement face 3\nproperty uchar tag\n"
    text += "property list ushort short a\nproperty float w\nproperty list uchar float b\n"
    text += "property uchar after\nend_header\n"
    body = b"".join(
        np.uint8(i).tobytes() + np.uint16(n).tobytes() + np.arange(10 * i, 10 * i + n, dtype="<i2").tobytes()
        + np.float32(i / 2).tobytes() + np.uint8(1).tobytes() + np.float32(n).tobytes() + np.uint8(9).tobytes()
        for i, n in enumerate(counts)
    )
    _, data = read_elements(write(tmp_path, text, body + b"trailing bytes"), {"face"})
    face = data["face"]
    np.testing.assert_array_equal(face["tag"], [0, 1, 2])
    np.testing.assert_array_equal(face["w"], [0, 0.5, 1])
    np.testing.assert_array_equal(face["after"], [9, 9, 9])
    np.testing.assert_array_equal(face["a"].counts, counts)
    np.testing.assert_array_equal(face["a"].values, values)
    assert face["a"].values.dtype == np.int16 and face["tag"].dtype == np.uint8
    np.testing.assert_array_equal(face["b"].counts, [1, 1, 1])
    np.testing.assert_array_equal(face["b"].values, counts)


def no_row_by_row(monkeypatch):
    from scene.io import ply_container

    def row_by_row(*args):
        raise AssertionError("read row by row")

    monkeypatch.setattr(ply_container, "_binary_rows_one_by_one", row_by_row)


def test_binary_list_elements_without_rows_are_empty(tmp_path, monkeypatch):
    no_row_by_row(monkeypatch)
    text = "ply\nformat binary_little_endian 1.0\nelement face 0\nproperty list uchar int vertex_indices\n"
    text += "property float w\nproperty list ushort double more\nend_header\n"
    _, data = read_elements(write(tmp_path, text), {"face"})
    assert data["face"]["vertex_indices"].counts.shape == (0,)
    assert data["face"]["vertex_indices"].values.shape == (0,)
    assert data["face"]["more"].values.shape == (0,) and data["face"]["more"].values.dtype == np.float64
    assert data["face"]["w"].shape == (0,)


def test_lists_of_the_first_rows_lengths_are_read_in_one_pass(tmp_path, monkeypatch):
    """Scalars before, between and after two lists of other types; every row as long as the first."""
    no_row_by_row(monkeypatch)
    rows = np.array([(7, 1.5, 3, [0, 1, 2], 2, [0.5, -1], 9), (8, -2.5, 3, [5, 6, 7], 2, [4, 8], 1)],
                    [("a", "<u2"), ("b", "<f4"), ("n", "<u2"), ("i", "<i4", (3,)), ("m", "u1"), ("f", "<f4", (2,)),
                     ("c", "i1")])  # fmt: skip
    text = "ply\nformat binary_little_endian 1.0\nelement face 2\nproperty ushort a\nproperty float b\n"
    text += "property list ushort int i\nproperty list uchar float f\nproperty char c\nend_header\n"
    _, data = read_elements(write(tmp_path, text, rows.tobytes()), {"face"})
    face = data["face"]
    np.testing.assert_array_equal(face["a"], [7, 8])
    np.testing.assert_array_equal(face["b"], [1.5, -2.5])
    np.testing.assert_array_equal(face["c"], [9, 1])
    np.testing.assert_array_equal(face["i"].counts, [3, 3])
    np.testing.assert_array_equal(face["i"].values, [0, 1, 2, 5, 6, 7])
    np.testing.assert_array_equal(face["f"].counts, [2, 2])
    np.testing.assert_array_equal(face["f"].values, [0.5, -1, 4, 8])


@pytest.mark.parametrize("rows", [1, 3])
def test_empty_lists_up_to_the_end_of_the_file_are_read_in_one_pass(tmp_path, monkeypatch, rows):
    no_row_by_row(monkeypatch)
    text = f"ply\nformat binary_little_endian 1.0\nelement face {rows}\nproperty float w\n"
    text += "property list ushort int i\nend_header\n"
    _, data = read_elements(write(tmp_path, text, (np.float32(2).tobytes() + b"\0\0") * rows), {"face"})
    np.testing.assert_array_equal(data["face"]["w"], [2] * rows)
    np.testing.assert_array_equal(data["face"]["i"].counts, [0] * rows)
    assert data["face"]["i"].values.shape == (0,)


@pytest.mark.parametrize("body", [b"\xc8" + bytes(7), b"\x01" + bytes(4), b"\x01" + bytes(3)])
def test_a_first_row_list_running_to_or_past_the_end_is_truncated(tmp_path, body):
    """The first row's first list ends far past, just past or at the end: no room for the second list's count."""
    text = "ply\nformat binary_little_endian 1.0\nelement face 2\nproperty list uchar int a\n"
    text += "property list uchar int b\nend_header\n"
    raises(write(tmp_path, text, body), "the data of element 'face' is truncated",
           lambda p: read_elements(p, {"face"}))  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        b"\x02\0\0\0\0\x01\0\0\0" + b"\x05\0\0\0\0",  # second row's list runs past the end
        b"\x02\0\0\0\0\x01\0\0\0" + b"\x01\0\0",  # second row's count is there, its item is cut
        b"\xff\0\0\0\0" + b"\x01\0\0\0\0",  # a negative count
        b"\x01\0\0\0\0" + b"\x01",  # the last row's item is cut
    ],
)
def test_truncated_binary_lists_say_so(tmp_path, body):
    text = "ply\nformat binary_little_endian 1.0\nelement face 2\nproperty list char int vertex_indices\nend_header\n"
    raises(write(tmp_path, text, body), "the data of element 'face' is truncated",
           lambda p: read_elements(p, {"face"}))  # fmt: skip


def test_binary_rows_that_cannot_fit_give_the_sizes(tmp_path):
    text = "ply\nformat binary_little_endian 1.0\nelement face 4\nproperty short s\n"
    text += "property list ushort int i\nend_header\n"
    problem = "element 'face' claims 4 rows, which need at least 16 bytes, but only 15 remain (truncated or corrupt)"
    raises(write(tmp_path, text, bytes(15)), problem, lambda p: read_elements(p, {"face"}))
    _, data = read_elements(write(tmp_path, text, bytes(16)), {"face"})  # exactly the minimum: empty lists
    np.testing.assert_array_equal(data["face"]["i"].counts, [0, 0, 0, 0])


def test_elements_after_the_wanted_ones_are_not_parsed(tmp_path):
    """Junk after the last wanted element (an element claiming more rows than the file holds) is ignored."""
    for encoding, vertex in (("ascii", b"1 2 3\n"), ("binary_little_endian", np.array([1, 2, 3], "<f4").tobytes())):
        text = f"ply\nformat {encoding} 1.0\nelement vertex 1\n{XYZ}element junk 1000\nproperty double j\nend_header\n"
        path = write(tmp_path, text, vertex)
        header, data = read_elements(path, {"vertex", "face"})
        assert list(data) == ["vertex"] and len(header.elements) == 2
        np.testing.assert_array_equal(data["vertex"].tolist(), [(1, 2, 3)])
        np.testing.assert_array_equal(read_ply(path).points, [[1, 2, 3]])
        assert read_elements(path, {"nothing"})[1] == {}
        text = f"ply\nformat {encoding} 1.0\nelement junk 1000\nproperty double j\nelement vertex 1\n{XYZ}end_header\n"
        assert read_elements(write(tmp_path, text, vertex), {"nothing"})[1] == {}  # nothing wanted: nothing parsed


def test_elements_before_a_wanted_one_are_skipped_in_both_encodings(tmp_path):
    for encoding, junk in (("ascii", b"4 1 2 3 4 9\n"), ("binary_big_endian", b"\x04" + bytes(16) + bytes(8))):
        text = f"ply\nformat {encoding} 1.0\nelement junk 1\nproperty list uchar int l\nproperty double d\n"
        text += f"element vertex 1\n{XYZ}end_header\n"
        vertex = b"1 2 3\n" if encoding == "ascii" else np.array([1, 2, 3], ">f4").tobytes()
        _, data = read_elements(write(tmp_path, text, junk + vertex), {"vertex"})
        assert list(data) == ["vertex"]
        np.testing.assert_array_equal(data["vertex"].tolist(), [(1, 2, 3)])


# ------------------------------------------------------------------------------ kinds
@pytest.mark.parametrize(
    ("props", "faces", "kind"),
    [
        ("x y z f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3", "", "splats"),
        ("x y z f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2", "", "points"),
        ("x y z", "property list uchar int vertex_indices", "mesh"),
        ("x y z", "property list uchar uint vertex_index", "mesh"),
        ("x y z", "property list uchar float vertex_indices", "points"),
        ("x y z", "property list uchar int corners", "points"),
        ("x y z", "property int vertex_indices", "points"),
    ],
)
def test_kind_from_the_vertex_properties_and_the_face_list(tmp_path, props, faces, kind):
    text = "ply\nformat binary_little_endian 1.0\nelement vertex 0\n"
    text += "".join(f"property float {p}\n" for p in props.split())
    text += f"element face 1\n{faces}\nend_header\n" if faces else "end_header\n"
    assert ply_kind(write(tmp_path, text)) == kind


@pytest.mark.parametrize(
    "text",
    [
        "ply\nformat ascii 1.0\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nend_header\n",
        "ply\nformat ascii 1.0\nend_header\n",
    ],
)
def test_a_ply_without_a_vertex_position_has_no_kind(tmp_path, text):
    path = write(tmp_path, text)
    for call in (ply_kind, read_ply):
        raises(path, "the PLY has no 'vertex' element with x, y, z properties", call)


# ------------------------------------------------------------------------------ splats
SPLAT_PROPS = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
               "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]  # fmt: skip


def splat_rows(rest: int, n: int = 2) -> np.ndarray:
    rows = np.zeros(n, [(name, "<f4") for name in SPLAT_PROPS + [f"f_rest_{i}" for i in range(rest)]])
    rows["rot_0"] = 1
    return rows


@pytest.mark.parametrize(("rest", "degree"), [(0, 0), (9, 1), (24, 2), (45, 3)])
def test_sh_coefficients_come_from_f_dc_and_channel_major_f_rest(tmp_path, helpers, rest, degree):
    rows = splat_rows(rest)
    for c in range(3):
        rows[f"f_dc_{c}"] = [c, 10 + c]
    for i in range(rest):
        rows[f"f_rest_{i}"] = [100 + i, 200 + i]
    rows["opacity"] = [0.5, -0.5]
    (tmp_path / "s.ply").write_bytes(helpers.ply_bytes([("vertex", rows)]))
    cloud = read_ply(tmp_path / "s.ply")
    assert cloud.sh_degree == degree and cloud.sh.shape == (2, (degree + 1) ** 2, 3)
    k = (degree + 1) ** 2
    for j in range(1, k):
        for c in range(3):
            assert cloud.sh[1, j, c] == 200 + c * (k - 1) + j - 1
    np.testing.assert_array_equal(cloud.sh[:, 0], [[0, 1, 2], [10, 11, 12]])
    np.testing.assert_array_equal(cloud.opacity_logits, [0.5, -0.5])


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (["f_rest_0", "f_rest_1", "f_rest_3"], "the f_rest_* properties are not numbered 0..2"),
        ([f"f_rest_{i}" for i in range(3)], "3 f_rest_* properties do not match an SH degree 0-3 (0, 9, 24 or 45)"),
        ([f"f_rest_{i}" for i in range(10)], "10 f_rest_* properties do not match an SH degree 0-3 (0, 9, 24 or 45)"),
        ([f"f_rest_{i}" for i in range(48)], "48 f_rest_* properties do not match an SH degree 0-3 (0, 9, 24 or 45)"),
        ([f"f_rest_{i}" for i in range(72)], "72 f_rest_* properties do not match an SH degree 0-3 (0, 9, 24 or 45)"),
    ],
)
@pytest.mark.parametrize("encoding", ["binary_little_endian", "ascii"])  # streamed and whole-file readers
def test_f_rest_properties_that_fit_no_degree_are_named(tmp_path, helpers, names, problem, encoding):
    rows = splat_rows(0)
    extra = np.zeros(2, [(name, "<f4") for name in names])
    merged = np.zeros(2, rows.dtype.descr + extra.dtype.descr)
    merged["rot_0"] = 1
    (tmp_path / "s.ply").write_bytes(helpers.ply_bytes([("vertex", merged)], encoding))
    raises(tmp_path / "s.ply", problem)


def test_splats_with_a_list_property_are_refused(tmp_path, helpers):
    rows = np.zeros(1, splat_rows(0).dtype.descr + [("extra", "<i4", (2,))])
    rows["rot_0"] = 1
    (tmp_path / "s.ply").write_bytes(helpers.ply_bytes([("vertex", rows)]))
    raises(tmp_path / "s.ply", "the vertex element has list properties")


def test_a_streamed_splat_file_that_is_too_short_gives_the_sizes(tmp_path, helpers):
    data = helpers.ply_bytes([("vertex", splat_rows(0, 3))])
    (tmp_path / "s.ply").write_bytes(data[:-1])
    problem = "element 'vertex' claims 3 rows, which need at least 168 bytes, but only 167 remain"
    problem += " (truncated or corrupt)"
    raises(tmp_path / "s.ply", problem)


@pytest.mark.parametrize("chunk", [2, 3, 100])
def test_a_streamed_splat_file_stops_at_the_end_of_the_vertex_element(tmp_path, helpers, monkeypatch, chunk):
    """An element after the vertices, larger than a chunk, is not read as more splats."""
    from scene.io import ply

    monkeypatch.setattr(ply, "_CHUNK_ROWS", chunk)
    rows = splat_rows(0, 5)
    rows["x"] = np.arange(5)
    after = np.zeros(40, [("junk", "<f8")])
    (tmp_path / "s.ply").write_bytes(helpers.ply_bytes([("vertex", rows), ("after", after)]))
    cloud = read_ply(tmp_path / "s.ply")
    np.testing.assert_array_equal(cloud.means[:, 0], np.arange(5))


def test_values_out_of_float32_range_are_rejected_without_warnings(tmp_path, helpers):
    rows = np.zeros(1, [(name, "<f8") for name in SPLAT_PROPS])
    rows["rot_0"] = 1
    rows["scale_1"] = 1e300  # overflows float32
    (tmp_path / "s.ply").write_bytes(helpers.ply_bytes([("vertex", rows)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError, match=re.escape(f"{tmp_path / 's.ply'}: ") + ".*NaN or infinite"):
            read_ply(tmp_path / "s.ply")
        rows["scale_1"] = 0
        rows["x"] = 1e300
        (tmp_path / "a.ply").write_bytes(helpers.ply_bytes([("vertex", rows)], "ascii"))
        with pytest.raises(FormatError, match="NaN or infinite"):
            read_ply(tmp_path / "a.ply")


# ------------------------------------------------------------------------------ meshes and points
def test_polygons_of_any_size_are_fanned_and_smaller_ones_refused(tmp_path):
    text = "ply\nformat ascii 1.0\nelement vertex 6\n" + XYZ
    text += "element face 2\nproperty list uchar uint vertex_index\nend_header\n"
    vertices = b"0 0 0\n1 0 0\n1 1 0\n0 1 0\n0 2 0\n5 5 5\n"
    mesh = read_ply(write(tmp_path, text, vertices + b"5 0 1 2 3 4\n3 5 4 3\n"))
    assert isinstance(mesh, MeshAsset)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [0, 3, 4], [5, 4, 3]])
    assert mesh.faces.dtype == np.int64 or mesh.faces.dtype.kind in "iu"
    raises(write(tmp_path, text, vertices + b"3 0 1 2\n2 0 1\n"), "a face has fewer than 3 vertices")


@pytest.mark.parametrize(
    ("props", "values", "colors"),
    [
        ("uchar red\nuchar green\nuchar blue\nuchar alpha", "255 0 51 102", [1, 0, 0.2, 0.4]),
        ("uchar red\nuchar green\nuchar blue", "255 0 51", [1, 0, 0.2, 1]),
        ("char red\nchar green\nchar blue", "127 -5 0", [1, 0, 0, 1]),
        ("float red\nfloat green\nfloat blue\nfloat alpha", "1.5 -0.5 0.25 0.75", [1, 0, 0.25, 0.75]),
        ("uchar red\nuchar green\nuchar alpha", "255 0 51", None),
    ],
)
def test_mesh_vertex_colours_by_type(tmp_path, props, values, colors):
    text = "ply\nformat ascii 1.0\nelement vertex 3\n" + XYZ
    text += "".join(f"property {p}\n" for p in props.split("\n"))
    text += "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
    body = f"0 0 0 {values}\n1 0 0 {values}\n0 1 0 {values}\n3 0 1 2\n".encode()
    mesh = read_ply(write(tmp_path, text, body))
    if colors is None:
        assert mesh.vertex_colors is None
    else:
        np.testing.assert_allclose(mesh.vertex_colors, [colors] * 3, atol=1e-7)


def test_point_colours_scale_by_the_integer_type(tmp_path):
    text = "ply\nformat ascii 1.0\nelement vertex 2\n" + XYZ
    text += "property ushort red\nproperty short green\nproperty float blue\nend_header\n"
    cloud = read_ply(write(tmp_path, text, b"0 0 0 65535 32767 2\n1 1 1 0 -1 0.5\n"))
    assert isinstance(cloud, PointCloud)
    np.testing.assert_allclose(cloud.colors, [[1, 1, 1], [0, 0, 0.5]], atol=1e-7)
    np.testing.assert_array_equal(cloud.points, [[0, 0, 0], [1, 1, 1]])


def test_points_without_all_three_colours_are_grey(tmp_path):
    text = "ply\nformat ascii 1.0\nelement vertex 1\n" + XYZ + "property uchar red\nproperty uchar green\nend_header\n"
    np.testing.assert_allclose(read_ply(write(tmp_path, text, b"0 0 0 0 0\n")).colors, [[0.7, 0.7, 0.7]], atol=1e-7)


def test_splat_cloud_from_a_ply_with_other_elements_first_is_not_streamed(tmp_path, helpers, monkeypatch):
    from scene.io import ply

    rows = splat_rows(0)
    rows["x"] = [1, 2]
    data = helpers.ply_bytes([("camera", np.zeros(1, [("f", "<f4")])), ("vertex", rows)])
    (tmp_path / "s.ply").write_bytes(data)
    monkeypatch.setattr(ply, "_gaussians_streamed", None)  # must not be used
    cloud = read_ply(tmp_path / "s.ply")
    assert isinstance(cloud, GaussianCloud)
    np.testing.assert_array_equal(cloud.means[:, 0], [1, 2])


def test_a_file_that_vanishes_after_its_header_was_read_gives_the_reason(tmp_path, monkeypatch):
    from scene.io import ply, ply_container

    text = "ply\nformat binary_little_endian 1.0\nelement vertex 1\n"
    text += "".join(f"property float {p}\n" for p in SPLAT_PROPS) + "end_header\n"
    header = read_header(write(tmp_path, text, bytes(56)))
    gone = tmp_path / "gone.ply"
    monkeypatch.setattr(ply_container, "read_header", lambda path: header)
    raises(gone, "cannot be read (No such file or directory)", lambda p: read_elements(p, {"vertex"}))
    raises(gone, "cannot be read (No such file or directory)",
           lambda p: ply._gaussians_streamed(p, header, header.elements[0]))  # fmt: skip
