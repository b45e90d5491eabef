import json
import re
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.make_demo import build_demo
from scene import Camera, Document, GaussianCloud, Layer, MeshAsset, PointCloud, Transform
from scene.document import LayerDisplay
from scene.io import FormatError
from scene.io import project as project_io
from scene.io.project import load_project, save_project


def assert_documents_equal(a: Document, b: Document) -> None:
    assert [layer.name for layer in a.layers] == [layer.name for layer in b.layers]
    for x, y in zip(a.layers, b.layers):
        assert (x.id, x.kind, x.visible, x.transform, x.display) == (y.id, y.kind, y.visible, y.transform, y.display)
        if x.kind == "splats":
            for field in ("means", "log_scales", "quats", "opacity_logits", "sh"):
                np.testing.assert_array_equal(getattr(x.data, field), getattr(y.data, field))
        elif x.kind == "mesh":
            np.testing.assert_array_equal(x.data.vertices, y.data.vertices)
            np.testing.assert_array_equal(x.data.faces, y.data.faces)
            assert x.data.is_textured == y.data.is_textured
        else:
            np.testing.assert_array_equal(x.data.points, y.data.points)


def test_demo_round_trips(tmp_path):
    document = build_demo()
    a_layer = document.layers[1]
    document.set_layer(a_layer.id, visible=False, display=LayerDisplay(1.5, 0.25), transform=Transform([1, 2, 3]))
    document.view = Camera.look_at([0, 2, 6], [0, 1, 0], width=320, height=200)
    document.add_layer(Layer("points", PointCloud(np.random.default_rng(0).normal(size=(50, 3)))))
    path = tmp_path / "demo.a4d"
    save_project(document, path)
    assert not document.is_modified
    again = load_project(path)
    assert_documents_equal(document, again)
    assert again.current_id == document.current_id
    np.testing.assert_allclose(again.view.c2w, document.view.c2w)
    assert not again.undo_stack.can_undo


def test_bundled_demo_is_what_the_script_makes():
    from assets import demo_project_path

    bundled, fresh = load_project(demo_project_path()), build_demo()
    for old, new in zip(bundled.layers, fresh.layers, strict=True):
        new.id = old.id  # ids are random per build; everything else must match
    assert_documents_equal(bundled, fresh)


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "p.a4d"
    save_project(build_demo(), path)
    before = path.read_bytes()

    def broken_save(target, data):
        raise OSError("No space left on device")

    monkeypatch.setattr(project_io, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        save_project(build_demo(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.a4d"]


def _write_archive(path, manifest, members=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in (members or {}).items():
            archive.writestr(name, data)


def _manifest(payload="layers/0000.ply", **extra):
    layer = {"id": "x", "name": "L", "kind": "splats", "visible": True, "payload": payload}
    return {"format": "atelier4d-project", "schema_version": 1, "layers": [layer], **extra}


@pytest.mark.parametrize("name", ["../evil.ply", "/etc/passwd.ply", "a/../../b.ply", "C:\\x.ply", "..\\x.ply"])
def test_refuses_paths_that_escape_the_archive(tmp_path, name):
    path = tmp_path / "evil.a4d"
    _write_archive(path, _manifest(name), {name: b"ply"})
    with pytest.raises(FormatError, match="escapes the archive|invalid payload"):
        load_project(path)


def test_refuses_absurd_sizes(tmp_path, monkeypatch):
    path = tmp_path / "big.a4d"
    _write_archive(path, _manifest(), {"layers/0000.ply": b"ply\n" + b"0" * 5000})
    monkeypatch.setattr(project_io, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(FormatError, match="absurd sizes"):
        load_project(path)


def test_refuses_a_zip_bomb(tmp_path, monkeypatch):
    path = tmp_path / "bomb.a4d"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(_manifest()))
        archive.writestr("layers/0000.ply", b"\0" * (80 * 2**20))
    with pytest.raises(FormatError, match="zip bomb"):
        load_project(path)


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"format": "something-else", "schema_version": 1, "layers": []}, "wrong manifest format"),
        ({"format": "atelier4d-project", "schema_version": 99, "layers": []}, "newer Atelier4D"),
        ({"format": "atelier4d-project", "schema_version": 1}, "no layer list"),
        (_manifest("layers/missing.ply"), "missing"),
        (_manifest("layers/0000.exe"), "unsupported type"),
    ],
)
def test_bad_manifests(tmp_path, manifest, message):
    path = tmp_path / "bad.a4d"
    _write_archive(path, manifest, {"layers/0000.exe": b"MZ"})
    with pytest.raises(FormatError, match=message):
        load_project(path)


def test_payload_errors_name_the_layer(tmp_path):
    path = tmp_path / "bad.a4d"
    _write_archive(path, _manifest(), {"layers/0000.ply": b"not a ply at all"})
    with pytest.raises(FormatError, match="layer 'L'"):
        load_project(path)


def test_kind_mismatch_is_caught(tmp_path):
    good = tmp_path / "good.a4d"
    document = Document()
    document.add_layer(Layer("s", GaussianCloud.create(np.zeros((2, 3)), 0.1, [1, 0, 0])))
    save_project(document, good)
    with zipfile.ZipFile(good) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        payload = archive.read("layers/0000.ply")
    manifest["layers"][0]["kind"] = "mesh"
    bad = tmp_path / "bad.a4d"
    _write_archive(bad, manifest, {"layers/0000.ply": payload})
    with pytest.raises(FormatError, match="says it is 'mesh'"):
        load_project(bad)


def test_truncated_and_foreign_files(tmp_path):
    good = tmp_path / "good.a4d"
    save_project(build_demo(), good)
    cut = tmp_path / "cut.a4d"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FormatError, match="cut.a4d"):
        load_project(cut)
    text = tmp_path / "text.a4d"
    text.write_text("hello")
    with pytest.raises(FormatError, match="not an Atelier4D project"):
        load_project(text)
    with pytest.raises(FormatError, match="no such file"):
        load_project(tmp_path / "absent.a4d")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_only_raise_format_error(tmp_path, data):
    path = tmp_path / "fuzz.a4d"
    path.write_bytes(data)
    with pytest.raises(FormatError):
        load_project(path)


# ------------------------------------------------------------------------------ archive layout
def assert_refused(path, problem: str) -> None:
    """Opening ``path`` raises FormatError naming that file, with a problem matching ``problem`` exactly."""
    with pytest.raises(FormatError) as info:
        load_project(path)
    assert info.value.path == str(path)
    assert re.fullmatch(problem, info.value.problem), info.value.problem


def small_document() -> Document:
    """One layer of each kind, the middle one hidden, rescaled and moved."""
    document = Document()
    document.add_layer(Layer("s", GaussianCloud.create(np.zeros((2, 3)), 0.1, [1, 0, 0]), id="a1"))
    mesh = MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])
    document.add_layer(
        Layer("m", mesh, visible=False, transform=Transform([1, 2, 3]), display=LayerDisplay(2.0, 0.5), id="b2")
    )
    document.add_layer(Layer("p", PointCloud(np.eye(3)), id="c3"))
    return document


def test_saved_archive_has_the_documented_layout(tmp_path):
    """Payloads stored uncompressed under layers/NNNN.<ext>, a deflated manifest naming each one."""
    document = small_document()
    document.set_current("b2")
    path = tmp_path / "p.a4d"
    save_project(document, path)
    with zipfile.ZipFile(path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        manifest = json.loads(archive.read("manifest.json"))
    assert sorted(infos) == ["layers/0000.ply", "layers/0001.glb", "layers/0002.ply", "manifest.json"]
    assert [infos[name].compress_type for name in sorted(infos)] == [zipfile.ZIP_STORED] * 3 + [zipfile.ZIP_DEFLATED]
    assert manifest["format"] == "atelier4d-project"
    assert manifest["schema_version"] == 2
    assert manifest["current"] == "b2"
    assert manifest["time"] == 0.0
    assert manifest["view"] is None
    assert manifest["layers"][1] == {
        "id": "b2",
        "name": "m",
        "kind": "mesh",
        "visible": False,
        "transform": Transform([1, 2, 3]).to_dict(),
        "display": {"splat_scale": 2.0, "opacity_scale": 0.5},
        "payload": "layers/0001.glb",
    }
    assert [entry["kind"] for entry in manifest["layers"]] == ["splats", "mesh", "points"]
    assert [entry["payload"] for entry in manifest["layers"]] == sorted(infos)[:3]


def test_saving_marks_the_document_clean_and_leaves_no_scratch_files(tmp_path):
    document = small_document()
    assert document.is_modified
    save_project(document, tmp_path / "p.a4d")
    assert not document.is_modified
    assert [p.name for p in tmp_path.iterdir()] == ["p.a4d"]


def test_current_layer_and_view_round_trip(tmp_path):
    document = small_document()
    document.set_current("a1")
    document.view = Camera.look_at([0, 2, 6], [0, 1, 0], width=64, height=48)
    save_project(document, tmp_path / "p.a4d")
    again = load_project(tmp_path / "p.a4d")
    assert again.current_id == "a1"
    assert (again.view.width, again.view.height) == (64, 48)
    assert_documents_equal(document, again)


@pytest.mark.parametrize("current", ["nope", None, 7])
def test_a_current_id_naming_no_layer_leaves_no_current_layer(tmp_path, current):
    path = tmp_path / "p.a4d"
    save_project(small_document(), path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    manifest["current"] = current
    _write_archive(path, manifest, members)
    assert load_project(path).current_id is None


def test_a_missing_current_key_leaves_no_current_layer(tmp_path):
    path = tmp_path / "p.a4d"
    save_project(small_document(), path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    del manifest["current"]
    _write_archive(path, manifest, members)
    assert load_project(path).current_id is None


# ------------------------------------------------------------------------------ manifest checks
def points_payload(tmp_path) -> bytes:
    """A valid point-cloud PLY payload (three points)."""
    from scene.io import save

    save(tmp_path / "points.ply", PointCloud(np.eye(3)))
    return (tmp_path / "points.ply").read_bytes()


def _points_manifest(payload="layers/0000.ply", **layer):
    entry = {"kind": "points", "payload": payload, **layer}
    return {"format": "atelier4d-project", "schema_version": 1, "layers": [entry]}


@pytest.mark.parametrize(
    "manifest_bytes, message",
    [
        (b"{not json", r"the manifest is not valid JSON \(Expecting .*\)"),
        (b"\xff\xfe{}", r"the manifest is not valid JSON \('utf-8' codec .*\)"),
        (b"[1, 2]", r"not an Atelier4D project \(wrong manifest format\)"),
        (b'{"format": "atelier", "schema_version": 1, "layers": []}', r"not an Atelier4D project \(wrong .*\)"),
        (b'{"format": "atelier4d-project", "schema_version": "1", "layers": []}', "invalid schema_version '1'"),
        (b'{"format": "atelier4d-project", "schema_version": 0, "layers": []}', "invalid schema_version 0"),
        (b'{"format": "atelier4d-project", "layers": []}', "invalid schema_version None"),
        (
            b'{"format": "atelier4d-project", "schema_version": 3, "layers": []}',
            r"written by a newer Atelier4D \(schema 3; this version reads up to 2\)",
        ),
        (b'{"format": "atelier4d-project", "schema_version": 1, "layers": {}}', "the manifest has no layer list"),
        (b'{"format": "atelier4d-project", "schema_version": 1}', "the manifest has no layer list"),
        (b'{"format": "atelier4d-project", "schema_version": 1, "layers": ["x"]}',
         "a layer entry in the manifest is not an object"),  # fmt: skip
    ],
)
def test_malformed_manifests_are_refused(tmp_path, manifest_bytes, message):
    path = tmp_path / "bad.a4d"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest_bytes)
    assert_refused(path, message)


def test_a_zip_without_a_manifest_is_refused(tmp_path):
    path = tmp_path / "other.a4d"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert_refused(path, r"not an Atelier4D project \(manifest.json is missing\)")


def test_a_missing_project_file_is_refused(tmp_path):
    assert_refused(tmp_path / "absent.a4d", "no such file")
    (tmp_path / "folder.a4d").mkdir()
    assert_refused(tmp_path / "folder.a4d", "no such file")


def test_a_payload_cut_short_cannot_be_read(tmp_path):
    """A member whose recorded size runs past the end of the file: reading it hits the end."""
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(), {"layers/0000.ply": points_payload(tmp_path)})
    _forge_sizes(path, "layers/0000.ply", 10**6, 10**6)
    assert_refused(path, r"cannot read the project \(.*\)")


def test_a_missing_payload_is_named(tmp_path):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest("layers/0001.ply"), {"layers/0000.ply": b"ply"})
    assert_refused(path, "the payload layers/0001.ply named by the manifest is missing")


def test_an_empty_project_loads(tmp_path):
    path = tmp_path / "empty.a4d"
    save_project(Document(), path)
    document = load_project(path)
    assert document.layers == () and document.current_id is None and document.view is None


def test_manifest_size_limit_is_inclusive(tmp_path, monkeypatch):
    """A manifest of exactly MAX_MANIFEST_BYTES loads; one byte more is refused before it is read."""
    path = tmp_path / "p.a4d"
    save_project(Document(), path)
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo("manifest.json").file_size
    monkeypatch.setattr(project_io, "MAX_MANIFEST_BYTES", size)
    assert load_project(path).layers == ()
    monkeypatch.setattr(project_io, "MAX_MANIFEST_BYTES", size - 1)
    assert_refused(path, f"the manifest is {size} bytes, more than a project's can be")


def test_member_size_limit_is_inclusive(tmp_path, monkeypatch):
    payload = points_payload(tmp_path)
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(), {"layers/0000.ply": payload})
    monkeypatch.setattr(project_io, "MAX_MEMBER_BYTES", len(payload))
    assert load_project(path).layers[0].kind == "points"
    monkeypatch.setattr(project_io, "MAX_MEMBER_BYTES", len(payload) - 1)
    assert_refused(path, f"the payload layers/0000.ply claims {len(payload)} bytes; refusing absurd sizes")


# ------------------------------------------------------------------------------ payload names and sizes
@pytest.mark.parametrize("name", [None, "", 12, ["layers/0000.ply"]])
def test_a_payload_name_that_is_not_a_string_is_refused(tmp_path, name):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(name))
    assert_refused(path, f"a layer names an invalid payload {re.escape(repr(name))}")


@pytest.mark.parametrize("name", ["\\layers\\0000.ply", "layers\\0000.ply", "c:0000.ply", "/layers/0000.ply"])
def test_backslashes_drives_and_absolute_names_are_refused(tmp_path, name):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(name), {name: b"ply"})
    assert_refused(path, f"the payload name {re.escape(repr(name))} escapes the archive; refusing to open it")


@pytest.mark.parametrize("name", ["layers/a:b.ply", "layers/a..b.ply", "layers/0000.PLY", "0000.ply"])
def test_unusual_but_safe_payload_names_load(tmp_path, name):
    """Only a drive-like first part, a '..' part, a backslash or a leading slash is refused;
    the payload type is read case-insensitively."""
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(name), {name: points_payload(tmp_path)})
    assert load_project(path).layers[0].data.count == 3


def test_an_unsupported_payload_type_is_named(tmp_path):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest("layers/0000.Obj"), {"layers/0000.Obj": b"v 0 0 0"})
    assert_refused(path, r"the payload layers/0000.Obj has an unsupported type '\.obj'")


def _forge_sizes(path, name: str, file_size: int, compress_size: int) -> None:
    """Rewrite the central-directory sizes of member ``name`` (what the checks read before any data)."""
    data = bytearray(path.read_bytes())
    start = data.index(b"PK\x01\x02")
    while True:
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length] == name.encode():
            break
        start = data.index(b"PK\x01\x02", start + 4)
    data[start + 20 : start + 28] = compress_size.to_bytes(4, "little") + file_size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "file_size, compress_size, refused",
    [
        (2**26, 1, False),  # 64 MiB exactly: small enough to be trusted whatever the ratio
        (200 * 2**19, 2**19, False),  # 100 MiB at a ratio of exactly 200
        (200 * 2**19 + 1, 2**19, True),  # just over 200
        (2**26 + 1, 2**18, True),  # just over 64 MiB at a ratio of 256
        (2**27, 2**27, False),  # a big member stored uncompressed
    ],
)
def test_compression_ratio_limit(tmp_path, file_size, compress_size, refused):
    """Members over 64 MiB compressed more than 200:1 are refused as zip bombs, before any data is read."""
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest("layers/0000.txt"), {"layers/0000.txt": b"data"})
    _forge_sizes(path, "layers/0000.txt", file_size, compress_size)
    if refused:
        assert_refused(path, r"the payload layers/0000.txt is suspiciously compressed \(a zip bomb\?\); refusing it")
    else:
        assert_refused(path, "the payload layers/0000.txt has an unsupported type '.txt'")


# ------------------------------------------------------------------------------ layer settings
def test_payload_errors_carry_the_layer_and_member_but_not_the_scratch_path(tmp_path):
    path = tmp_path / "bad.a4d"
    _write_archive(path, _manifest(), {"layers/0000.ply": b"not a ply at all"})
    assert_refused(path, r"layer 'L' \(layers/0000\.ply\): [^/]+")


def test_missing_layer_settings_take_their_defaults(tmp_path):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(), {"layers/0000.ply": points_payload(tmp_path)})
    layer = load_project(path).layers[0]
    assert (layer.name, layer.visible, layer.transform, layer.display) == ("Layer", True, Transform(), LayerDisplay())
    assert re.fullmatch("[0-9a-f]{32}", layer.id)


def test_layer_settings_are_read(tmp_path):
    path = tmp_path / "p.a4d"
    manifest = _points_manifest(
        id=17, name="Cloud", visible=0, transform=Transform([4, 5, 6]).to_dict(), display={"splat_scale": 3}
    )
    _write_archive(path, manifest, {"layers/0000.ply": points_payload(tmp_path)})
    layer = load_project(path).layers[0]
    assert (layer.id, layer.name, layer.visible) == ("17", "Cloud", False)
    assert layer.transform == Transform([4, 5, 6])
    assert layer.display == LayerDisplay(3.0, 1.0)


@pytest.mark.parametrize(
    "settings",
    [
        {"display": {"splat_scale": 0}},
        {"display": {"opacity_scale": "lots"}},
        {"display": "big"},
        {"display": [1, 2]},
        {"transform": {"translation": [0, 0, 0]}},
        {"transform": [1, 2, 3]},
    ],
)
def test_invalid_layer_settings_are_format_errors(tmp_path, settings):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(name="Cloud", **settings), {"layers/0000.ply": points_payload(tmp_path)})
    assert_refused(path, r"layer 'Cloud' has invalid settings \(.+\)")


def test_a_kind_mismatch_names_both_kinds(tmp_path):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(kind="splats", name="C"), {"layers/0000.ply": points_payload(tmp_path)})
    assert_refused(path, "layer 'C' says it is 'splats' but its payload holds points")


@pytest.mark.parametrize("view", [{"width": 10}, [1, 2], "camera"])
def test_an_invalid_view_camera_is_a_format_error(tmp_path, view):
    path = tmp_path / "p.a4d"
    _write_archive(path, {**_points_manifest(), "view": view}, {"layers/0000.ply": points_payload(tmp_path)})
    assert_refused(path, r"the saved view camera is invalid \(.+\)")


# ------------------------------------------------------------------------------ schema versions
def test_the_bundled_version_1_demo_still_loads():
    from assets import demo_project_path

    with zipfile.ZipFile(demo_project_path()) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["schema_version"] == 1 and "time" not in manifest
    document = load_project(demo_project_path())
    assert [layer.kind for layer in document.layers] == [entry["kind"] for entry in manifest["layers"]]
    assert document.time == 0.0


def test_a_hand_written_version_1_file_loads(tmp_path):
    path = tmp_path / "v1.a4d"
    _write_archive(path, _points_manifest(name="old"), {"layers/0000.ply": points_payload(tmp_path)})
    (layer,) = load_project(path).layers
    assert (layer.name, layer.kind, layer.data.count) == ("old", "points", 3)


def test_the_document_time_round_trips(tmp_path):
    document = small_document()
    document.set_time(2.5)
    save_project(document, tmp_path / "p.a4d")
    assert load_project(tmp_path / "p.a4d").time == 2.5


@pytest.mark.parametrize("time", ["soon", None, True, [1.0], float("inf")])
def test_an_invalid_time_is_refused(tmp_path, time):
    path = tmp_path / "p.a4d"
    manifest = {**_points_manifest(), "schema_version": 2, "time": time}
    with zipfile.ZipFile(path, "w") as archive:  # json.dumps writes inf as Infinity, which Python reads back
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("layers/0000.ply", points_payload(tmp_path))
    assert_refused(path, rf"the saved time {re.escape(repr(time))} is not a finite number of seconds")


def test_an_unknown_kind_is_refused_naming_the_known_ones(tmp_path):
    path = tmp_path / "p.a4d"
    _write_archive(path, _points_manifest(kind="hologram", name="C"), {"layers/0000.ply": points_payload(tmp_path)})
    assert_refused(
        path,
        r"layer 'C': no payload kind named 'hologram'; known kinds: splats, mesh, points, clip.* "
        r"\(written by a newer Atelier4D or with a plug-in\?\)",
    )


# ------------------------------------------------------------------------------ playback settings
def test_the_playback_settings_round_trip(tmp_path):
    from scene.playback import Playback

    document = small_document()
    document.set_playback(fps=30.0, start=0.5, end=4.0, loop=False, speed=2.0)
    save_project(document, tmp_path / "p.a4d")
    with zipfile.ZipFile(tmp_path / "p.a4d") as archive:
        assert json.loads(archive.read("manifest.json"))["playback"] == {
            "fps": 30.0, "start": 0.5, "end": 4.0, "loop": False, "speed": 2.0,
        }
    assert load_project(tmp_path / "p.a4d").playback == Playback(30.0, 0.5, 4.0, False, 2.0)


def test_files_without_playback_settings_open_with_the_defaults(tmp_path):
    from scene.playback import Playback

    path = tmp_path / "old.a4d"
    _write_archive(path, {**_points_manifest(), "schema_version": 2, "time": 1.0}, {"layers/0000.ply": points_payload(tmp_path)})
    assert load_project(path).playback == Playback()
    from assets import demo_project_path

    assert load_project(demo_project_path()).playback == Playback()  # the bundled version 1 demo


@pytest.mark.parametrize(
    "playback, problem",
    [
        ({"fps": 0}, r"the timeline plays at 1 to 240 frames a second, got 0"),
        ({"start": 3.0, "end": 1.0}, r"the out point \(1 s\) must come after the in point \(3 s\)"),
        ([24], r"playback settings must be an object, got list"),
        ({"speed": "fast"}, r"Playback.speed must be a finite number, got 'fast'"),
    ],
)
def test_invalid_playback_settings_are_refused(tmp_path, playback, problem):
    path = tmp_path / "p.a4d"
    _write_archive(path, {**_points_manifest(), "playback": playback}, {"layers/0000.ply": points_payload(tmp_path)})
    assert_refused(path, rf"the saved playback settings are invalid \({problem}\)")
