import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.make_demo import build_demo
from scene import Camera, Document, GaussianCloud, Layer, PointCloud, Transform
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
