"""Readers under hostile input: malformed project manifests, shared and bomb payloads, ``info`` on a big
PLY, and property-based fuzzing of the PLY (binary and ASCII), ``.splat`` and ``.a4d`` readers.

The fuzzing machinery (settings, memory bound, mutations) is ``tests.faults.fuzzing``; a longer campaign:
``A4D_FUZZ_EXAMPLES=5000 pytest tests/faults/test_readers.py -k fuzz -p no:cacheprovider``.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scene import Document, GaussianCloud, Layer, MeshAsset
from scene.io import FormatError, load, save
from scene.io.ply import splat_ply_fields
from scene.io.project import load_project, save_project
from scene.points import PointCloud
from tests.faults.fuzzing import FUZZ, json_values, mutate, within_memory

def _cloud(n: int, degree: int = 0, seed: int = 0) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    return GaussianCloud.create(
        rng.normal(size=(n, 3)), rng.uniform(0.01, 0.1, (n, 3)), rng.uniform(size=(n, 3)),
        rng.uniform(0.2, 0.9, n), quats=rng.normal(size=(n, 4)), sh_degree=degree,
    )


def _project_bytes(document: Document) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.a4d"
        save_project(document, path)
        return path.read_bytes()


def _rezip(original: bytes, manifest: object | str | None = None, extra: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    """``original``'s members with the manifest replaced (a JSON value, or raw text) and members added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == "manifest.json" and manifest is not None:
                text = manifest if isinstance(manifest, str) else json.dumps(manifest)
                target.writestr("manifest.json", text)
            else:
                target.writestr(info, source.read(info))
        for name, (data, compression) in (extra or {}).items():
            target.writestr(name, data, compress_type=compression)
    return out.getvalue()


@pytest.fixture(scope="module")
def small_project() -> bytes:
    document = Document()
    document.add_layer(Layer("rock", _cloud(20, 1)))
    document.add_layer(Layer("floor", MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])))
    return _project_bytes(document)


def _manifest(project: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(project)) as archive:
        return json.loads(archive.read("manifest.json"))


# ------------------------------------------------------------------------------ project manifests
def _mutations(manifest: dict) -> list[object]:
    layer = manifest["layers"][0]
    deep = "[" * 100_000 + "]" * 100_000
    return [
        {**manifest, "paths": json.loads("[" * 100 + "]" * 100)},  # parses, but deeper than any project
        '{"format": "atelier4d-project", "schema_version": 2, "layers": ' + deep + "}",
        '{"format": "atelier4d-project", "schema_version": 2, "layers": [], "view": ' + "{\"a\": " * 5000 + "1" + "}" * 5000 + "}",
        {**manifest, "view": [1, 2, 3]},
        {**manifest, "view": "front"},
        {**manifest, "playback": [24]},
        {**manifest, "playback": "fast"},
        {**manifest, "paths": [1]},
        {**manifest, "paths": [{"id": "a", "name": "p", "path": [1]}]},
        {**manifest, "time": [0]},
        {**manifest, "layers": [1]},
        {**manifest, "layers": [{**layer, "display": [1]}]},
        {**manifest, "layers": [{**layer, "display": {"splat_scale": [1]}}]},
        {**manifest, "layers": [{**layer, "transform": "x"}]},
        {**manifest, "layers": [{**layer, "transform": {"translation": "abc"}}]},
        {**manifest, "layers": [{**layer, "provenance": "x"}]},
        {**manifest, "layers": [{**layer, "provenance": {"engine": 1, "config": [], "models": 3}}]},
        {**manifest, "layers": [{**layer, "kind": ["splats"]}]},
        {**manifest, "layers": [{**layer, "payload": 7}]},
        {**manifest, "layers": [{**layer, "name": {"a": 1}, "kind": 3}]},
        {**manifest, "layers": [{**layer, "id": [1]}, {**layer, "id": [1]}]},
        {**manifest, "layers": [layer, layer]},  # the same id twice
    ]


def test_every_malformed_manifest_is_one_format_error(small_project, tmp_path):
    wrong = []
    for index, mutation in enumerate(_mutations(_manifest(small_project))):
        path = tmp_path / f"m{index}.a4d"
        path.write_bytes(_rezip(small_project, mutation))
        try:
            load_project(path)
            wrong.append(f"case {index}: opened")
        except FormatError as exc:
            if not str(exc).startswith(str(path)) or "\n" in str(exc) or "Error" in exc.problem:
                wrong.append(f"case {index}: {exc}")  # one line, naming the file, no Python exception names
        except Exception as exc:  # noqa: BLE001 - the defect: anything else escaping
            wrong.append(f"case {index}: {type(exc).__name__}: {exc}")
    assert not wrong, "\n".join(wrong)


def test_many_layers_share_one_decoded_payload(tmp_path):
    document = Document()
    document.add_layer(Layer("big", _cloud(16_000, 3)))  # ~4 MB of splats
    original = _project_bytes(document)
    manifest = _manifest(original)
    layer = manifest["layers"][0]
    manifest["layers"] = [{**layer, "id": f"l{i}", "name": f"copy {i}"} for i in range(60)]
    path = tmp_path / "shared.a4d"
    path.write_bytes(_rezip(original, manifest))
    payload = document.layers[0].data.means.nbytes * (1 + 3 + 4 + 1 + 48) // 3  # every array of the cloud
    tracemalloc.start()
    try:
        opened = load_project(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(opened.layers) == 60
    assert all(layer.data is opened.layers[0].data for layer in opened.layers)
    assert peak < 4 * payload, f"{peak / 2**20:.0f} MB to open 60 references to a {payload / 2**20:.1f} MB payload"


def _bytes_written() -> int:
    """What this process has written through write() so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


@pytest.mark.parametrize("suffix", [".ply", ".glb"])
def test_a_payload_that_inflates_past_its_header_stops_early(small_project, tmp_path, suffix):
    """A member whose own header describes a tiny payload but that inflates to 48 MB (1000:1,
    under the old ratio rule's 64 MB floor) is refused before it is written out."""
    if suffix == ".ply":
        header = b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\n" \
                 b"property float z\nend_header\n"
    else:
        header = b"glTF" + struct.pack("<II", 2, 100)
    member = header + bytes(48 << 20)
    manifest = _manifest(small_project)
    kind = "points" if suffix == ".ply" else "mesh"
    manifest["layers"] = [{"id": "b", "name": "bomb", "kind": kind, "payload": f"layers/bomb{suffix}"}]
    path = tmp_path / "bomb.a4d"
    path.write_bytes(_rezip(small_project, manifest, {f"layers/bomb{suffix}": (member, zipfile.ZIP_DEFLATED)}))
    before = _bytes_written()
    with pytest.raises(FormatError, match="header") as caught:
        load_project(path)
    written = _bytes_written() - before
    assert written < 4 << 20, f"{written / 2**20:.0f} MB written before the payload was refused"
    assert "bomb" in str(caught.value)


# ------------------------------------------------------------------------------ info on a big PLY
def _write_big_splat_ply(path: Path, blocks: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A degree-3 splat PLY of ``blocks * rows`` splats written block by block; its bounds."""
    fields = splat_ply_fields(3)
    rng = np.random.default_rng(1)
    lo, hi = np.full(3, np.inf, np.float32), np.full(3, -np.inf, np.float32)
    with open(path, "wb") as handle:
        header = ["ply", "format binary_little_endian 1.0", f"element vertex {blocks * rows}"]
        handle.write(("\n".join(header + [f"property float {f}" for f in fields] + ["end_header"]) + "\n").encode())
        first = rng.normal(size=(rows, len(fields))).astype("<f4")
        for block in range(blocks):
            table = first.copy()
            table[:, :3] += block  # each block elsewhere
            lo, hi = np.minimum(lo, table[:, :3].min(0)), np.maximum(hi, table[:, :3].max(0))
            table.tofile(handle)
    return lo, hi


def test_info_on_a_million_splats_reads_in_bounded_memory(tmp_path):
    path = tmp_path / "big.ply"
    lo, hi = _write_big_splat_ply(path, 16, 1 << 16)  # 1,048,576 SH-3 splats, 260 MB
    script = (
        "import argparse, sys\n"
        "from studio.commands import info\n"
        "info.run(argparse.Namespace(path=__import__('pathlib').Path(sys.argv[1]), json=True))\n"
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) // 1024)\n"
    )  # VmHWM: the peak of this process's own memory (ru_maxrss can carry the parent's over a vfork+exec)
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summary_line, peak_mb = result.stdout.splitlines()
    summary = json.loads(summary_line)
    assert (summary["kind"], summary["count"], summary["sh_degree"]) == ("splats", 1 << 20, 3)
    np.testing.assert_array_equal(np.float32(summary["bounds_min"]), lo)
    np.testing.assert_array_equal(np.float32(summary["bounds_max"]), hi)
    assert int(peak_mb) < 150, f"info took {peak_mb} MB"


def test_info_from_the_header_says_what_loading_says(tmp_path, capsys):
    """The streamed summary of a splat PLY equals the one of the loaded cloud, over several blocks."""
    from studio.commands import info

    path = tmp_path / "blocks.ply"
    _write_big_splat_ply(path, 3, 40_000)
    info.run(argparse.Namespace(path=path, json=True))
    assert json.loads(capsys.readouterr().out) == {"kind": "splats", "path": str(path), **info.describe(load(path))}


# ------------------------------------------------------------------------------ fuzzing
def _ply_bytes(kind: str, encoding: str) -> bytes:
    rng = np.random.default_rng(2)
    payload = {
        "splats": lambda: _cloud(12, 1),
        "mesh": lambda: MeshAsset(rng.normal(size=(5, 3)), [[0, 1, 2], [2, 3, 4]], vertex_colors=np.full((5, 4), 0.5)),
        "points": lambda: PointCloud(rng.normal(size=(9, 3)), rng.uniform(size=(9, 3))),
    }[kind]()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.ply"
        save(path, payload)
        data = path.read_bytes()
    if encoding == "binary":
        return data
    from scene.io.ply_container import read_elements

    with tempfile.TemporaryDirectory() as folder:  # the same file written as ASCII
        path = Path(folder) / "x.ply"
        path.write_bytes(data)
        header, elements = read_elements(path, {"vertex", "face"})
    head = data[: header.data_offset].decode().replace("binary_little_endian", "ascii")
    rows = []
    for element in header.elements:
        values = elements[element.name]
        if isinstance(values, np.ndarray):
            rows += [" ".join(str(v) for v in row.tolist()) for row in values]
        else:
            counts, flat = values["vertex_indices"]
            rows += [f"{n} " + " ".join(map(str, flat[i * n : (i + 1) * n])) for i, n in enumerate(counts)]
    return (head + "\n".join(rows) + "\n").encode()


PLY_SAMPLES = {(k, e): _ply_bytes(k, e) for k in ("splats", "mesh", "points") for e in ("binary", "ascii")}


@FUZZ
@given(st.sampled_from(sorted(PLY_SAMPLES)), st.data())
def test_fuzz_ply(sample, data):
    within_memory(mutate(PLY_SAMPLES[sample], data.draw), ".ply")


@FUZZ
@given(st.data())
def test_fuzz_ply_huge_declared_counts(data):
    """Headers that promise billions of rows, with almost nothing behind them."""
    count = data.draw(st.sampled_from([10**6, 2**31 - 1, 2**32 + 5, 10**15]))
    encoding = data.draw(st.sampled_from(["ascii", "binary_little_endian", "binary_big_endian"]))
    lists = data.draw(st.booleans())
    fields = data.draw(st.sampled_from([["x", "y", "z"], splat_ply_fields(data.draw(st.integers(0, 3)))]))
    head = f"ply\nformat {encoding} 1.0\nelement vertex {count}\n" + "".join(f"property float {f}\n" for f in fields)
    if lists:
        head += "element face 3\nproperty list uint int vertex_indices\n"
    body = data.draw(st.binary(max_size=256))
    within_memory((head + "end_header\n").encode() + body, ".ply")


def test_a_splat_ply_claiming_billions_of_rows_is_refused_before_anything_is_sized(tmp_path):
    """The streamed splat reader checks the file's size before it sizes its table by the header's count
    (a refactoring that broke this was caught by the fuzzing; this pins it)."""
    path = tmp_path / "liar.ply"
    fields = "".join(f"property float {f}\n" for f in splat_ply_fields(1))
    path.write_bytes(f"ply\nformat binary_little_endian 1.0\nelement vertex {2**31 - 1}\n{fields}end_header\n".encode())
    with pytest.raises(FormatError, match="claims 2147483647 rows"):
        load(path)


def _splat_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        save(Path(folder) / "x.splat", _cloud(16))
        return (Path(folder) / "x.splat").read_bytes()


SPLAT_SAMPLE = _splat_bytes()


@FUZZ
@given(st.data())
def test_fuzz_splat(data):
    within_memory(mutate(SPLAT_SAMPLE, data.draw), ".splat")


@FUZZ
@given(st.data())
def test_fuzz_project(small_project, data):
    manifest = _manifest(small_project)
    choice = data.draw(st.sampled_from(["field", "layer_field", "bytes", "nested", "bomb"]))
    if choice == "field":
        key = data.draw(st.sampled_from(["format", "schema_version", "layers", "current", "time", "playback", "view", "paths"]))
        archive = _rezip(small_project, {**manifest, key: data.draw(json_values())})
    elif choice == "layer_field":
        key = data.draw(st.sampled_from(["id", "name", "kind", "visible", "transform", "display", "payload", "provenance"]))
        layers = [dict(layer) for layer in manifest["layers"]]
        layers[data.draw(st.integers(0, len(layers) - 1))][key] = data.draw(json_values())
        archive = _rezip(small_project, {**manifest, "layers": layers})
    elif choice == "nested":
        depth = data.draw(st.integers(10, 200_000))
        opener, closer = data.draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        key = data.draw(st.sampled_from(["layers", "view", "playback", "paths", "current"]))
        archive = _rezip(small_project, json.dumps({**manifest, key: 0}).replace(f'"{key}": 0', f'"{key}": ' + opener * depth + "1" + closer * depth, 1))
    elif choice == "bomb":
        suffix = data.draw(st.sampled_from([".ply", ".glb", ".npz"]))
        size = data.draw(st.sampled_from([1 << 20, 8 << 20]))
        member = data.draw(st.sampled_from([PLY_SAMPLES["points", "binary"][:200], b"glTF\x02\x00\x00\x00\x40\x00\x00\x00", b"PK\x03\x04"]))
        layers = [{"id": "b", "name": "b", "kind": data.draw(st.sampled_from(["points", "mesh", "clip"])), "payload": f"layers/b{suffix}"}]
        archive = _rezip(small_project, {**manifest, "layers": layers},
                         {f"layers/b{suffix}": (member + bytes(size), zipfile.ZIP_DEFLATED)})
    else:
        archive = mutate(small_project, data.draw)
    within_memory(archive, ".a4d", load_project)
