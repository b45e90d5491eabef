"""Animated GLB: a mesh plus per-frame vertex positions written as morph targets and a weights animation."""

from __future__ import annotations

import numpy as np
import pygltflib
import pytest

from scene import MeshAsset
from scene.io import FormatError, read_mesh
from scene.io.animated_glb import write_flipbook_glb, write_morph_glb
from tests.gltf_validator import validate

TIMES = np.array([0.0, 0.5, 1.0, 1.5])


def moving_quad(helpers, **visual) -> tuple[MeshAsset, np.ndarray, np.ndarray]:
    """The test quad, then per frame: shifted along x and turned about z by a quarter turn each frame."""
    mesh = helpers.quad_mesh(**visual)
    positions, normals = [], []
    for k in range(len(TIMES)):
        c, s = np.cos(k * np.pi / 2), np.sin(k * np.pi / 2)
        turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        positions.append(mesh.vertices @ turn.T + [0.25 * k, 0, 0])
        normals.append(mesh.normals @ turn.T)
    return mesh, np.array(positions), np.array(normals)


def accessor_array(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    """An accessor's floats, read from the binary chunk independently of the writer."""
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[accessor.type]
    assert accessor.componentType == pygltflib.FLOAT
    stride = view.byteStride or 4 * width
    start = view.byteOffset + (accessor.byteOffset or 0)
    rows = [np.frombuffer(gltf.binary_blob(), "<f4", width, start + i * stride) for i in range(accessor.count)]
    return np.array(rows)


def colourings():
    rgba = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1], [1, 1, 1, 0.5]], np.float32)
    texture = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    uvs = np.array([[0, 1], [1, 1], [0, 0], [1, 0]], np.float32)
    return {"vertex colours": {"vertex_colors": rgba}, "texture": {"uvs": uvs, "texture": texture}}


@pytest.mark.parametrize("colouring", ["vertex colours", "texture"])
def test_the_khronos_validator_finds_no_issue_and_an_animation(tmp_path, helpers, colouring):
    mesh, positions, normals = moving_quad(helpers, **colourings()[colouring])
    write_morph_glb(tmp_path / "a.glb", mesh, positions, TIMES, normals)
    report = validate(tmp_path / "a.glb")
    issues = report["issues"]
    assert issues["numErrors"] == 0, [m for m in issues["messages"] if m["severity"] == 0]
    assert issues["numWarnings"] == 0, [m for m in issues["messages"] if m["severity"] == 1]
    assert report["info"]["animationCount"] == 1
    assert report["info"]["maxAttributes"] >= 3


def test_each_frame_is_the_base_plus_its_target_and_the_animation_keys_one_target_per_frame(tmp_path, helpers):
    mesh, positions, normals = moving_quad(helpers, **colourings()["texture"])
    write_morph_glb(tmp_path / "a.glb", mesh, positions, TIMES, normals, name="quad")
    gltf = pygltflib.GLTF2().load(str(tmp_path / "a.glb"))
    primitive = gltf.meshes[0].primitives[0]
    base = accessor_array(gltf, primitive.attributes.POSITION)
    base_normals = accessor_array(gltf, primitive.attributes.NORMAL)
    assert len(primitive.targets) == len(TIMES)
    for k, target in enumerate(primitive.targets):
        np.testing.assert_allclose(base + accessor_array(gltf, target["POSITION"]), positions[k], atol=1e-6)
        np.testing.assert_allclose(base_normals + accessor_array(gltf, target["NORMAL"]), normals[k], atol=1e-6)
    assert gltf.meshes[0].weights == [1.0, 0.0, 0.0, 0.0]  # at rest: the first frame
    assert gltf.meshes[0].extras["targetNames"] == ["frame_0000", "frame_0001", "frame_0002", "frame_0003"]
    (animation,) = gltf.animations
    (channel,) = animation.channels
    assert channel.target.path == "weights" and gltf.nodes[channel.target.node].mesh == 0
    sampler = animation.samplers[channel.sampler]
    assert sampler.interpolation == "LINEAR"
    np.testing.assert_array_equal(accessor_array(gltf, sampler.input)[:, 0], TIMES)
    np.testing.assert_array_equal(accessor_array(gltf, sampler.output).reshape(4, 4), np.eye(4))
    assert animation.name == gltf.nodes[channel.target.node].name == "quad"


def test_the_mesh_and_its_texture_read_back_as_the_rest_pose(tmp_path, helpers):
    mesh, positions, _ = moving_quad(helpers, **colourings()["texture"])
    write_morph_glb(tmp_path / "a.glb", mesh, positions, TIMES)
    back = read_mesh(tmp_path / "a.glb")
    np.testing.assert_allclose(back.vertices, mesh.vertices, atol=1e-6)
    np.testing.assert_array_equal(back.texture, mesh.texture)
    gltf = pygltflib.GLTF2().load(str(tmp_path / "a.glb"))
    assert all("NORMAL" not in target for target in gltf.meshes[0].primitives[0].targets)  # no normals given


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"positions": np.zeros((3, 4, 3))}, "expected positions of 4 frames x 4 vertices x 3, got \\[3, 4, 3\\]"),
        ({"times": np.array([0.0, 0.5, 0.5, 1.0])}, "frame times must be .*strictly increasing"),
        ({"times": TIMES - 0.25}, "frame times must be .*from 0 up"),
        ({"normals": np.zeros((4, 3, 3))}, "normals must have the positions' shape"),
    ],
)
def test_arrays_that_do_not_fit_are_refused_and_the_old_file_is_kept(tmp_path, helpers, change, problem):
    mesh, positions, normals = moving_quad(helpers)
    (tmp_path / "a.glb").write_bytes(b"old")
    arguments = {"positions": positions, "times": TIMES, "normals": normals} | change
    with pytest.raises(ValueError, match=problem):
        write_morph_glb(tmp_path / "a.glb", mesh, **arguments)
    assert (tmp_path / "a.glb").read_bytes() == b"old"


@pytest.mark.parametrize("where", ["missing folder", "a folder in the way"])
def test_a_path_that_cannot_be_written_gives_one_line_and_leaves_nothing(tmp_path, helpers, where):
    mesh, positions, _ = moving_quad(helpers)
    path = tmp_path / "nowhere" / "a.glb" if where == "missing folder" else tmp_path / "a.glb"
    if where == "a folder in the way":
        path.mkdir()
    with pytest.raises(FormatError) as info:
        write_morph_glb(path, mesh, positions, TIMES)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []


def test_a_flipbook_shows_each_frame_in_turn_and_skips_empty_frames(tmp_path, helpers):
    options = colourings()
    meshes = [
        helpers.quad_mesh(**options["texture"]),
        MeshAsset(np.zeros((0, 3)), np.zeros((0, 3), int)),  # an empty frame: nothing shows
        helpers.quad_mesh(**options["vertex colours"]).transformed(np.diag([2.0, 2.0, 2.0, 1.0])),
        helpers.quad_mesh(),
    ]
    path = tmp_path / "book.glb"
    write_flipbook_glb(path, meshes, TIMES)
    report = validate(path)
    issues = report["issues"]
    assert issues["numErrors"] == 0, [m for m in issues["messages"] if m["severity"] == 0]
    assert issues["numWarnings"] == 0, [m for m in issues["messages"] if m["severity"] == 1]
    gltf = pygltflib.GLTF2().load(str(path))
    nodes = {node.name: i for i, node in enumerate(gltf.nodes) if node.mesh is not None}
    assert sorted(nodes) == ["frame_0000", "frame_0002", "frame_0003"]
    assert gltf.nodes[nodes["frame_0000"]].scale == [1.0, 1.0, 1.0]  # at rest: the first frame
    assert gltf.nodes[nodes["frame_0002"]].scale == [0.0, 0.0, 0.0]
    (animation,) = gltf.animations
    for channel in animation.channels:
        sampler = animation.samplers[channel.sampler]
        assert channel.target.path == "scale" and sampler.interpolation == "STEP"
        np.testing.assert_array_equal(accessor_array(gltf, sampler.input)[:, 0], TIMES)
        frame = int(gltf.nodes[channel.target.node].name[-4:])
        np.testing.assert_array_equal(accessor_array(gltf, sampler.output), np.eye(4)[frame][:, None].repeat(3, 1))
    assert len(gltf.images) == 1 and gltf.materials[0].pbrMetallicRoughness.baseColorTexture is not None


def test_a_flipbook_needs_a_mesh_per_time_and_one_to_show(tmp_path, helpers):
    with pytest.raises(ValueError, match="3 meshes for 4 frame times"):
        write_flipbook_glb(tmp_path / "b.glb", [helpers.quad_mesh()] * 3, TIMES)
    empty = MeshAsset(np.zeros((0, 3)), np.zeros((0, 3), int))
    with pytest.raises(ValueError, match="no frame has a mesh to show"):
        write_flipbook_glb(tmp_path / "b.glb", [empty] * 4, TIMES)
    assert list(tmp_path.iterdir()) == []
