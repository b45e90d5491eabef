"""Every writer under file-system faults, through the real command: a full disk (RLIMIT_FSIZE in the
child), the output's name taken by a folder (or a file where a folder goes), a folder without write
permission, a read-only file to replace, and ffmpeg failing or writing a broken video.

The promise checked: the old output intact (every byte of the output's folder, so no ``.part`` file
or half-written set either) or the new one complete; exit status 1 and one line naming the user's path.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable

import imageio.v2 as imageio
import numpy as np
import pytest

from scene import GaussianCloud, MeshAsset
from scene.clip import GaussianClip
from scene.io import save
from scene.io.ply_sequence import write_ply_sequence
from studio.cli import main
from tests.faults import report
from tests.faults.conftest import CLI, KILL_SEED, KILLS, end_group, run_cli, start_cli
from tests.render.conftest import offscreen  # noqa: F401  (a fixture)
from tests.scene.test_ply_sequence import moving

FULL_AFTER = 1024
"""Bytes a file may grow to on the "full disk": more than an OBJ's texture and material, less than
every writer's main file (checked by ``test_the_full_disk_hits_every_writer``)."""


def splats(seed: int) -> GaussianCloud:
    """40 splats: a PLY body under C's 4 KiB file buffer, whose failed flush numpy's ``tofile`` drops."""
    rng = np.random.default_rng(seed)
    return GaussianCloud.create(
        rng.normal(size=(40, 3)), rng.uniform(0.05, 0.3, (40, 3)), rng.uniform(size=(40, 3)), rng.uniform(0.5, 0.9, 40)
    )


def textured_grid(seed: int) -> MeshAsset:
    """A 10x10 grid textured with one colour: a long OBJ with a tiny PNG and MTL beside it."""
    u, v = np.meshgrid(np.linspace(0, 1, 10), np.linspace(0, 1, 10))
    uvs = np.stack([u.ravel(), v.ravel()], axis=1)
    vertices = np.concatenate([uvs, np.full((100, 1), float(seed))], axis=1)
    quads = np.array([[r * 10 + c, r * 10 + c + 1, r * 10 + c + 11, r * 10 + c + 10] for r in range(9) for c in range(9)])
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    texture = np.full((8, 8, 3), (200, 40 + 100 * seed, 30), np.uint8)
    return MeshAsset(vertices, faces, uvs=uvs, texture=texture)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Two versions (0: the old output's source, 1: the new one's) of each kind of input."""
    folder = tmp_path_factory.mktemp("inputs")
    for seed in (0, 1):
        save(folder / f"cloud{seed}.ply", splats(seed))
        save(folder / f"mesh{seed}.glb", textured_grid(seed))
        clip = GaussianClip.from_frames(moving(np.random.default_rng(seed), frames=2, n=20), fps=24)
        write_ply_sequence(clip, folder / f"seq{seed}")
        assert main(["convert", str(folder / f"seq{seed}"), str(folder / f"clip{seed}.a4d")]) == 0
    return folder


Command = Callable[[Path, Path, int], list]
WRITERS: dict[str, tuple[str, Command]] = {  # the output's name, and the command writing it from version v
    "ply": ("out.ply", lambda i, out, v: ["convert", i / f"cloud{v}.ply", out]),
    "splat": ("out.splat", lambda i, out, v: ["convert", i / f"cloud{v}.ply", out]),
    "glb": ("out.glb", lambda i, out, v: ["convert", i / f"mesh{v}.glb", out]),
    "obj": ("set.obj", lambda i, out, v: ["convert", i / f"mesh{v}.glb", out]),
    "png": ("shot.png", lambda i, out, v: ["render", i / f"cloud{v}.ply", "--size", "64x48", "--out", out]),
    "frames": ("frames", lambda i, out, v: ["render", i / f"cloud{v}.ply", "--size", "64x48", "--orbit", "2", "--out", out]),
    "mp4": ("turn.mp4", lambda i, out, v: ["render", i / f"cloud{v}.ply", "--size", "64x48", "--orbit", "3", "--out", out]),
    "a4d": ("scene.a4d", lambda i, out, v: ["convert", i / f"seq{v}", out]),
    "ply-sequence": ("seq", lambda i, out, v: ["convert", i / f"clip{v}.a4d", out]),
}
FOLDER_WRITERS = {"frames", "ply-sequence"}
FILE_WRITERS = sorted(set(WRITERS) - FOLDER_WRITERS)


def args_for(name: str, inputs: Path, out: Path, version: int) -> list[str]:
    return [str(a) for a in WRITERS[name][1](inputs, out, version)]


def command(name: str) -> str:
    """The writer as the fault report names it: the subcommand and what it writes ("convert obj")."""
    return f"{WRITERS[name][1](Path(), Path(), 0)[0]} {name}"


@pytest.fixture
def old_output(request, inputs, tmp_path) -> Callable[[str], Path]:
    """``old_output(writer)``: the writer's output of version 0 written in a fresh folder; its path."""

    def make(name: str) -> Path:
        if WRITERS[name][1](inputs, tmp_path, 0)[0] == "render":
            request.getfixturevalue("offscreen")  # skips without headless OpenGL
        out = tmp_path / "work" / WRITERS[name][0]
        out.parent.mkdir()
        assert main(args_for(name, inputs, out, 0)) == 0
        return out

    return make


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes; folders as empty entries."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"") for p in sorted(folder.rglob("*"))}


def assert_one_line_naming(err: str, out: Path) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("atelier4d: error: "), lines
    assert str(out) in lines[0], lines[0]
    assert ".part" not in lines[0], lines[0]
    return lines[0]


def without_file_override() -> None:
    """In a child run as root: give up root's licence to ignore file permissions (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH), so read-only files and folders stop it as they stop an artist."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # from linux/capability.h
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone from every program it runs
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_as_artist(args: list[str]) -> tuple[int, str, str]:
    """``atelier4d ARGS`` in a child process bound by file permissions even when the tests run as root."""
    process = subprocess.Popen([str(CLI), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: (os.setsid(), without_file_override()))
    try:
        out, err = process.communicate(timeout=120)
    finally:
        end_group(process)
    return process.returncode, out, err


# ----------------------------------------------------------------------------- a full disk
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_the_full_disk_hits_every_writer(writer, old_output) -> None:
    """The fault is real for each writer: its output has a file larger than the full disk allows."""
    out = old_output(writer)
    files = [p for p in out.parent.rglob("*") if p.is_file()]
    assert max(p.stat().st_size for p in files) > FULL_AFTER


FILL_AFTER_READING = f"""
import resource, sys
from studio.cli import main
from studio.commands import convert
read = convert.load_project
def read_then_fill(path):
    document = read(path)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({FULL_AFTER}, {FULL_AFTER}))
    return document
convert.load_project = read_then_fill
sys.exit(main(sys.argv[1:]))
"""
"""``atelier4d ARGS`` on a disk that fills once the input project is read (reading one unpacks its
payload to a temp file, larger than one frame of the PLY sequence written from it)."""


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_full_disk_keeps_the_old_output(writer, inputs, old_output) -> None:
    report.tried(command(writer), "full disk")
    out = old_output(writer)
    before = snapshot(out.parent)
    if writer == "ply-sequence":
        child = subprocess.run([sys.executable, "-c", FILL_AFTER_READING, *args_for(writer, inputs, out, 1)],
                               capture_output=True, text=True, timeout=120)
        status, stdout, err = child.returncode, child.stdout, child.stderr
    else:
        status, stdout, err = run_cli(args_for(writer, inputs, out, 1), rlimit_fsize=FULL_AFTER)
    assert status == 1 and "wrote" not in stdout
    assert snapshot(out.parent) == before  # the whole old set (OBJ + MTL + PNG, every frame), nothing added
    assert "disk" in assert_one_line_naming(err, out)


# ----------------------------------------------------------------------------- killed at any moment
@pytest.fixture(scope="module")
def finished(inputs, tmp_path_factory) -> Callable[[str], tuple[dict[str, bytes], float]]:
    """``finished(writer)``: its complete new output (a snapshot of its folder, written by the real
    command in a fresh folder) and how long that command ran, start-up included."""
    done: dict[str, tuple[dict[str, bytes], float]] = {}

    def get(name: str) -> tuple[dict[str, bytes], float]:
        if name not in done:
            out = tmp_path_factory.mktemp(name) / WRITERS[name][0]
            start = time.monotonic()
            status, _, err = run_cli(args_for(name, inputs, out, 1))
            assert status == 0, err
            done[name] = snapshot(out.parent), time.monotonic() - start
        return done[name]

    return get


def visible(files: dict[str, bytes]) -> dict[str, object]:
    """A folder's snapshot without hidden names (what a killed writer may leave until the next write
    there), a project as its members' bytes (a zip stamps each member with the time it was written)."""
    return {name: zip_members(data) if name.endswith(".a4d") else data for name, data in files.items() if not name.startswith(".")}


def zip_members(data: bytes) -> dict[str, object]:
    """A project's members by name, as two saves of one scene compare equal: an inner zip (a layer's
    ``.npz``) as its own members, the manifest with each layer's id (new each time a file is read) as
    the layer's place wherever it is named."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members: dict[str, object] = {name: archive.read(name) for name in archive.namelist()}
    for name, raw in members.items():
        if name.endswith(".npz"):
            members[name] = zip_members(raw)
        elif name == "manifest.json":
            manifest = json.loads(raw)
            places = {layer["id"]: f"layer {i}" for i, layer in enumerate(manifest["layers"])}
            members[name] = json.loads(raw, object_hook=lambda d: {k: places.get(v, v) if isinstance(v, str) else v for k, v in d.items()})
    return members


@pytest.mark.parametrize("kill", range(KILLS))
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_kill_at_any_moment_leaves_the_old_output_or_the_new(writer, kill, inputs, old_output, finished) -> None:
    """SIGKILL of the command (its whole group, an ffmpeg too) at a random moment of its run; every other
    moment falls in its last 40%, where it writes. The folder then holds the whole old output or the whole
    new one, and the next write there leaves exactly the new one (what the kill left is swept)."""
    report.tried(command(writer), "SIGKILL")
    new, took = finished(writer)
    out = old_output(writer)
    old = snapshot(out.parent)
    moment = random.Random(f"{KILL_SEED}-{writer}-{kill}").uniform(0.6 * took if kill % 2 else 0.0, took)
    cli = start_cli(args_for(writer, inputs, out, 1))
    try:
        time.sleep(moment)
        os.killpg(cli.pid, signal.SIGKILL)
    finally:
        end_group(cli)
    assert visible(snapshot(out.parent)) in (visible(old), visible(new)), f"killed after {moment:.2f} s"
    status, _, err = run_cli(args_for(writer, inputs, out, 1))  # the next run: a process of its own, as an artist's
    assert status == 0, err
    assert visible(snapshot(out.parent)) == visible(new) and set(snapshot(out.parent)) == set(new)


# ----------------------------------------------------------------------------- something in the way
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_folder_or_file_in_the_way_is_left_alone(writer, inputs, tmp_path, capsys, request) -> None:
    """A folder where a file goes (a file where a folder of frames goes) is refused and left as it was."""
    if WRITERS[writer][1](inputs, tmp_path, 0)[0] == "render":
        request.getfixturevalue("offscreen")
    report.tried(command(writer), "output in the way")
    out = tmp_path / WRITERS[writer][0]
    if writer in FOLDER_WRITERS:
        out.write_bytes(b"not a folder")
    else:
        out.mkdir()
        (out / "keep.txt").write_bytes(b"precious")
    before = snapshot(tmp_path)
    status = main(args_for(writer, inputs, out, 1))
    assert status == 1
    assert_one_line_naming(capsys.readouterr().err, out)
    assert snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- permissions
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_folder_without_write_permission_is_named(writer, inputs, old_output) -> None:
    report.tried(command(writer), "no permission")
    out = old_output(writer)
    before = snapshot(out.parent)
    out.parent.chmod(0o555)
    try:
        status, _, err = run_as_artist(args_for(writer, inputs, out, 1))
    finally:
        out.parent.chmod(0o755)
    assert status == 1
    assert "no permission to write in" in assert_one_line_naming(err, out)
    assert snapshot(out.parent) == before


@pytest.mark.parametrize("writer", FILE_WRITERS)
def test_a_read_only_file_is_replaced_like_mv_does(writer, inputs, old_output) -> None:
    """In a folder the artist may write in, a read-only output is replaced (the folder decides, as for
    ``mv``) and the new file is read-only too."""
    report.tried(command(writer), "read-only target")
    out = old_output(writer)
    old_files = {p.name: p.stat().st_ino for p in out.parent.iterdir()}
    old = out.read_bytes()
    for path in out.parent.iterdir():
        path.chmod(0o444)
    status, stdout, err = run_as_artist(args_for(writer, inputs, out, 1))
    assert (status, err) == (0, ""), err
    assert "wrote" in stdout and out.read_bytes() != old
    new_files = {p.name: p.stat().st_ino for p in out.parent.iterdir()}
    assert sorted(new_files) == sorted(old_files)  # the same set (OBJ + MTL + PNG), no temporary left
    assert all(new_files[name] != old_files[name] for name in old_files)  # every one of them replaced
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in out.parent.iterdir())


# ----------------------------------------------------------------------------- ffmpeg failing
def fake_ffmpeg(folder: Path, body: str) -> Path:
    """An executable shell script standing in for ffmpeg (imageio-ffmpeg runs what IMAGEIO_FFMPEG_EXE names)."""
    import imageio_ffmpeg

    script = folder / "ffmpeg"
    script.write_text(f"#!/bin/sh\nREAL='{imageio_ffmpeg.get_ffmpeg_exe()}'\nfor last; do :; done\n{body}\n")
    script.chmod(0o755)
    return script


FAKES = {
    "fails": 'printf broken > "$last"; echo "Unknown encoder" >&2; exit 1',
    "writes half a video": 'case " $* " in *" -i - "*) "$REAL" "$@"; status=$?; '
    'truncate -s 600 "$last"; exit $status;; esac; exec "$REAL" "$@"',
    "drops a frame": 'case " $* " in *" -i - "*) head -c 18432 | "$REAL" "$@"; exit $?;; esac; '  # 2 of 3 64x48 frames
    'exec "$REAL" "$@"',
}


@pytest.mark.parametrize("fake", sorted(FAKES))
def test_a_failing_encoder_keeps_the_old_video(fake, inputs, old_output, tmp_path, monkeypatch, capsys) -> None:
    report.tried(command("mp4"), "external tool failing")
    out = old_output("mp4")
    before = snapshot(out.parent)
    capsys.readouterr()
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake_ffmpeg(tmp_path, FAKES[fake])))
    status = main(args_for("mp4", inputs, out, 1))
    captured = capsys.readouterr()
    assert status == 1 and "wrote" not in captured.out
    assert "the video could not be written" in assert_one_line_naming(captured.err, out)
    assert snapshot(out.parent) == before


def test_a_video_is_checked_frame_by_frame_before_it_replaces_the_old(inputs, old_output) -> None:
    """The real encoder: the new video replaces the old one, and decodes to every frame."""
    out = old_output("mp4")
    old = out.read_bytes()
    assert main(args_for("mp4", inputs, out, 1)) == 0
    reader = imageio.get_reader(out)
    try:
        assert reader.count_frames() == 3
    finally:
        reader.close()
    assert out.read_bytes() != old and [p.name for p in out.parent.iterdir()] == [out.name]


def test_a_frames_folder_is_replaced_whole(inputs, old_output) -> None:
    """Fewer frames over a longer render: no old frame stays to mix with the new ones."""
    out = old_output("frames")
    assert main(["render", str(inputs / "cloud0.ply"), "--size", "32x24", "--orbit", "5", "--out", str(out)]) == 0
    assert main(args_for("frames", inputs, out, 1)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["frame_0000.png", "frame_0001.png"]
    assert [p.name for p in out.parent.iterdir()] == ["frames"]


# ----------------------------------------------------------------------------- the set and the message
def test_a_set_is_replaced_only_when_every_file_is_written(tmp_path) -> None:
    from scene.io import FormatError
    from scene.io.atomic import atomic_outputs

    names = [tmp_path / "set.obj", tmp_path / "set.mtl", tmp_path / "set.png"]
    for path in names:
        path.write_bytes(b"old " + path.name.encode())
    before = snapshot(tmp_path)
    with pytest.raises(FormatError, match=r"set\.obj: the disk is full"):
        with atomic_outputs(names) as temps:
            temps[0].write_bytes(b"new")
            temps[1].write_bytes(b"new")
            raise OSError(28, "No space left on device")  # ENOSPC, as a full disk raises it
    assert snapshot(tmp_path) == before


def test_any_other_file_system_error_is_one_line_naming_the_file(monkeypatch, capsys, inputs, tmp_path) -> None:
    from studio.commands import convert

    def refused(args) -> int:
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked.ply"))

    monkeypatch.setattr(convert, "run", refused)
    assert main(["convert", str(inputs / "cloud0.ply"), str(tmp_path / "out.splat")]) == 1
    assert capsys.readouterr().err == f"atelier4d: error: {tmp_path / 'locked.ply'}: permission denied\n"


def test_a_refused_write_is_still_an_os_error_so_an_engine_keeps_its_result(tmp_path) -> None:
    """Engines save a result elsewhere (the run folder) when its path fails with an OSError: the
    one-line FormatError a writer raises must still be one, for a folder in the way as for a full disk."""
    from engines.runtime.context import RunContext

    (tmp_path / "out.ply").mkdir()
    logged: list[str] = []
    ctx = RunContext(tmp_path / "run", on_log=lambda text, level: logged.append(text))
    written = ctx.save_output(lambda path: save(path, splats(0)), tmp_path / "out.ply", "result.ply")
    assert written == tmp_path / "run" / "out.ply" and written.is_file()
    assert f"{tmp_path / 'out.ply'}: is a folder" in logged[0]
