"""GLB and OBJ through trimesh: colours, textures, the uv convention, several meshes, bad input."""

from __future__ import annotations

import re

import numpy as np
import pygltflib
import pytest
import trimesh
from PIL import Image
from trimesh.visual import TextureVisuals
from trimesh.visual.material import MultiMaterial, PBRMaterial

from scene import MeshAsset
from scene.io import FormatError, read_mesh, texture_to_vertex_colors, write_glb, write_obj
from scene.io.meshes import _image_array, from_trimesh, merge_meshes, to_trimesh

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


# ------------------------------------------------------------------------------ colours and images
def test_texture_to_vertex_colors_needs_a_texture(helpers):
    with pytest.raises(ValueError, match="^texture_to_vertex_colors: the mesh has no texture$"):
        texture_to_vertex_colors(helpers.quad_mesh(vertex_colors=COLORS))


def test_texture_to_vertex_colors_of_an_rgb_texture_are_opaque(helpers):
    image = np.array([[[10, 20, 30], [40, 50, 60]]], np.uint8)  # 1 row, 2 columns
    uvs = np.array([[0.0, 0.0], [0.75, 0.5], [0.25, 0.99], [0.5, 0.0]], np.float32)
    colors = texture_to_vertex_colors(helpers.quad_mesh(uvs=uvs, texture=image))
    assert colors.dtype == np.float32  # like MeshAsset.vertex_colors
    np.testing.assert_allclose(colors, [[10, 20, 30, 255], [40, 50, 60, 255], [10, 20, 30, 255], [40, 50, 60, 255]]
                               / np.float32(255))  # fmt: skip


def test_texture_to_vertex_colors_keeps_uvs_just_below_zero_in_the_image(helpers):
    """A uv a hair below 0 wraps to 1.0 in float64: it must give the last texel, not index past it."""
    image = np.zeros((3, 2, 4), np.uint8)
    image[2, 1] = [255, 255, 255, 255]
    uvs = np.array([[-1e-20, -1e-20], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
    colors = texture_to_vertex_colors(helpers.quad_mesh(uvs=uvs, texture=image))
    np.testing.assert_array_equal(colors[:2], [[1, 1, 1, 1], [0, 0, 0, 0]])


@pytest.mark.parametrize(
    ("mode", "info", "channels"),
    [("L", {}, 3), ("RGB", {}, 3), ("P", {}, 3), ("LA", {}, 4), ("PA", {}, 4), ("RGBA", {}, 4),
     ("P", {"transparency": 0}, 4)],
)  # fmt: skip
def test_images_keep_alpha_only_when_they_have_it(mode, info, channels):
    image = Image.new(mode, (3, 2))
    image.info.update(info)
    array = _image_array(image)
    assert array.shape == (2, 3, channels) and array.dtype == np.uint8


# ------------------------------------------------------------------------------ trimesh <-> MeshAsset
def test_a_texture_without_uvs_is_ignored():
    material = PBRMaterial(baseColorTexture=Image.new("RGB", (2, 2)))
    part = trimesh.Trimesh(np.eye(3), [[0, 1, 2]], visual=TextureVisuals(material=material), process=False)
    mesh = from_trimesh(part)
    assert not mesh.is_textured and mesh.vertex_colors is not None


def test_a_material_without_colour_leaves_the_mesh_uncoloured():
    """trimesh's MultiMaterial has neither an image nor a main colour."""
    part = trimesh.Trimesh(np.eye(3), [[0, 1, 2]], visual=TextureVisuals(material=MultiMaterial()), process=False)
    mesh = from_trimesh(part)
    assert mesh.vertex_colors is None and not mesh.is_textured
    np.testing.assert_array_equal(mesh.vertices, np.eye(3))
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2]])


def test_an_uncoloured_trimesh_has_no_colours():
    mesh = from_trimesh(trimesh.Trimesh(np.eye(3), [[0, 1, 2]], process=False))
    assert mesh.vertex_colors is None and not mesh.is_textured


@pytest.mark.parametrize("uv", [None, np.zeros((3, 2))])
def test_an_untextured_material_gives_its_base_colour(uv):
    material = PBRMaterial(baseColorFactor=[255, 102, 0, 51])
    part = trimesh.Trimesh(np.eye(3), [[0, 1, 2]], visual=TextureVisuals(uv=uv, material=material), process=False)
    mesh = from_trimesh(part)
    assert not mesh.is_textured
    np.testing.assert_allclose(mesh.vertex_colors, np.tile([1, 0.4, 0, 0.2], (3, 1)), atol=1e-6)


def test_a_hand_written_obj_material_without_texture_colours_the_mesh(tmp_path):
    (tmp_path / "k.mtl").write_text("newmtl m\nKd 0.2 0.6 1\n")
    (tmp_path / "k.obj").write_text("mtllib k.mtl\nusemtl m\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    mesh = read_mesh(tmp_path / "k.obj")
    assert not mesh.is_textured
    np.testing.assert_allclose(mesh.vertex_colors, np.tile([0.2, 0.6, 1, 1], (3, 1)), atol=0.5 / 255 + 1e-7)


def test_a_plain_obj_has_no_colours_and_keeps_duplicate_vertices(tmp_path):
    (tmp_path / "p.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 0\nf 1 2 3\nf 4 2 3\n")
    mesh = read_mesh(tmp_path / "p.obj")
    assert mesh.vertex_colors is None and not mesh.is_textured
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [3, 1, 2]])


def test_out_of_range_vertex_colours_are_clipped_on_export(helpers):
    colors = np.array([[1.5, -0.25, 0.5, 1], [0, 0, 0, 2], [1, 1, 1, 1], [0.2, 0.4, 0.6, 0.8]], np.float32)
    visual = to_trimesh(helpers.quad_mesh(vertex_colors=colors)).visual
    np.testing.assert_array_equal(
        visual.vertex_colors, [[255, 0, 128, 255], [0, 0, 0, 255], [255, 255, 255, 255], [51, 102, 153, 204]]
    )


# Two triangles sharing a corner stored twice (vertices 0 and 3), with normals not derived from the faces.
DOUBLED = dict(
    vertices=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32),
    faces=np.array([[0, 1, 2], [3, 1, 2]]),
    normals=np.array([[0, 0, 1], [0, 0.6, 0.8], [0.6, 0, 0.8], [0, 0, 1]], np.float32),
)


def test_to_trimesh_keeps_normals_and_flips_v(helpers):
    mesh = MeshAsset(**DOUBLED, uvs=UVS, texture=texture())
    part = to_trimesh(mesh, material_name="wood")
    assert len(part.vertices) == 4  # not merged
    np.testing.assert_allclose(part.vertex_normals, DOUBLED["normals"])
    np.testing.assert_allclose(part.visual.uv, np.stack([UVS[:, 0], 1 - UVS[:, 1]], axis=1))
    assert part.visual.material.name == "wood"
    np.testing.assert_array_equal(np.asarray(part.visual.material.baseColorTexture), texture())


# ------------------------------------------------------------------------------ merging parts
def test_merging_one_part_gives_it_back(helpers):
    quad = helpers.quad_mesh(uvs=UVS, texture=texture())
    assert merge_meshes([quad]) is quad


def test_merging_uncoloured_parts_gives_an_uncoloured_mesh():
    part = MeshAsset(**DOUBLED)
    merged = merge_meshes([part, part, part])
    assert merged.vertex_colors is None and not merged.is_textured
    np.testing.assert_array_equal(merged.faces, np.concatenate([part.faces, part.faces + 4, part.faces + 8]))
    np.testing.assert_array_equal(merged.normals, np.tile(DOUBLED["normals"], (3, 1)))


def test_merging_parts_with_one_texture_keeps_it():
    parts = [MeshAsset(**DOUBLED, uvs=UVS, texture=texture()), MeshAsset(**DOUBLED, uvs=UVS[::-1], texture=texture())]
    merged = merge_meshes(parts)
    np.testing.assert_array_equal(merged.texture, texture())
    np.testing.assert_array_equal(merged.uvs, np.concatenate([UVS, UVS[::-1]]))
    np.testing.assert_array_equal(merged.faces, np.concatenate([DOUBLED["faces"], DOUBLED["faces"] + 4]))
    np.testing.assert_array_equal(merged.normals, np.tile(DOUBLED["normals"], (2, 1)))


def test_merging_coloured_textured_and_plain_parts_gives_vertex_colours(helpers):
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255
    parts = [MeshAsset(**DOUBLED, vertex_colors=COLORS), helpers.quad_mesh(uvs=UVS, texture=red), helpers.quad_mesh()]
    merged = merge_meshes(parts)
    assert not merged.is_textured
    np.testing.assert_array_equal(merged.normals, np.concatenate([DOUBLED["normals"], np.tile([0, 0, 1], (8, 1))]))
    expected = np.concatenate([COLORS, np.tile([1, 0, 0, 1], (4, 1)), np.ones((4, 4))])
    np.testing.assert_allclose(merged.vertex_colors, expected)
    np.testing.assert_array_equal(merged.vertices, np.concatenate([p.vertices for p in parts]))


def test_merging_parts_with_different_textures_samples_each(helpers):
    red, blue = np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 3), np.uint8)
    red[..., 0], blue[..., 2] = 255, 255
    merged = merge_meshes([helpers.quad_mesh(uvs=UVS, texture=red), helpers.quad_mesh(uvs=UVS, texture=blue)])
    assert not merged.is_textured
    np.testing.assert_allclose(merged.vertex_colors, [[1, 0, 0, 1]] * 4 + [[0, 0, 1, 1]] * 4)


# ------------------------------------------------------------------------------ reading and writing
def test_extensions_are_case_insensitive(tmp_path, helpers):
    mesh = helpers.quad_mesh(vertex_colors=COLORS)
    write_glb(tmp_path / "UP.GLB", mesh)
    assert_same_geometry(read_mesh(tmp_path / "UP.GLB"), mesh)


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("noext", b"", "no extension is not a mesh format read with trimesh"),
        ("a.STL", b"solid", r"\.stl is not a mesh format read with trimesh"),
        ("a.glb", b"glTF\x02\x00\x00\x00\x0c\x00\x00\x00", "the GLB does not start with its JSON chunk"),
        ("a.glb", b"glTF\x02\x00\x00\x00\xff\xff\xff\xff", "the GLB header says 4294967295 bytes .*"),
        ("a.glb", b"glTF\xff\xff\xff\xff\x0c\x00\x00\x00", r"GLB version 4294967295 is not supported \(only 2\)"),
        ("a.glb", b"glTF\x01\x00\x00\x00\x0c\x00\x00\x00", r"GLB version 1 is not supported \(only 2\)"),
        ("a.glb", b"glTF\x02\x00\x00\x00\x0d\x00\x00\x00",
         r"the GLB header says 13 bytes but the file has 12 \(truncated\?\)"),  # fmt: skip
        ("a.glb", b"glTF\x02\x00\x00\x00\x0c\x00\x00", r"not a GLB file \(no 'glTF' magic\)"),
        ("a.gltf", b"[]", "the glTF JSON is not an object"),
        ("a.obj", b"v 1 2\nf 1 2 3\n", r"not a valid OBJ file \(IndexError: .*\)"),
        ("a.obj", b"v 0 0 0\nv 1 0 0\n", "the file holds no triangle mesh"),
    ],
)
def test_bad_files_have_precise_messages(tmp_path, name, data, problem):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(FormatError) as info:
        read_mesh(path)
    assert re.fullmatch(problem, info.value.problem)
    assert info.value.path == str(path)


def test_a_missing_glb_cannot_be_read(tmp_path):
    with pytest.raises(FormatError, match=r"nowhere\.glb: cannot be read \(No such file or directory\)"):
        read_mesh(tmp_path / "nowhere.glb")


def test_glb_stores_the_given_normals_and_every_vertex(tmp_path):
    mesh = MeshAsset(**DOUBLED, vertex_colors=COLORS)
    write_glb(tmp_path / "n.glb", mesh)
    gltf = pygltflib.GLTF2().load(str(tmp_path / "n.glb"))
    accessor = gltf.accessors[gltf.meshes[0].primitives[0].attributes.NORMAL]
    view = gltf.bufferViews[accessor.bufferView]
    start = view.byteOffset + (accessor.byteOffset or 0)
    stored = np.frombuffer(gltf.binary_blob(), "<f4", accessor.count * 3, start).reshape(-1, 3)
    np.testing.assert_allclose(stored, DOUBLED["normals"], atol=1e-6)
    back = read_mesh(tmp_path / "n.glb")
    np.testing.assert_array_equal(back.faces, DOUBLED["faces"])


def test_obj_names_its_material_after_the_file_and_stores_normals(tmp_path):
    mesh = MeshAsset(**DOUBLED, uvs=UVS, texture=texture())
    write_obj(tmp_path / "crate.obj", mesh)
    text = (tmp_path / "crate.obj").read_text()
    assert "mtllib crate.mtl" in text and "usemtl crate" in text
    assert "newmtl crate" in (tmp_path / "crate.mtl").read_text()
    normals = [list(map(float, line.split()[1:])) for line in text.splitlines() if line.startswith("vn ")]
    np.testing.assert_allclose(normals, DOUBLED["normals"], atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crate.mtl", "crate.obj", "crate.png"]


@pytest.mark.parametrize("colouring", ["plain", "vertex colours", "texture"])
def test_the_khronos_validator_finds_no_error_in_our_glb(tmp_path, helpers, colouring):
    from tests.gltf_validator import validate

    options = {"plain": {}, "vertex colours": {"vertex_colors": COLORS}, "texture": {"uvs": UVS, "texture": texture()}}
    write_glb(tmp_path / "m.glb", helpers.quad_mesh(**options[colouring]))
    issues = validate(tmp_path / "m.glb")["issues"]
    assert issues["numErrors"] == 0, [m for m in issues["messages"] if m["severity"] == 0]
    assert issues["numWarnings"] == 0, [m for m in issues["messages"] if m["severity"] == 1]
