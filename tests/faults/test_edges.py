"""Edges of the promise: a project's ``.npz`` payload that inflates past its arrays, a frame pattern
rendered over a longer run, the studio's screenshot on a full disk, Ctrl-C while the command line is
still importing, a folder swap killed at every step, and the CLI's and studio's timeline videos
making the same frames."""

from __future__ import annotations

import functools
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from render.video import render_video
from scene import Document, Layer
from scene.camera import Camera
from scene.clip import ClipTiming, GaussianClip
from scene.io import FormatError, save
from scene.io.project import load_project, save_project
from tests.faults import report
from tests.faults.conftest import end_group, start_cli
from tests.faults.fuzzing import FUZZ, mutate, within_memory
from tests.scene.test_ply_sequence import moving
from tests.studio.conftest import cloud, cycles_collected_on_the_main_thread, make_window, user_folders, wait_idle  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def _bytes_written() -> int:
    """What this process has written through write() so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def _clip(fps: float = 12.0, offset: float = 0.0) -> GaussianClip:
    clip = GaussianClip.from_frames(moving(np.random.default_rng(3), frames=5, n=40), fps)
    return clip.replace(timing=ClipTiming(offset=offset))


# ----------------------------------------------------------------------------- 1. an .npz payload's cap
def _rezip(project: Path, member: str, data: bytes, compress_type: int = zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(project) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[member] = data
    with zipfile.ZipFile(project, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content, compress_type=compress_type)


def _padded_inside(arrays: bytes, padding: int) -> bytes:
    """The ``.npz`` ``arrays`` with its first array's member (stored) holding ``padding`` zeros past its data."""
    with zipfile.ZipFile(io.BytesIO(arrays)) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for index, (name, content) in enumerate(members):
            # dated 1980 (a bare ZipInfo): the same bytes each time, as hypothesis needs
            target.writestr(zipfile.ZipInfo(name), content + bytes(padding) if index == 0 else content)
    return out.getvalue()


@pytest.mark.parametrize("where", ["after the archive", "inside an array"])
def test_an_npz_payload_that_inflates_past_its_arrays_stops_early(tmp_path, where):
    """A hand-made project whose deflated ``.npz`` member holds a small clip and 48 MB of zeros (1000:1,
    under the ratio rule's 64 MB floor) is refused by the arrays' own headers before it is written out."""
    document = Document()
    document.add_layer(Layer("walk", _clip()))
    project = tmp_path / "walk.a4d"
    save_project(document, project)
    with zipfile.ZipFile(project) as archive:
        arrays = archive.read("layers/0000.npz")
    padded = arrays + bytes(48 << 20) if where == "after the archive" else _padded_inside(arrays, 48 << 20)
    _rezip(project, "layers/0000.npz", padded)
    report.tried("open .a4d", "npz bomb")
    before = _bytes_written()
    with pytest.raises(FormatError) as caught:
        load_project(project)
    written = _bytes_written() - before
    assert written < 4 << 20, f"{written / 2**20:.0f} MB written before the payload was refused"
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{project}: layer 'walk' (layers/0000.npz): ")


@functools.cache
def _clip_project() -> bytes:
    document = Document()
    document.add_layer(Layer("walk", _clip()))
    with tempfile.TemporaryDirectory() as folder:
        save_project(document, Path(folder) / "walk.a4d")
        return (Path(folder) / "walk.a4d").read_bytes()


@FUZZ
@given(st.data())
def test_fuzz_npz_payloads(data):
    """A clip project's ``.npz`` payload broken as a disk or a hostile author would, stored or deflated:
    one FormatError line at most, memory within the fuzz bound."""
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "walk.a4d"
        project.write_bytes(_clip_project())
        with zipfile.ZipFile(project) as archive:
            arrays = archive.read("layers/0000.npz")
        if data.draw(st.booleans()):
            arrays = _padded_inside(arrays, data.draw(st.sampled_from([1, 4096])))
        _rezip(project, "layers/0000.npz", mutate(arrays, data.draw),
               data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])))
        within_memory(project.read_bytes(), ".a4d", load_project)


def test_a_clip_project_still_opens(tmp_path):
    document = Document()
    document.add_layer(Layer("walk", _clip()))
    save_project(document, tmp_path / "walk.a4d")
    clip = load_project(tmp_path / "walk.a4d").layers[0].data
    np.testing.assert_array_equal(clip.frame(3).means, document.layers[0].data.frame(3).means)


# ----------------------------------------------------------------------------- 2. frame patterns
class _BlankRenderer:
    """Stands in for the GL renderer: black frames, and a failure at frame ``fail_at`` (when set)."""

    fail_at: int | None = None
    times: list[float] = []

    def __init__(self) -> None:
        self.count = 0

    def render(self, document, camera, settings) -> np.ndarray:
        if self.count == self.fail_at:
            raise RuntimeError("the renderer failed")
        self.count += 1
        _BlankRenderer.times.append(document.time)
        return np.zeros((camera.height, camera.width, 3), np.uint8)

    def release(self) -> None:
        pass


@pytest.fixture
def blank(monkeypatch):
    import render.video

    monkeypatch.setattr(_BlankRenderer, "times", [])
    monkeypatch.setattr(_BlankRenderer, "fail_at", None)
    monkeypatch.setattr(render.video, "OffscreenRenderer", _BlankRenderer)
    return _BlankRenderer


def test_a_frame_pattern_over_a_longer_run_keeps_only_this_runs_frames(blank, tmp_path):
    shots = tmp_path / "shots"
    pattern = shots / "frame_%04d.png"
    cameras = [Camera.look_at((0, 0, 5), (0, 0, 0), width=8, height=6)] * 10
    render_video(Document(), pattern, cameras)
    others = {"notes.txt": b"mine", "frame_12.png": b"not of the pattern", "frame_0001.jpg": b"another type",
              "take_0003.png": b"another pattern"}
    for name, content in others.items():
        (shots / name).write_bytes(content)
    old = {p.name: p.read_bytes() for p in shots.iterdir()}

    blank.fail_at = 2  # a failing run changes nothing
    report.tried("render frame pattern", "renderer fails")
    with pytest.raises(RuntimeError):
        render_video(Document(), pattern, cameras[:4])
    assert {p.name: p.read_bytes() for p in shots.iterdir()} == old

    blank.fail_at = None
    written = render_video(Document(), pattern, cameras[:4])
    assert [p.name for p in written] == [f"frame_{i:04d}.png" for i in range(4)]
    assert sorted(p.name for p in shots.iterdir()) == sorted([p.name for p in written] + list(others))
    assert all((shots / name).read_bytes() == content for name, content in others.items())


@pytest.mark.parametrize("name", ["frame_%04d_%04d.png", "frame_%s.png", "frame_%x.png"])
def test_a_pattern_without_one_frame_number_is_refused(blank, tmp_path, name):
    cameras = [Camera.look_at((0, 0, 5), (0, 0, 0), width=8, height=6)] * 2
    (tmp_path / "shots").mkdir()
    with pytest.raises(ValueError, match="one frame number"):
        render_video(Document(), tmp_path / "shots" / name, cameras)
    assert list((tmp_path / "shots").iterdir()) == []


# ----------------------------------------------------------------------------- 3. the studio's screenshot
def test_the_screenshot_is_written_whole_or_not_at_all(make_window, tmp_path):
    window = make_window()
    document = Document()
    document.add_layer(Layer("rock", cloud(200)))
    window.set_document(document)
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"the previous screenshot")
    shot.chmod(0o444)  # read-only, in a writable folder: replaced, as mv would
    assert window.export_screenshot(shot) and window.errors == []
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_mode & 0o777 == 0o444
    good = shot.read_bytes()

    report.tried("studio screenshot", "full disk")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(good) // 2, hard))
    try:
        assert not window.export_screenshot(shot)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert shot.read_bytes() == good
    full = "the disk is full or the file is larger than this disk or account allows"
    assert window.errors == [f"Screenshot failed: {shot}: {full}"]

    report.tried("studio screenshot", "output in the way")
    window.errors.clear()
    (tmp_path / "folder.png").mkdir()
    assert not window.export_screenshot(tmp_path / "folder.png")
    assert window.errors == [f"Screenshot failed: {tmp_path / 'folder.png'}: is a folder; name a file"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp file left


# ----------------------------------------------------------------------------- 4. Ctrl-C while importing
@pytest.mark.parametrize("delay", [0.15, 0.25, 0.35, 0.5])
def test_ctrl_c_while_the_command_line_imports_is_one_line(tmp_path, delay):
    """SIGINT lands while ``studio.cli`` imports (half a second to seconds): status 130 and one line, never
    a traceback. (The interpreter's own start, its first 30-80 ms, runs no code of ours: out of reach.)"""
    scene = tmp_path / "rock.ply"
    save(scene, cloud(50))
    report.tried("info", "SIGINT while importing")
    process = start_cli(["info", scene])
    try:
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        end_group(process)
    assert "Traceback" not in err, err
    assert (process.returncode, err) == (130, "atelier4d: interrupted\n")


# ----------------------------------------------------------------------------- 5. a folder swap killed at every step
_SWAP_RUNS = textwrap.dedent("""
    import json, os, shutil, signal, sys
    from pathlib import Path
    from scene.io.atomic import atomic_folder

    target, kills = Path(sys.argv[1]), sys.argv[2] == "kill"

    def swap(kill_at):
        events = 0

        def trace(frame, event, arg):  # SIGKILL at the kill_at-th line run once the new folder is written
            nonlocal events
            if frame.f_code.co_filename.endswith(os.path.join("scene", "io", "atomic.py")):
                if event == "line":
                    if events == kill_at:
                        os.kill(os.getpid(), signal.SIGKILL)
                    events += 1
                return trace
            return None

        with atomic_folder(target) as staging:
            for name in ("frame.txt", "other.txt"):
                (staging / name).write_text("new")
            sys.settrace(trace)
        sys.settrace(None)

    if not kills:
        swap(-1)
    for kill_at in range(1000 if kills else 0):  # each in a forked run: killed at step kill_at, until one ends
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for name in ("frame.txt", "other.txt"):
            (target / name).write_text("old")
        pid = os.fork()
        if pid == 0:
            swap(kill_at)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        contents = {p.name: p.read_text() for p in target.iterdir()} if target.is_dir() else None
        print(json.dumps([os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, contents]), flush=True)
        if not os.WIFSIGNALED(status):
            break
""")


def test_a_folder_swap_killed_at_any_step_leaves_the_old_or_the_new_folder(tmp_path):
    target = tmp_path / "renders" / "frames"
    target.parent.mkdir()
    child = subprocess.run([sys.executable, "-c", _SWAP_RUNS, str(target), "kill"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    runs = [json.loads(line) for line in child.stdout.splitlines()]
    old, new = {"frame.txt": "old", "other.txt": "old"}, {"frame.txt": "new", "other.txt": "new"}
    for step, (killed, contents) in enumerate(runs):
        assert contents in (old, new), f"killed at step {step}: the folder holds {contents}"
    assert [killed for killed, _ in runs] == [True] * (len(runs) - 1) + [False] and runs[-1][1] == new
    assert len(runs) > 5  # the swap was killed at several steps
    report.tried("folder swap", "SIGKILL", len(runs) - 1)
    subprocess.run([sys.executable, "-c", _SWAP_RUNS, str(target), "once"], cwd=ROOT, check=True, timeout=60)
    assert sorted(p.name for p in target.parent.iterdir()) == ["frames"]  # the killed swaps' leftovers are gone


# ----------------------------------------------------------------------------- 6, 7. timeline videos
@pytest.fixture
def timeline_project(tmp_path) -> Path:
    """A clip starting at 0.5 s in a document whose timeline plays 0.2-0.64 s at 10 fps: 4.4 frames' worth."""
    document = Document()
    document.add_layer(Layer("walk", _clip(fps=12.0, offset=0.5)))
    document.set_playback(fps=10.0, start=0.2, end=0.64)
    path = tmp_path / "walk.a4d"
    save_project(document, path)
    return path


def test_the_cli_timeline_video_plays_the_documents_play_range(blank, timeline_project, tmp_path):
    from studio.cli import main

    assert main(["render", str(timeline_project), "--video", str(tmp_path / "frames"), "--size", "8x6", "--fps", "10"]) == 0
    np.testing.assert_allclose(blank.times, [0.2, 0.3, 0.4, 0.5, 0.6])  # every frame starting within 0.2-0.64 s
    assert len(list((tmp_path / "frames").iterdir())) == 5


def test_the_cli_and_the_studio_make_the_same_timeline_frames(blank, make_window, qtbot, timeline_project, tmp_path):
    from studio.cli import main

    window = make_window()
    window.set_document(load_project(timeline_project))
    window.export_timeline_video(tmp_path / "studio.mp4")
    wait_idle(qtbot, window, timeout=60000)
    assert window.errors == []
    studio_times = list(blank.times)
    blank.times.clear()
    assert main(["render", str(timeline_project), "--video", str(tmp_path / "cli"), "--size", "8x6", "--fps", "10"]) == 0
    np.testing.assert_allclose(blank.times, studio_times)
    assert len(studio_times) == 5
