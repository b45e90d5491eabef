"""Animate-4D: its settings, inputs that cannot serve, the frames cut alike, the motion stage
recovering a known motion under the oracle priors, and the engine end to end through the real
loading code on tiny video and novel-view models: from a picture in a worker, from a video file on
the command line, and animating a given splat object."""

import numpy as np
import pytest

from benches.animate_4d import bench
from engines.animate_4d import Animate4DConfig, animate_4d, frame_references
from engines.deformation_settings import DeformationSettings
from engines.fields import describe_fields
from engines.models import ModelError
from engines.reference_image import object_mask
from engines.runtime import JobManager, JobState, Log, Progress, RunContext, drain, load_checkpoint
from engines.video_input import read_video
from scene.clip import GaussianClip
from scene.io import save
from scene.io.ply_sequence import read_ply_sequence
from scene.io.project import load_project
from studio.cli import main
from tests.engines.test_image_to_3d import disc_picture
from tests.engines.test_video_input import disc_video
from tests.gltf_validator import validate
from tests.known_objects import striped_ball
from tests.tiny_models import tiny_model

SMALL = {"deformation": {"resolution": (8, 8, 8, 4), "levels": 1, "features": 4, "hidden": 8}}
"""A small deformation field for runs that only have to go through."""
QUICK = {"frames": 3, "steps": 2, "static_steps": 2, "size": 32, "init_points": 300, "video_size": 64, "video_steps": 2,
         "frames_per_step": 2, "snapshot_every": 1, **SMALL}
"""A run of a few steps at small sizes."""


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"video": tiny_model("video", root), "novel-view": tiny_model("novel-view", root)}


def clip_of(path) -> GaussianClip:
    """The clip of the one layer of the project at ``path``."""
    document = load_project(path)
    assert [layer.kind for layer in document.layers] == ["clip"]
    return document.layers[0].data


def test_the_inputs_lead_and_the_defaults_are_dreamgaussian4ds():
    keys = [spec.key for spec in describe_fields(Animate4DConfig)]
    assert keys[:7] == ["image", "video", "prompt", "object", "out", "frames_dir", "glb"]
    spec = {s.key: s for s in describe_fields(Animate4DConfig)}
    assert spec["video"].path == "file" and ".mp4" in spec["video"].extensions and spec["out"].extensions == (".a4d",)
    assert spec["video_model"].meta["model"] == "video" and spec["novel_view_model"].meta["model"] == "novel-view"
    config = Animate4DConfig(out="clip.a4d")
    assert (config.frames, config.steps, config.static_steps, config.size, config.guidance) == (14, 500, 500, 256, 5.0)
    assert config.deformation == DeformationSettings(resolution=(64, 64, 64, 25), levels=2, features=32, hidden=64)


def test_one_source_at_a_time(tmp_path):
    picture = disc_picture(tmp_path / "disc.png")
    with pytest.raises(ValueError, match="image and prompt: give one of them"):
        Animate4DConfig(image=picture, prompt="a dancing cat", out=str(tmp_path / "cat.a4d"))
    with pytest.raises(ValueError, match="image, video or prompt: choose a picture or a video"):
        drain(animate_4d(Animate4DConfig(out=str(tmp_path / "cat.a4d")), RunContext()))


@pytest.mark.parametrize(
    "field, content, message",
    [
        ("video", b"not a video", "video: .*clip.mp4 cannot be read as a video"),
        ("image", b"not a picture", "image: .*clip.png cannot be read as a picture"),
        ("object", b"not splats", "object: .*clip.ply cannot be read as splats"),
    ],
)
def test_inputs_that_cannot_serve_fail_before_any_model_loads(tmp_path, field, content, message):
    path = tmp_path / {"video": "clip.mp4", "image": "clip.png", "object": "clip.ply"}[field]
    path.write_bytes(content)
    inputs = {field: str(path)} if field != "object" else {"object": str(path), "prompt": "a dancing cat"}
    missing = str(tmp_path / "no-model")  # loading it would fail otherwise
    config = Animate4DConfig(**inputs, video_model=missing, novel_view_model=missing, text_model=missing, out=str(tmp_path / "x.a4d"))
    with pytest.raises(ValueError, match=message):
        drain(animate_4d(config, RunContext()))


def test_a_video_without_an_object_on_a_plain_backdrop_says_so_before_any_model_loads(tmp_path):
    video = disc_video(tmp_path / "grey.mp4", radius=0)
    config = Animate4DConfig(video=video, novel_view_model=str(tmp_path / "no-model"), out=str(tmp_path / "x.a4d"))
    with pytest.raises(ValueError, match="^video: no object stands out from a plain backdrop in its first frame"):
        drain(animate_4d(config, RunContext()))


def test_a_missing_model_says_so_before_any_model_loads(models, tmp_path):
    """The novel-view model is needed only after the video model has run: its absence is told first."""
    config = Animate4DConfig(image=disc_picture(tmp_path / "disc.png"), video_model=str(models["video"]),
                             novel_view_model=str(tmp_path / "no-model"), out=str(tmp_path / "x.a4d"))
    events = []
    with pytest.raises(ModelError, match="no-model"):
        drain(animate_4d(config, RunContext()), events)
    assert not any(isinstance(e, Log) for e in events)  # the video model never got ready


def test_every_frame_is_cut_with_the_first_frames_box(tmp_path):
    """The disc slides right in the video, and so it does in the prepared frames (each frame cut
    around its own object would show it standing still)."""
    frames = read_video(disc_video(tmp_path / "disc.mp4", frames=5, travel=12), 3).frames
    references = frame_references(frames, [object_mask(frame) for frame in frames], 32)
    centres = [np.argwhere(r.mask > 0.5)[:, 1].mean() for r in references]
    assert centres[0] == pytest.approx(15.5, abs=1.0) and centres[1] > centres[0] + 2 and centres[2] > centres[1] + 2
    assert all(r.rgb.shape == (32, 32, 3) and r.rgb[0, 0].min() > 0.99 for r in references)  # on white


def test_the_motion_stage_recovers_a_known_motion_under_the_oracle(tmp_path):
    """The bench's run, shortened: the field learns the ball's turn, slide and bend from the
    frames and the per-frame oracle, judged between the frames from cameras it never saw."""
    save(tmp_path / "ball.ply", striped_ball(800))
    config = Animate4DConfig(
        object=str(tmp_path / "ball.ply"), out=str(tmp_path / "ball.a4d"), steps=40, size=32, frames=5, frames_per_step=2, snapshot_every=10**6,
        deformation=DeformationSettings(resolution=(16, 16, 16, 8), features=8),
    )
    report = bench(config, "cpu")
    assert report["test_psnr_db"] > report["still_test_psnr_db"] + 3, report


def test_from_a_picture_in_a_worker_through_the_real_loading_code(models, tmp_path):
    """The video model brings the picture to life, the static object grows from its first frame,
    then the motion; the clip is written as a project, a PLY sequence and an animated GLB."""
    manager = JobManager()
    try:
        config = {"image": disc_picture(tmp_path / "disc.png"), "video_model": str(models["video"]),
                  "novel_view_model": str(models["novel-view"]), "out": str(tmp_path / "disc.a4d"),
                  "frames_dir": str(tmp_path / "frames"), "glb": str(tmp_path / "disc.glb"), **QUICK}
        job = manager.submit("animate-4d", config, run_dir=tmp_path / "run")
        assert manager.wait(job, 300) is JobState.FINISHED, manager.info(job).error
        update = manager.poll()[job]
    finally:
        manager.shutdown()
    texts = [e.text for e in update.events if isinstance(e, Log)]
    assert "video model ready: StableVideoDiffusionPipeline" in texts and "the video model made 3 frames (64x64 px)" in texts
    assert [(e.step, e.total) for e in update.events if isinstance(e, Progress)] == [(s, 4) for s in range(1, 5)]
    assert isinstance(update.snapshots["main"], GaussianClip)
    clip = clip_of(tmp_path / "disc.a4d")
    assert clip.frame_count == 3 and clip.count > 0 and clip.means.shape == (3, clip.count, 3)
    assert np.isfinite(clip.means).all()
    assert read_ply_sequence(tmp_path / "frames").frame_count == 3
    report = validate(tmp_path / "disc.glb")
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]
    assert report["info"]["animationCount"] >= 1


def test_from_a_video_file_on_the_command_line(models, tmp_path, capsys):
    video = disc_video(tmp_path / "disc.mp4", frames=6)
    status = main(["generate", "animate-4d", "--video", video, "--novel-view-model", str(models["novel-view"]),
                   "--frames", "3", "--steps", "2", "--static-steps", "2", "--size", "32", "--init-points", "300",
                   "--deformation.resolution", "8,8,8,4", "--deformation.levels", "1",
                   "--out", str(tmp_path / "disc.a4d"), "--run-dir", str(tmp_path / "run")])
    assert status == 0, capsys.readouterr().err
    clip = clip_of(tmp_path / "disc.a4d")
    assert clip.frame_count == 3 and clip.fps == pytest.approx(3 / 0.75, rel=0.05)  # 6 frames at 8 fps, in 3


def test_a_given_object_skips_the_static_stage(models, tmp_path):
    ball = striped_ball(400)
    save(tmp_path / "ball.ply", ball)
    config = Animate4DConfig(video=disc_video(tmp_path / "disc.mp4"), object=str(tmp_path / "ball.ply"),
                             novel_view_model=str(models["novel-view"]), out=str(tmp_path / "ball.a4d"),
                             **{**QUICK, "deformation": DeformationSettings(**SMALL["deformation"])})
    events = []
    drain(animate_4d(config, RunContext()), events)
    assert [(e.step, e.total) for e in events if isinstance(e, Progress)] == [(1, 2), (2, 2)]
    clip = clip_of(tmp_path / "ball.a4d")
    assert clip.count == len(ball) and clip.frame_count == 3
    np.testing.assert_array_equal(clip.canonical.means, ball.means)  # the object as given, moved by the clip's motion


def test_a_run_stopped_in_the_motion_stage_resumes_there(models, tmp_path):
    """The checkpoint holds the static object and the field; the resumed run goes on after its step
    and ends where an uninterrupted one would."""
    save(tmp_path / "ball.ply", striped_ball(300))
    config = Animate4DConfig(video=disc_video(tmp_path / "disc.mp4"), object=str(tmp_path / "ball.ply"),
                             novel_view_model=str(models["novel-view"]), out=str(tmp_path / "ball.a4d"),
                             **{**QUICK, "steps": 3, "deformation": DeformationSettings(**SMALL["deformation"])})
    stage = animate_4d(config, RunContext(tmp_path / "run", checkpoint_every=2))
    for event in stage:
        if isinstance(event, Progress) and event.step == 2:
            break
    stage.close()
    checkpoint = load_checkpoint(tmp_path / "run")
    assert checkpoint.step == 2 and checkpoint.state["stage"] == "animate"
    events = []
    drain(animate_4d(config, RunContext(tmp_path / "run", resume=checkpoint)), events)
    assert [(e.step, e.total) for e in events if isinstance(e, Progress)] == [(3, 3)]
    assert any(isinstance(e, Log) and e.text == "resumed the motion after step 2" for e in events)
    assert clip_of(tmp_path / "ball.a4d").frame_count == 3
