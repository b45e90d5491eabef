"""The payload-kind registry, checked with the built-in kinds and with a toy kind from a test module."""

import dataclasses
import json
import zipfile

import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer, MeshAsset, PointCloud, Transform
from scene.clip import GaussianClip
from scene.io import FormatError, save
from scene.io.project import load_project, save_project
from scene.kinds import CLIP, MESH, POINTS, SPLATS, is_payload, kind_named, kind_of, payload_kinds, register_kind
from tests.toy_kind import MARKERS, Markers


def markers(n: int = 4, seed: int = 0) -> Markers:
    rng = np.random.default_rng(seed)
    return Markers(rng.normal(size=(n, 3)), rng.uniform(size=(n, 3)))


def builtin_payloads() -> list[object]:
    rng = np.random.default_rng(1)
    return [
        GaussianCloud.create(rng.normal(size=(5, 3)), 0.1, rng.uniform(size=(5, 3))),
        MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], vertex_colors=np.full((3, 4), 0.5)),
        PointCloud(rng.normal(size=(6, 3))),
        GaussianClip.from_frames(
            [GaussianCloud.create(rng.normal(size=(4, 3)) + [k, 0, 0], 0.1, np.full((4, 3), 0.5)) for k in range(3)]
        ),
    ]


# ------------------------------------------------------------------------------ registry
def test_importing_the_toy_module_registers_its_kind():
    assert kind_named("markers") is MARKERS
    assert MARKERS in payload_kinds()
    assert kind_of(markers()) is MARKERS
    assert is_payload(markers()) and not is_payload(np.zeros((2, 3)))


def test_builtin_kinds_are_found_by_type_and_name():
    assert [kind_of(p) for p in builtin_payloads()] == [SPLATS, MESH, POINTS, CLIP]
    assert [kind.name for kind in (SPLATS, MESH, POINTS)] == ["splats", "mesh", "points"]
    assert all(kind_named(kind.name) is kind for kind in (SPLATS, MESH, POINTS))
    assert SPLATS.selectable and not MESH.selectable and not POINTS.selectable


def test_a_subclass_has_its_base_class_kind():
    class Tagged(Markers):
        pass

    assert kind_of(Tagged(np.zeros((1, 3)), np.zeros((1, 3)))) is MARKERS


def test_lookup_errors_name_the_known_kinds():
    with pytest.raises(TypeError, match=r"str is not a layer payload.*splats, mesh, points.*markers"):
        kind_of("a string")
    with pytest.raises(KeyError, match=r"no payload kind named 'hologram'.*splats, mesh, points, clip.*markers"):
        kind_named("hologram")


def test_a_clashing_name_or_type_is_refused_and_leaves_the_registry_alone():
    before = payload_kinds()
    with pytest.raises(ValueError, match="'markers'.*already registered"):
        register_kind(dataclasses.replace(MARKERS, type=type("Other", (), {})))
    with pytest.raises(ValueError, match="'splats' .GaussianCloud. is already registered"):
        register_kind(dataclasses.replace(SPLATS, name="more splats"))
    assert payload_kinds() == before


# ------------------------------------------------------------------------------ a kind's operations
@pytest.mark.parametrize("payload", [*builtin_payloads(), markers()], ids=lambda p: type(p).__name__)
def test_arrays_round_trip(payload):
    kind = kind_of(payload)
    arrays = kind.to_arrays(payload)
    assert arrays and all(isinstance(a, np.ndarray) for a in arrays.values())
    back = kind.from_arrays(arrays)
    assert type(back) is type(payload)
    for name, array in kind.to_arrays(back).items():
        np.testing.assert_array_equal(array, arrays[name])


def test_from_arrays_validates_like_the_constructor():
    with pytest.raises(ValueError, match="positions"):
        MARKERS.from_arrays({"positions": np.zeros((2, 2)), "colors": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"required \['colors', 'positions'\]"):
        MARKERS.from_arrays({"positions": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"\['colors', 'extra', 'positions'\] do not match"):
        MARKERS.from_arrays({"positions": np.zeros((2, 3)), "colors": np.zeros((2, 3)), "extra": np.zeros(2)})


def test_optional_fields_that_are_none_are_left_out_of_the_arrays():
    mesh = MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])
    assert sorted(MESH.to_arrays(mesh)) == ["faces", "normals", "vertices"]


def test_count_describe_bounds_and_transform():
    cloud, mesh, points, clip = builtin_payloads()
    assert [kind_of(p).count(p) for p in (cloud, mesh, points, clip)] == [5, 1, 6, 4]
    assert CLIP.describe(clip) == "4 splats, 3 frames at 24 fps, 0.12 s"
    assert SPLATS.describe(cloud) == "5 splats, SH degree 0"
    assert MESH.describe(mesh) == "1 faces, 3 vertices, vertex colours"
    assert POINTS.describe(points) == "6 points"
    many = Markers(np.zeros((1234, 3)), np.zeros((1234, 3)))
    assert MARKERS.describe(many) == "1,234 markers" and MARKERS.count(many) == 1234
    toy = Markers([[0, 0, 0], [1, 2, 3]], [[1, 0, 0], [0, 1, 0]])
    lo, hi = MARKERS.bounds(toy)
    np.testing.assert_array_equal([lo, hi], [[0, 0, 0], [1, 2, 3]])
    moved = MARKERS.transformed(toy, Transform([10, 0, 0], scale=[2, 2, 2]).matrix())
    np.testing.assert_allclose(moved.positions, [[10, 0, 0], [12, 4, 6]])
    np.testing.assert_array_equal(moved.colors, toy.colors)


def test_summary_is_the_details_or_the_count():
    cloud, mesh, points, _ = builtin_payloads()
    assert SPLATS.summary(cloud) == {"count": 5, "sh_degree": 0}
    assert MESH.summary(mesh) == {"vertices": 3, "faces": 1, "colors": "vertex"}
    assert POINTS.summary(points) == {"count": 6}
    assert MARKERS.summary(markers(3)) == {"count": 3}


# ------------------------------------------------------------------------------ in a document
def test_a_document_holds_a_toy_layer():
    document = Document()
    layer = document.add_layer(Layer("pins", markers(), transform=Transform([0, 5, 0])))
    assert layer.kind == "markers" and layer.payload_kind is MARKERS
    lo, hi = layer.world_bounds()
    np.testing.assert_allclose(lo, layer.data.positions.min(axis=0) + [0, 5, 0], rtol=1e-6)
    np.testing.assert_allclose(hi, layer.data.positions.max(axis=0) + [0, 5, 0], rtol=1e-6)
    replacement = markers(7, seed=3)
    document.set_layer(layer.id, data=replacement)
    assert layer.data is replacement
    document.undo()
    assert layer.data is not replacement and layer.data.count == 4
    with pytest.raises(TypeError, match="cannot hold ndarray"):
        document.set_layer(layer.id, data=np.zeros((3, 3)))


def test_only_selectable_kinds_take_a_selection():
    document = Document()
    pins = document.add_layer(Layer("pins", markers()))
    with pytest.raises(TypeError, match="holds no splats to select"):
        document.select_splats(pins.id, np.ones(4, bool))
    assert document.splat_selection(pins.id) is None
    cloud = document.add_layer(Layer("cloud", builtin_payloads()[0]))
    document.select_splats(cloud.id, np.array([True, False, True, False, False]))
    assert document.splat_selection(cloud.id).sum() == 2
    with pytest.raises(ValueError, match=r"expected \(5,\)"):
        document.select_splats(cloud.id, np.ones(4, bool))


# ------------------------------------------------------------------------------ in files
def test_a_toy_layer_round_trips_through_a_project(tmp_path):
    document = Document()
    document.add_layer(Layer("cloud", builtin_payloads()[0]))
    original = document.add_layer(Layer("pins", markers(5), visible=False, transform=Transform([1, 2, 3])))
    path = tmp_path / "toy.a4d"
    save_project(document, path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert sorted(archive.namelist()) == ["layers/0000.ply", "layers/0001.npz", "manifest.json"]
    assert [entry["kind"] for entry in manifest["layers"]] == ["splats", "markers"]
    again = load_project(path).layers[1]
    assert (again.id, again.name, again.kind, again.visible) == (original.id, "pins", "markers", False)
    assert again.transform == original.transform
    np.testing.assert_array_equal(again.data.positions, original.data.positions)
    np.testing.assert_array_equal(again.data.colors, original.data.colors)


def test_a_kind_without_a_file_format_cannot_be_saved_alone(tmp_path):
    with pytest.raises(FormatError, match="markers layer has no file format of its own"):
        save(tmp_path / "pins.ply", markers())
    assert not (tmp_path / "pins.ply").exists()


def _rewrite_member(path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def _saved_toy_project(tmp_path):
    document = Document()
    document.add_layer(Layer("pins", markers()))
    path = tmp_path / "toy.a4d"
    save_project(document, path)
    return path


def test_an_array_payload_with_pickled_objects_is_refused(tmp_path):
    path = _saved_toy_project(tmp_path)
    np.savez(tmp_path / "evil.npz", positions=np.array([object()] * 3, dtype=object), colors=np.zeros((3, 3)))
    _rewrite_member(path, "layers/0000.npz", (tmp_path / "evil.npz").read_bytes())
    with pytest.raises(FormatError, match=r"layer 'pins' \(layers/0000.npz\): not a valid markers payload"):
        load_project(path)


def test_an_array_payload_with_wrong_arrays_names_the_layer(tmp_path):
    path = _saved_toy_project(tmp_path)
    np.savez(tmp_path / "bad.npz", positions=np.zeros((3, 3)))
    _rewrite_member(path, "layers/0000.npz", (tmp_path / "bad.npz").read_bytes())
    with pytest.raises(FormatError, match=r"layer 'pins' \(layers/0000.npz\): .*required \['colors', 'positions'\]"):
        load_project(path)


def test_an_array_payload_that_is_no_zip_is_refused(tmp_path):
    path = _saved_toy_project(tmp_path)
    _rewrite_member(path, "layers/0000.npz", b"not a zip")
    with pytest.raises(FormatError, match=r"layer 'pins' \(layers/0000.npz\): not an .npz archive"):
        load_project(path)


def test_an_array_payload_is_checked_for_zip_bombs(tmp_path):
    path = _saved_toy_project(tmp_path)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", compression=zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("positions.npy", b"\0" * (80 * 2**20))
    _rewrite_member(path, "layers/0000.npz", (tmp_path / "bomb.npz").read_bytes())
    with pytest.raises(FormatError, match=r"layers/0000.npz:positions.npy is suspiciously compressed"):
        load_project(path)
