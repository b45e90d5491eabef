"""An engine's results that go together (outpaint-scene's scene and its camera path; animate-4d's
project, frames and GLB) are put in place together or not at all: a full disk at the last of them
leaves the whole earlier set, never this run's scene beside an earlier run's path."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest

from engines.runtime.context import Output, RunContext
from scene.io import FormatError, load, save
from scene.io.ply_sequence import write_ply_sequence
from scene.clip import GaussianClip
from tests.faults import report
from tests.faults.test_writers import snapshot, splats
from tests.scene.test_ply_sequence import moving


def full_disk(path: Path) -> None:
    path.write_bytes(b"half")
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def clip(seed: int) -> GaussianClip:
    return GaussianClip.from_frames(moving(np.random.default_rng(seed), frames=2, n=20), fps=24)


@pytest.fixture
def earlier(tmp_path) -> Path:
    """An earlier run's set: a scene, its camera path and a folder of frames."""
    folder = tmp_path / "out"
    folder.mkdir()
    save(folder / "scene.ply", splats(0))
    (folder / "scene.path.json").write_text("the earlier path")
    write_ply_sequence(clip(0), folder / "frames")
    return folder


def test_a_failure_at_the_last_result_keeps_the_whole_earlier_set(earlier) -> None:
    report.tried("engine results", "full disk")
    before = snapshot(earlier)
    ctx = RunContext(None)
    with pytest.raises(FormatError, match=r"scene\.path\.json: the disk is full"):
        ctx.save_outputs([
            Output(lambda path: save(path, splats(1)), earlier / "scene.ply", "scene.ply"),
            Output(lambda path: write_ply_sequence(clip(1), path), earlier / "frames", "frames"),
            Output(full_disk, earlier / "scene.path.json", "scene.path.json"),
        ])
    assert snapshot(earlier) == before


def test_a_set_is_replaced_whole(earlier) -> None:
    ctx = RunContext(None)
    written = ctx.save_outputs([
        Output(lambda path: save(path, splats(1)), earlier / "scene.ply", "scene.ply"),
        Output(lambda path: write_ply_sequence(clip(1), path), earlier / "frames", "frames"),
        Output(lambda path: path.write_text("the new path"), earlier / "scene.path.json", "scene.path.json"),
    ])
    assert written == [earlier / "scene.ply", earlier / "frames", earlier / "scene.path.json"]
    assert sorted(p.name for p in earlier.iterdir()) == ["frames", "scene.path.json", "scene.ply"]
    assert (earlier / "scene.path.json").read_text() == "the new path"
    np.testing.assert_array_equal(load(earlier / "scene.ply").means, splats(1).means)


def test_a_set_the_artists_folder_refuses_goes_whole_to_the_run_folder(earlier, tmp_path) -> None:
    report.tried("engine results", "output in the way")
    (tmp_path / "blocked").write_bytes(b"a file where the artist's folder was")
    logged: list[str] = []
    ctx = RunContext(tmp_path / "run", on_log=lambda text, level: logged.append(text))
    written = ctx.save_outputs([
        Output(lambda path: save(path, splats(1)), tmp_path / "blocked" / "scene.ply", "scene.ply"),
        Output(lambda path: path.write_text("the new path"), tmp_path / "blocked" / "scene.path.json", "scene.path.json"),
    ])
    assert written == [tmp_path / "run" / "scene.ply", tmp_path / "run" / "scene.path.json"]
    assert (tmp_path / "run" / "scene.path.json").read_text() == "the new path"
    assert len(logged) == 1 and "saved in the run folder instead" in logged[0]
