"""Outpaint-scene: its settings and errors, how the first view is placed (the path's first camera, the
first depth's scale), the scene growing where the cameras look under oracle priors from a known room,
and the engine end to end through the real loading code on tiny models, in a worker, from a prompt
and from the command line."""

import numpy as np
import pytest
import torch
from PIL import Image

from benches.outpaint import bench, room_oracles, true_view, walk
from engines.fields import describe_fields
from engines.optim import psnr
from engines.outpaint_scene import (
    OutpaintSceneConfig,
    dream_scene,
    first_depth,
    outpaint_scene,
    path_cameras,
    preset_path,
    read_picture,
    render_cloud,
)
from engines.priors.depth import DepthMap
from engines.registry import find_engine
from engines.runtime import JobManager, JobState, Log, Progress, Result, RunContext, Snapshot, WorkerSettings, drain
from scene import GaussianCloud
from scene.camera_path import PRESETS, CameraPath
from scene.io import load
from studio.cli import main
from tests.tiny_models import tiny_model

CPU = torch.device("cpu")
OUT = "scene.ply"  # where a run would write (the tests that run the engine give their own)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Folders of the tiny random-weight inpainting, depth and text-to-image models."""
    root = tmp_path_factory.mktemp("models")
    return {role: str(tiny_model(role, root)) for role in ("inpaint", "depth", "text")}


@pytest.fixture
def picture(tmp_path):
    """A 48x32 PNG: the room's first view on the bench's walk."""
    rgb = true_view(walk().camera_at(0.0, 48, 32))[0]
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(tmp_path / "room.png")
    return str(tmp_path / "room.png")


def test_registered_with_the_picture_and_prompt_leading_and_the_model_roles():
    entry = find_engine("outpaint-scene")
    assert entry.config_cls is OutpaintSceneConfig and entry.module == "engines.outpaint_scene"
    specs = {spec.key: spec for spec in describe_fields(OutpaintSceneConfig)}
    assert list(specs)[:6] == ["image", "prompt", "negative", "inpaint_model", "depth_model", "text_model"]
    assert specs["image"].path == "image" and specs["out"].path == "save" and specs["out"].required
    assert [specs[f"{role}_model"].meta["model"] for role in ("inpaint", "depth", "text")] == ["inpaint", "depth", "text"]
    assert specs["scene_depth"].meta["advanced"] and not specs["views"].meta.get("advanced")


def test_settings_that_cannot_serve_say_why(tmp_path):
    with pytest.raises(ValueError, match="image or prompt: choose a picture to grow the scene around, or say what the scene is"):
        drain(outpaint_scene(OutpaintSceneConfig(prompt="  ", out=OUT), RunContext()))
    with pytest.raises(ValueError, match="no camera path preset called 'spiral'; choose one of lookaround, .*or a saved"):
        OutpaintSceneConfig(prompt="a room", trajectory="spiral", out=OUT)
    with pytest.raises(ValueError, match="trajectory: no camera path file at"):
        OutpaintSceneConfig(prompt="a room", trajectory=str(tmp_path / "missing.json"), out=OUT)
    with pytest.raises(ValueError, match="image: no such file"):
        OutpaintSceneConfig(image=str(tmp_path / "missing.png"), out=OUT)


def test_an_unreadable_picture_or_path_fails_before_any_model_loads(tmp_path, picture):
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    (tmp_path / "broken.json").write_text("{")
    nowhere = str(tmp_path / "no-model")  # loading it would fail with another message
    models = dict(inpaint_model=nowhere, depth_model=nowhere, text_model=nowhere, out=OUT)
    with pytest.raises(ValueError, match="image: .*broken.png cannot be read as a picture"):
        drain(outpaint_scene(OutpaintSceneConfig(image=str(tmp_path / "broken.png"), **models), RunContext()))
    with pytest.raises(ValueError, match="broken.json: not a camera path"):
        drain(outpaint_scene(OutpaintSceneConfig(image=picture, trajectory=str(tmp_path / "broken.json"), **models), RunContext()))


def test_a_picture_of_any_aspect_is_scaled_down_to_the_resolution_keeping_it(picture):
    assert read_picture(picture, 512).shape == (32, 48, 3)
    assert read_picture(picture, 24).shape == (16, 24, 3)


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_preset_starts_at_the_pictures_camera_whatever_the_depth(name):
    near, far = preset_path(name, 1.0, 60.0), preset_path(name, 4.0, 60.0)
    for path in (near, far):
        np.testing.assert_allclose(path.keys[0].position, 0.0, atol=1e-12)
    np.testing.assert_allclose(near.keys[0].orientation, far.keys[0].orientation)
    np.testing.assert_allclose(near.camera_at(0.0, 48, 32).c2w, far.camera_at(0.0, 48, 32).c2w, atol=1e-12)
    scaled = [np.array(k.position) * 4.0 for k in near.keys]  # the rest scales with the scene's depth
    np.testing.assert_allclose([k.position for k in far.keys], scaled, atol=1e-9)


def test_forward_walks_half_way_to_the_pictures_middle_depth():
    path = preset_path("forward", 3.0, 60.0)
    np.testing.assert_allclose(path.keys[-1].position, [0.0, 0.0, -1.5], atol=1e-9)
    cameras = path_cameras(path, 3, 48, 32)
    assert len(cameras) == 3 and (cameras[0].width, cameras[0].height) == (48, 32)
    np.testing.assert_allclose(cameras[-1].position, [0.0, 0.0, -1.5], atol=1e-9)


def test_the_first_depth_keeps_metric_and_gives_relative_depth_its_chosen_scale():
    disparity = np.array([[1.0, 2.0, 4.0], [2.0, 0.0, -1.0]], np.float32)  # 0 and below: the sky
    depth, warning = first_depth(DepthMap(disparity, "disparity"), scene_depth=2.0, far_ratio=10.0)
    assert warning == ""
    np.testing.assert_allclose(depth, [[4.0, 2.0, 1.0], [2.0, 20.0, 20.0]])  # median disparity 2 at 2 m, sky at 10 x 2 m
    metric = np.array([[1.5, 3.0]], np.float32)
    np.testing.assert_array_equal(first_depth(DepthMap(metric, "metric"), 2.0, 10.0)[0], metric)
    flat, warning = first_depth(DepthMap(np.zeros((2, 3), np.float32), "disparity"), 2.0, 10.0)
    assert "sees no depth" in warning and np.all(flat == 2.0)


def test_the_scene_grows_where_the_cameras_look():
    """Looking around a known room with oracle painting and depth: every camera ends up seeing the
    scene covered and close to the room, while the picture alone covers little of the last one."""
    config = OutpaintSceneConfig(prompt="a room", trajectory="lookaround", views=8, steps=0, out=OUT)  # about 60 degrees apart
    camera = preset_path("lookaround", 1.0, config.fov_y).camera_at(0.0, 48, 32)
    events = []
    scene = drain(dream_scene(config, true_view(camera)[0], room_oracles(), CPU), events)
    assert [e.step for e in events if isinstance(e, Progress)] == list(range(1, 9))
    assert sum(isinstance(e, Snapshot) for e in events) == 8
    first = scene.views[0]
    assert first.camera.width == 48 and np.allclose(first.camera.c2w, camera.c2w) and bool(first.new.all())
    lifted_first = int(first.new.sum())
    _, alpha_first, _ = render_cloud(scene.cloud.subset(np.arange(lifted_first)), scene.views[-1].camera, CPU)
    assert float((alpha_first > 0.5).float().mean()) < 0.5
    for view in scene.views[1:]:
        assert bool(view.new.any()) and not bool(view.new.all())  # something to paint, something kept
        rgb, alpha, _ = render_cloud(scene.cloud, view.camera, CPU)
        assert float((alpha > 0.5).float().mean()) > 0.98
        assert psnr(rgb[None], torch.from_numpy(true_view(view.camera)[0])[None]) > 20
    assert len(scene.cloud) == sum(int(view.new.sum()) for view in scene.views)


def test_a_saved_path_is_followed_and_its_depth_placed_within_two_percent(tmp_path):
    path = walk()
    path.save(tmp_path / "walk.json")
    config = OutpaintSceneConfig(prompt="a room", trajectory=str(tmp_path / "walk.json"), views=3, steps=0, out=OUT)
    scene = drain(dream_scene(config, true_view(path.camera_at(0.0, 48, 32))[0], room_oracles(), CPU))
    assert scene.path == CameraPath.load(tmp_path / "walk.json")
    np.testing.assert_allclose(scene.views[-1].camera.position, path.keys[-1].position, atol=1e-9)
    for view in scene.views[1:]:
        truth = torch.from_numpy(true_view(view.camera)[1])
        error = ((view.depth - truth).abs() / truth)[view.new]
        assert float(error.mean()) < 0.02


def test_the_bench_scores_a_small_run():
    """``benches/outpaint.py`` at a toy size, so it cannot rot unseen (its targets are for its own size)."""
    report = bench(32, 24, views=3, steps=2, noise=0.01, device=CPU)
    assert report["size"] == "32x24" and report["splats"] >= 32 * 24 and 0 <= report["depth_error"] < 0.05
    assert all(np.isfinite(report[key]) and report[key] > 10 for key in ("psnr_along", "psnr_off", "psnr_views"))


def test_the_engine_runs_in_a_worker_on_the_real_loading_code(tiny, picture, tmp_path):
    manager = JobManager()
    try:
        config = {"image": picture, "views": 3, "steps": 4, "diffusion_steps": 2, "snapshot_every": 2,
                  "out": str(tmp_path / "room.ply")}
        choices = (("inpaint", tiny["inpaint"]), ("depth", tiny["depth"]))
        job = manager.submit("outpaint-scene", config, run_dir=tmp_path / "run", settings=WorkerSettings(model_choices=choices))
        assert manager.wait(job, 180) is JobState.FINISHED, manager.info(job).error
        events = manager.poll()[job].events
    finally:
        manager.shutdown()
    assert any(isinstance(e, Log) and "models ready" in e.text for e in events)
    assert [(e.step, e.total) for e in events if isinstance(e, Progress)] == [(s, 7) for s in range(1, 8)]
    result = next(e for e in events if isinstance(e, Result))
    assert result.outputs == {"main": str(tmp_path / "room.ply")} and result.summary["views"] == 3
    cloud = load(tmp_path / "room.ply")
    assert isinstance(cloud, GaussianCloud) and len(cloud) >= 48 * 32 and np.isfinite(cloud.means).all()
    assert b"f_dc_0" in (tmp_path / "room.ply").read_bytes()[:2000]  # the standard 3DGS layout
    assert len(CameraPath.load(tmp_path / "room.path.json").keys) > 1


def test_the_engine_grows_a_scene_from_a_prompt_with_the_configs_models(tiny, tmp_path):
    config = OutpaintSceneConfig(
        prompt="a red room", text_model=tiny["text"], inpaint_model=tiny["inpaint"], depth_model=tiny["depth"], views=2, steps=2,
        resolution=32, diffusion_steps=2, trajectory="forward", out=str(tmp_path / "prompt.ply"),
    )
    events = []
    drain(outpaint_scene(config, RunContext()), events)
    assert any(isinstance(e, Log) and "made the first picture (32x32 px)" in e.text for e in events)
    cloud = load(tmp_path / "prompt.ply")
    assert isinstance(cloud, GaussianCloud) and len(cloud) >= 32 * 32


def test_the_command_line_grows_a_scene_from_a_picture(tiny, picture, tmp_path, capsys):
    status = main(["generate", "outpaint-scene", "--image", picture, "--inpaint-model", tiny["inpaint"], "--depth-model", tiny["depth"],
                   "--views", "2", "--steps", "2", "--diffusion-steps", "2", "--trajectory", "backforth",
                   "--out", str(tmp_path / "x.ply"), "--run-dir", str(tmp_path / "run")])
    assert status == 0, capsys.readouterr().err
    assert isinstance(load(tmp_path / "x.ply"), GaussianCloud)


def test_the_command_line_needs_a_picture_or_a_prompt(tmp_path, capsys):
    status = main(["generate", "outpaint-scene", "--out", str(tmp_path / "x.ply"), "--run-dir", str(tmp_path / "run")])
    assert status != 0 and "image or prompt: choose a picture" in capsys.readouterr().err


def test_the_command_line_names_an_unknown_trajectory(picture, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["generate", "outpaint-scene", "--image", picture, "--trajectory", "spiral", "--out", str(tmp_path / "x.ply")])
    assert exit.value.code != 0 and "no camera path preset called 'spiral'" in capsys.readouterr().err
