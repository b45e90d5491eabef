"""PLY: the 3DGS layout byte for byte, files from other writers, meshes, point clouds, bad input."""

from __future__ import annotations


import numpy as np
import pytest

from scene import GaussianCloud, MeshAsset, PointCloud
from scene.io import FormatError, ply_kind, read_ply, write_gaussians_ply, write_mesh_ply, write_points_ply

FIELDS = ("means", "log_scales", "quats", "opacity_logits", "sh")


def standard_table(cloud: GaussianCloud) -> np.ndarray:
    """The reference layout's columns, built coefficient by coefficient (independent of the writer)."""
    n, k = cloud.count, cloud.sh.shape[1]
    columns = [cloud.means[:, i] for i in range(3)] + [np.zeros(n, np.float32)] * 3
    columns += [cloud.sh[:, 0, c] for c in range(3)]
    columns += [cloud.sh[:, j, c] for c in range(3) for j in range(1, k)]  # channel-major f_rest
    columns += [cloud.opacity_logits] + [cloud.log_scales[:, i] for i in range(3)]
    columns += [cloud.quats[:, i] for i in range(4)]
    return np.stack(columns, axis=1).astype(np.float32)


def standard_bytes(helpers, cloud: GaussianCloud) -> bytes:
    names = helpers.standard_splat_fields(cloud.sh_degree)
    header = f"ply\nformat binary_little_endian 1.0\nelement vertex {cloud.count}\n"
    header += "".join(f"property float {name}\n" for name in names) + "end_header\n"
    rows = np.zeros(cloud.count, np.dtype([(name, "<f4") for name in names]))
    for name, column in zip(names, standard_table(cloud).T):
        rows[name] = column
    return header.encode() + rows.tobytes()


def assert_same_cloud(a: GaussianCloud, b: GaussianCloud) -> None:
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


# ------------------------------------------------------------------------------ splats
@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_writer_produces_the_reference_layout_byte_for_byte(tmp_path, helpers, rng, degree):
    cloud = helpers.random_cloud(rng, 7, degree)
    write_gaussians_ply(tmp_path / "a.ply", cloud)
    assert (tmp_path / "a.ply").read_bytes() == standard_bytes(helpers, cloud)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_write_read_round_trip_is_exact(tmp_path, helpers, rng, degree):
    cloud = helpers.random_cloud(rng, 50, degree)
    write_gaussians_ply(tmp_path / "a.ply", cloud)
    back = read_ply(tmp_path / "a.ply")
    assert isinstance(back, GaussianCloud) and back.sh_degree == degree
    assert_same_cloud(cloud, back)


@pytest.mark.parametrize("encoding", ["binary_little_endian", "binary_big_endian"])
def test_a_splat_file_is_streamed_in_chunks_to_the_same_cloud(tmp_path, helpers, rng, monkeypatch, encoding):
    """The usual 3DGS file (binary, vertex element first, no lists) is read a chunk of rows at a time."""
    from scene.io import ply

    cloud = helpers.random_cloud(rng, 50, 3)
    names = helpers.standard_splat_fields(3)
    vertex = np.zeros(cloud.count, [(name, "f4") for name in names])
    for name, column in zip(names, standard_table(cloud).T):
        vertex[name] = column
    path = tmp_path / "splats.ply"
    path.write_bytes(helpers.ply_bytes([("vertex", vertex), ("extra", np.zeros(2, [("tag", "i4")]))], encoding))
    whole = []
    monkeypatch.setattr(ply, "_read_whole", lambda *args: whole.append(args))  # must not be used
    monkeypatch.setattr(ply, "_CHUNK_ROWS", 7)  # 50 rows: 8 chunks, the last one short
    assert_same_cloud(cloud, read_ply(path))
    assert whole == []


def test_a_truncated_splat_file_says_so(tmp_path, helpers, rng):
    path = tmp_path / "cut.ply"
    write_gaussians_ply(path, helpers.random_cloud(rng, 20, 1))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(FormatError, match="claims 20 rows.*truncated") as info:
        read_ply(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize("encoding", ["binary_little_endian", "binary_big_endian", "ascii"])
def test_reads_files_of_other_writers(tmp_path, helpers, rng, degree, encoding):
    """Shuffled properties, no normals, extra properties of other types and extra elements."""
    cloud = helpers.random_cloud(rng, 9, degree)
    names = helpers.standard_splat_fields(degree)
    table = standard_table(cloud)
    order = [i for i in rng.permutation(len(names)) if names[i] not in ("nx", "ny", "nz")]
    fields = [(names[i], "f4") for i in order] + [("importance", "f8"), ("label", "u1"), ("id", "i4")]
    vertex = np.zeros(cloud.count, fields)
    for i in order:
        vertex[names[i]] = table[:, i]
    vertex["importance"] = rng.normal(size=cloud.count)
    vertex["id"] = -np.arange(cloud.count)
    camera = np.zeros(2, [("fov", "f8"), ("width", "u2")])
    tags = np.zeros(3, [("tag", "i4", (2,))])
    data = helpers.ply_bytes([("camera", camera), ("vertex", vertex), ("tags", tags)], encoding)
    (tmp_path / "other.ply").write_bytes(data)

    back = read_ply(tmp_path / "other.ply")
    assert_same_cloud(cloud, back)
    write_gaussians_ply(tmp_path / "ours.ply", back)
    assert (tmp_path / "ours.ply").read_bytes() == standard_bytes(helpers, cloud)


def test_double_properties_are_read_as_float32(tmp_path, helpers, rng):
    cloud = helpers.random_cloud(rng, 5, 1)
    names = helpers.standard_splat_fields(1)
    vertex = np.zeros(cloud.count, [(name, "f8") for name in names])
    for name, column in zip(names, standard_table(cloud).T):
        vertex[name] = column
    (tmp_path / "d.ply").write_bytes(helpers.ply_bytes([("vertex", vertex)]))
    assert_same_cloud(cloud, read_ply(tmp_path / "d.ply"))


def test_quaternions_are_normalised_on_read(tmp_path, helpers, rng):
    cloud = helpers.random_cloud(rng, 4, 0)
    names = helpers.standard_splat_fields(0)
    vertex = np.zeros(cloud.count, [(name, "f4") for name in names])
    for name, column in zip(names, standard_table(cloud).T):
        vertex[name] = column
    for i in range(4):
        vertex[f"rot_{i}"] *= 3.0
    (tmp_path / "q.ply").write_bytes(helpers.ply_bytes([("vertex", vertex)]))
    np.testing.assert_allclose(read_ply(tmp_path / "q.ply").quats, cloud.quats, atol=1e-6)


@pytest.mark.parametrize("rest", [1, 10, 44])
def test_f_rest_count_of_no_degree_is_rejected(tmp_path, helpers, rest):
    names = helpers.standard_splat_fields(0) + [f"f_rest_{i}" for i in range(rest)]
    vertex = np.zeros(2, [(name, "f4") for name in names])
    vertex["rot_0"] = 1
    (tmp_path / "r.ply").write_bytes(helpers.ply_bytes([("vertex", vertex)]))
    with pytest.raises(FormatError, match="f_rest"):
        read_ply(tmp_path / "r.ply")


def test_f_rest_numbering_with_a_gap_is_rejected(tmp_path, helpers):
    names = helpers.standard_splat_fields(0) + [f"f_rest_{i}" for i in range(1, 10)]
    vertex = np.zeros(2, [(name, "f4") for name in names])
    (tmp_path / "g.ply").write_bytes(helpers.ply_bytes([("vertex", vertex)]))
    with pytest.raises(FormatError, match="numbered"):
        read_ply(tmp_path / "g.ply")


def test_nan_in_a_splat_is_rejected_with_the_path(tmp_path, helpers, rng):
    cloud = helpers.random_cloud(rng, 3, 0)
    write_gaussians_ply(tmp_path / "n.ply", cloud)
    data = bytearray((tmp_path / "n.ply").read_bytes())
    data[-4:] = np.float32(np.nan).tobytes()
    (tmp_path / "n.ply").write_bytes(bytes(data))
    with pytest.raises(FormatError, match="n.ply.*NaN"):
        read_ply(tmp_path / "n.ply")


def test_empty_cloud_round_trip(tmp_path):
    write_gaussians_ply(tmp_path / "e.ply", GaussianCloud.empty(2))
    back = read_ply(tmp_path / "e.ply")
    assert back.count == 0 and back.sh_degree == 2


# ------------------------------------------------------------------------------ meshes
def test_mesh_round_trip_with_colours(tmp_path, helpers):
    colors = np.array([[1, 0, 0, 1], [0, 1, 0, 0.5], [0, 0, 1, 1], [0.2, 0.4, 0.6, 0.8]], np.float32)
    mesh = helpers.quad_mesh(vertex_colors=colors)
    write_mesh_ply(tmp_path / "m.ply", mesh)
    back = read_ply(tmp_path / "m.ply")
    assert isinstance(back, MeshAsset)
    np.testing.assert_array_equal(back.vertices, mesh.vertices)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_allclose(back.vertex_colors, colors, atol=0.5 / 255 + 1e-7)


def test_textured_mesh_is_written_with_colours_from_the_texture(tmp_path, helpers):
    texture = np.zeros((2, 2, 3), np.uint8)
    texture[0, 0] = [255, 0, 0]  # top left
    texture[1, 1] = [0, 0, 255]  # bottom right
    uvs = np.array([[0.25, 0.25], [0.75, 0.75], [0.25, 0.25], [0.75, 0.75]], np.float32)
    write_mesh_ply(tmp_path / "t.ply", helpers.quad_mesh(uvs=uvs, texture=texture))
    colors = read_ply(tmp_path / "t.ply").vertex_colors
    np.testing.assert_allclose(colors[:2], [[1, 0, 0, 1], [0, 0, 1, 1]])


def test_polygon_mesh_is_fan_triangulated(tmp_path, helpers):
    """Mixed quads and triangles with ushort colours, in both encodings."""
    vertex = np.zeros(5, [("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u2"), ("green", "u2"), ("blue", "u2")])
    vertex["x"] = [0, 1, 1, 0, 2]
    vertex["y"] = [0, 0, 1, 1, 0]
    vertex["red"] = 65535
    face_data = [np.array([0, 1, 2, 3], np.int32), np.array([1, 4, 2], np.int32)]
    face_bytes = {}
    for encoding in ("binary_big_endian", "ascii"):
        header_and_vertex = helpers.ply_bytes([("vertex", vertex)], encoding)
        header, body = header_and_vertex.split(b"end_header\n")
        header += b"element face 2\nproperty list uchar int vertex_indices\nend_header\n"
        if encoding == "ascii":
            faces = b"4 0 1 2 3\n3 1 4 2\n"
        else:
            faces = b"".join(np.uint8(len(f)).tobytes() + f.astype(">i4").tobytes() for f in face_data)
        face_bytes[encoding] = header + body + faces
    for encoding, data in face_bytes.items():
        (tmp_path / "p.ply").write_bytes(data)
        mesh = read_ply(tmp_path / "p.ply")
        np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [1, 4, 2]])
        np.testing.assert_allclose(mesh.vertex_colors[:, :2], [[1, 0]] * 5)


def test_face_index_out_of_range_is_rejected(tmp_path, helpers):
    vertex = np.zeros(3, [("x", "f4"), ("y", "f4"), ("z", "f4")])
    faces = np.array([([0, 1, 7],)], [("vertex_indices", "i4", (3,))])
    (tmp_path / "f.ply").write_bytes(helpers.ply_bytes([("vertex", vertex), ("face", faces)]))
    with pytest.raises(FormatError, match="f.ply.*indices"):
        read_ply(tmp_path / "f.ply")


def test_mesh_without_faces_is_a_point_cloud(tmp_path, helpers):
    vertex = np.zeros(3, [("x", "f4"), ("y", "f4"), ("z", "f4")])
    faces = np.zeros(0, [("vertex_indices", "i4", (3,))])
    (tmp_path / "nf.ply").write_bytes(helpers.ply_bytes([("vertex", vertex), ("face", faces)]))
    assert isinstance(read_ply(tmp_path / "nf.ply"), PointCloud)


# ------------------------------------------------------------------------------ point clouds
def test_point_cloud_round_trip(tmp_path, rng):
    points = PointCloud(rng.normal(size=(20, 3)), rng.uniform(size=(20, 3)))
    write_points_ply(tmp_path / "p.ply", points)
    back = read_ply(tmp_path / "p.ply")
    assert isinstance(back, PointCloud)
    np.testing.assert_array_equal(back.points, points.points)
    np.testing.assert_allclose(back.colors, points.colors, atol=0.5 / 255 + 1e-7)


@pytest.mark.parametrize("color_type", ["u1", "f4", None])
def test_point_cloud_colour_types(tmp_path, helpers, color_type):
    fields = [("x", "f8"), ("y", "f8"), ("z", "f8")]
    if color_type:
        fields += [(c, color_type) for c in ("red", "green", "blue")]
    vertex = np.zeros(2, fields)
    vertex["z"] = [1.5, -2.0]
    if color_type:
        vertex["green"] = 255 if color_type == "u1" else 1.0
    (tmp_path / "c.ply").write_bytes(helpers.ply_bytes([("vertex", vertex)], "ascii"))
    back = read_ply(tmp_path / "c.ply")
    np.testing.assert_array_equal(back.points[:, 2], [1.5, -2.0])
    expected = [0, 1, 0] if color_type else [0.7, 0.7, 0.7]
    np.testing.assert_allclose(back.colors, [expected] * 2, atol=1e-7)


# ------------------------------------------------------------------------------ kinds and bad input
def test_kind_comes_from_the_header_alone(tmp_path, helpers, rng):
    write_gaussians_ply(tmp_path / "s.ply", helpers.random_cloud(rng, 100, 3))
    data = (tmp_path / "s.ply").read_bytes()
    (tmp_path / "s.ply").write_bytes(data[: data.index(b"end_header") + 11])  # no body at all
    assert ply_kind(tmp_path / "s.ply") == "splats"
    write_mesh_ply(tmp_path / "m.ply", helpers.quad_mesh())
    assert ply_kind(tmp_path / "m.ply") == "mesh"
    write_points_ply(tmp_path / "p.ply", PointCloud(np.zeros((2, 3))))
    assert ply_kind(tmp_path / "p.ply") == "points"


HEADER = "ply\nformat binary_little_endian 1.0\nelement vertex {n}\nproperty float x\nproperty float y\nproperty float z\nend_header\n"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not a PLY"),
        (b"solid cube\nfacet normal 0 0 1\n", "not a PLY"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a PLY"),
        (b"ply\nformat binary_little_endian 1.0\nelement vertex 1\n", "truncated"),
        (HEADER.format(n=3).encode() + bytes(35), "claims 3 rows"),
        (HEADER.format(n=10**12).encode() + bytes(12), "claims 1000000000000 rows"),
        (HEADER.replace("float x", "float128 x").format(n=1).encode() + bytes(12), "unknown PLY property type"),
        (HEADER.replace("binary_little_endian", "binary_middle_endian").format(n=0).encode(), "unsupported PLY format"),
        (HEADER.replace("format binary_little_endian 1.0\n", "").format(n=0).encode(), "no 'format' line"),
        (HEADER.replace("property float x\n", "").format(n=1).encode() + bytes(8), "x, y, z"),
        (HEADER.replace("property float z", "property float y").format(n=1).encode() + bytes(12), "twice"),
        (HEADER.replace("binary_little_endian", "ascii").format(n=1).encode() + b"1 2 zebra\n", "not a number"),
        (HEADER.replace("binary_little_endian", "ascii").format(n=2).encode() + b"1 2 3\n", "too few values"),
        (HEADER.format(n=1).encode() + np.array([0, np.inf, 0], "<f4").tobytes(), "NaN or infinite"),
        ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
         "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2.5\n"
         .encode(), "not i4 integers"),  # fmt: skip
    ],
)
def test_bad_files_raise_format_error_naming_the_file(tmp_path, data, problem):
    path = tmp_path / "bad.ply"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=problem) as info:
        read_ply(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="cannot be read"):
        read_ply(tmp_path / "nowhere.ply")


# ------------------------------------------------------------------------------ writers byte for byte
def test_point_cloud_file_bytes(tmp_path):
    """float x, y, z then uchar colours rounded from 0-1 (clipped outside it)."""
    points = PointCloud([[1.5, -2, 3], [0, 0.25, -1]], [[0, 1.2, 0.5], [0.3, -0.1, 0.002]])
    write_points_ply(tmp_path / "p.ply", points)
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
        b"property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    )
    body = np.array([1.5, -2, 3], "<f4").tobytes() + bytes([0, 255, 128])
    body += np.array([0, 0.25, -1], "<f4").tobytes() + bytes([76, 0, 1])
    assert (tmp_path / "p.ply").read_bytes() == header + body


def test_mesh_file_bytes_with_and_without_colours(tmp_path, helpers):
    header = (
        "ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
        "property float z\nproperty float nx\nproperty float ny\nproperty float nz\n{colors}element face 2\n"
        "property list uchar int vertex_indices\nend_header\n"
    )
    mesh = helpers.quad_mesh()
    vertices = np.concatenate([mesh.vertices, mesh.normals], axis=1).astype("<f4")
    faces = b"".join(b"\x03" + np.asarray(f, "<i4").tobytes() for f in mesh.faces)
    write_mesh_ply(tmp_path / "m.ply", mesh)
    assert (tmp_path / "m.ply").read_bytes() == header.format(colors="").encode() + vertices.tobytes() + faces

    colors = np.array([[1, 0, 0, 1], [0, 1, 0, 0.5], [0, 0, 1, 1], [0.2, 0.4, 0.6, 0.8]], np.float32)
    write_mesh_ply(tmp_path / "c.ply", helpers.quad_mesh(vertex_colors=colors))
    color_props = "".join(f"property uchar {c}\n" for c in ("red", "green", "blue", "alpha"))
    rgba = np.round(colors * 255).astype(np.uint8)
    body = b"".join(v.tobytes() + c.tobytes() for v, c in zip(vertices, rgba))
    assert (tmp_path / "c.ply").read_bytes() == header.format(colors=color_props).encode() + body + faces


def test_write_elements_lays_out_lists_and_converts_to_little_endian(tmp_path):
    from scene.io.ply_container import read_elements, write_elements

    a = np.array([(1.5, [1, -2]), (-3.0, [3, 4])], [("w", ">f8"), ("ids", ">i2", (2,))])
    b = np.array([(7,)], [("tag", "u1")])
    write_elements(tmp_path / "e.ply", [("a", a), ("b", b), ("none", np.zeros(0, [("q", "<u4")]))])
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement a 2\nproperty double w\nproperty list uchar short ids\n"
        b"element b 1\nproperty uchar tag\nelement none 0\nproperty uint q\nend_header\n"
    )
    body = np.float64(1.5).astype("<f8").tobytes() + b"\x02" + np.array([1, -2], "<i2").tobytes()
    body += np.float64(-3).astype("<f8").tobytes() + b"\x02" + np.array([3, 4], "<i2").tobytes() + b"\x07"
    assert (tmp_path / "e.ply").read_bytes() == header + body
    _, data = read_elements(tmp_path / "e.ply", {"a", "b"})
    np.testing.assert_array_equal(data["a"]["ids"].values, [1, -2, 3, 4])
    np.testing.assert_array_equal(data["b"]["tag"], [7])
