"""GLB and OBJ through trimesh: colours, textures, the uv convention, several meshes, bad input."""

from __future__ import annotations

import numpy as np
import pygltflib
import pytest
import trimesh
from PIL import Image

from scene import MeshAsset
from scene.io import FormatError, read_mesh, texture_to_vertex_colors, write_glb, write_obj
from scene.io.meshes import to_trimesh

COLORS = np.array([[1, 0, 0, 1], [0, 1, 0, 0.5], [0, 0, 1, 1], [0.2, 0.4, 0.6, 0.8]], np.float32)
UVS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.25], [1.0, 0.25]], np.float32)


def texture(channels: int = 3) -> np.ndarray:
    return (np.arange(4 * 8 * channels) * 7 % 256).astype(np.uint8).reshape(4, 8, channels)


def assert_same_geometry(a: MeshAsset, b: MeshAsset) -> None:
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.faces, b.faces)


def test_glb_round_trip_with_vertex_colours(tmp_path, helpers):
    mesh = helpers.quad_mesh(vertex_colors=COLORS)
    write_glb(tmp_path / "c.glb", mesh)
    back = read_mesh(tmp_path / "c.glb")
    assert_same_geometry(mesh, back)
    assert not back.is_textured
    np.testing.assert_allclose(back.vertex_colors, COLORS, atol=0.5 / 255 + 1e-7)


@pytest.mark.parametrize("channels", [3, 4])
def test_glb_round_trip_with_texture(tmp_path, helpers, channels):
    mesh = helpers.quad_mesh(uvs=UVS, texture=texture(channels))
    write_glb(tmp_path / "t.glb", mesh)
    back = read_mesh(tmp_path / "t.glb")
    assert_same_geometry(mesh, back)
    np.testing.assert_allclose(back.uvs, UVS, atol=1e-7)
    np.testing.assert_array_equal(back.texture, mesh.texture)


def test_glb_stores_uvs_in_the_gltf_convention(tmp_path, helpers):
    """Read the TEXCOORD_0 accessor with pygltflib: the file holds our uvs unflipped."""
    write_glb(tmp_path / "t.glb", helpers.quad_mesh(uvs=UVS, texture=texture()))
    gltf = pygltflib.GLTF2().load(str(tmp_path / "t.glb"))
    accessor = gltf.accessors[gltf.meshes[0].primitives[0].attributes.TEXCOORD_0]
    view = gltf.bufferViews[accessor.bufferView]
    start = view.byteOffset + (accessor.byteOffset or 0)
    stored = np.frombuffer(gltf.binary_blob(), "<f4", accessor.count * 2, start).reshape(-1, 2)
    np.testing.assert_allclose(stored, UVS, atol=1e-7)


def two_part_glb(path, first: trimesh.Trimesh, second: trimesh.Trimesh) -> None:
    scene = trimesh.Scene()
    scene.add_geometry(first, node_name="a", transform=trimesh.transformations.translation_matrix([10, 0, 0]))
    scene.add_geometry(second, node_name="b", transform=np.diag([2.0, 2.0, 2.0, 1.0]))
    path.write_bytes(scene.export(file_type="glb"))


def test_several_meshes_are_transformed_and_concatenated(tmp_path, helpers):
    quad = helpers.quad_mesh(vertex_colors=COLORS)
    two_part_glb(tmp_path / "two.glb", to_trimesh(quad), to_trimesh(quad))
    back = read_mesh(tmp_path / "two.glb")
    assert back.vertex_count == 8 and back.face_count == 4
    expected = {tuple(v) for v in quad.vertices + [10, 0, 0]} | {tuple(v) for v in quad.vertices * 2}
    assert {tuple(v) for v in back.vertices} == expected
    np.testing.assert_array_equal(np.sort(back.faces.ravel()), np.repeat(np.arange(8), [1, 2, 2, 1] * 2))
    np.testing.assert_allclose(back.vertex_colors, np.concatenate([COLORS, COLORS]), atol=0.5 / 255 + 1e-7)


def test_several_meshes_sharing_a_texture_keep_it(tmp_path, helpers):
    quad = helpers.quad_mesh(uvs=UVS, texture=texture())
    two_part_glb(tmp_path / "same.glb", to_trimesh(quad), to_trimesh(quad))
    back = read_mesh(tmp_path / "same.glb")
    np.testing.assert_array_equal(back.texture, texture())
    np.testing.assert_allclose(back.uvs, np.concatenate([UVS, UVS]), atol=1e-7)


def test_several_meshes_with_different_textures_fall_back_to_vertex_colours(tmp_path, helpers):
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255
    plain = helpers.quad_mesh()
    two_part_glb(tmp_path / "mixed.glb", to_trimesh(helpers.quad_mesh(uvs=UVS, texture=red)), to_trimesh(plain))
    back = read_mesh(tmp_path / "mixed.glb")
    assert not back.is_textured
    colors = {tuple(c) for c in back.vertex_colors}
    assert colors == {(1.0, 0.0, 0.0, 1.0), (1.0, 1.0, 1.0, 1.0)}


def test_texture_to_vertex_colors_samples_nearest_texel_with_v_down(helpers):
    image = np.zeros((2, 2, 4), np.uint8)
    image[0, 1] = [255, 0, 0, 255]  # top right
    image[1, 0] = [0, 0, 255, 128]  # bottom left
    uvs = np.array([[0.9, 0.1], [0.1, 0.9], [1.9, -0.9], [0.0, 0.0]], np.float32)  # third wraps to (0.9, 0.1)
    colors = texture_to_vertex_colors(helpers.quad_mesh(uvs=uvs, texture=image))
    np.testing.assert_allclose(colors[:3], [[1, 0, 0, 1], [0, 0, 1, 128 / 255], [1, 0, 0, 1]])


def test_obj_round_trip_with_texture_and_mtl(tmp_path, helpers):
    mesh = helpers.quad_mesh(uvs=UVS, texture=texture())
    write_obj(tmp_path / "quad.obj", mesh)
    assert (tmp_path / "quad.mtl").exists() and (tmp_path / "quad.png").exists()
    back = read_mesh(tmp_path / "quad.obj")
    assert_same_geometry(mesh, back)
    np.testing.assert_allclose(back.uvs, UVS, atol=1e-7)
    np.testing.assert_array_equal(back.texture, mesh.texture)


def test_obj_round_trip_with_vertex_colours(tmp_path, helpers):
    mesh = helpers.quad_mesh(vertex_colors=COLORS)
    write_obj(tmp_path / "c.obj", mesh)
    back = read_mesh(tmp_path / "c.obj")
    assert_same_geometry(mesh, back)
    np.testing.assert_allclose(back.vertex_colors[:, :3], COLORS[:, :3], atol=0.5 / 255 + 1e-7)


def test_hand_written_obj_uses_opengl_v(tmp_path):
    """An OBJ's vt 0 0 is the image's bottom-left corner: our uv (0, 1)."""
    Image.fromarray(texture()).save(tmp_path / "tex.png")
    (tmp_path / "hand.mtl").write_text("newmtl m\nKd 1 1 1\nmap_Kd tex.png\n")
    (tmp_path / "hand.obj").write_text(
        "mtllib hand.mtl\nusemtl m\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 0.25\nf 1/1 2/2 3/3\n"
    )
    back = read_mesh(tmp_path / "hand.obj")
    np.testing.assert_allclose(back.uvs, [[0, 1], [1, 1], [0, 0.75]], atol=1e-7)
    np.testing.assert_array_equal(back.texture, texture())


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("a.glb", b"", "not a GLB"),
        ("a.glb", b"PK\x03\x04" + bytes(60), "not a GLB"),
        ("a.glb", b"glTF\x01\x00\x00\x00\x14\x00\x00\x00" + bytes(8), "version 1"),
        ("a.glb", b"glTF\x02\x00\x00\x00\xff\x00\x00\x00" + bytes(8), "truncated"),
        ("a.glb", b"glTF\x02\x00\x00\x00\x1b\x00\x00\x00\x07\x00\x00\x00JSON{\"a\":1}", "no triangle mesh"),
        ("a.obj", b"v 0 0 0\nv 1 0 0\n", "no triangle mesh"),
        ("a.obj", b"\xff\xfe\x00garbage", None),
        ("a.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", None),
        ("a.gltf", b"{not json", None),
        ("a.stl", b"solid", "not a mesh format"),
    ],
)
def test_bad_files_raise_format_error(tmp_path, name, data, problem):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(FormatError, match=problem) as info:
        read_mesh(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="cannot be read|not a valid"):
        read_mesh(tmp_path / "nowhere.glb")
