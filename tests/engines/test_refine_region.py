"""Refine a region: under an oracle that answers from a changed target, the region moves towards it
and every splat outside it stays bit-identical; the engine runs from the CLI on a tiny model; a
selection file (the studio's viewport selection) names the region instead of the box, and one that
names no splat of the input says why."""

import numpy as np
import pytest
import torch

from engines.optim import psnr
from engines.optim_settings import LearningRates
from engines.priors.oracle import OracleSDS, cloud_truth
from engines.refine_region import RefineRegionConfig, refine_splats, region_mask, region_views, selection_mask
from engines.runtime import RunContext, drain
from scene import GaussianCloud
from scene.io import load, save
from studio.cli import main
from tests.known_objects import striped_ball
from tests.tiny_models import tiny_model

BOX = (-1.0, 0.1, -1.0, 1.0, 1.0, 1.0)  # the top of the ball


def test_the_region_moves_towards_the_target_and_the_rest_is_bit_identical(tmp_path):
    scene = striped_ball(3000)
    save(tmp_path / "scene.ply", scene)
    mask = region_mask(scene, BOX)
    assert 0 < mask.sum() < len(scene)
    target_sh = scene.sh.copy()
    target_sh[mask, 0] = (np.array([0.1, 0.3, 0.9]) - 0.5) / 0.28209479177387814  # the top turns blue
    target = GaussianCloud(scene.means, scene.log_scales, scene.quats, scene.opacity_logits, target_sh)
    truth = cloud_truth(target)
    config = RefineRegionConfig(
        input=str(tmp_path / "scene.ply"), box=BOX, prompt="(oracle)", steps=80, size=32, background="white",
        learning_rates=LearningRates(means=2e-4, means_final=2e-5, sh_dc=0.05, sh_rest=5e-4),  # a big colour change, fast
    )
    views = [v for step in range(1000, 1006) for v in region_views(scene, mask, config.distance, 32, 0, step)]
    before = psnr(cloud_truth(scene)(views), truth(views))
    refined = drain(refine_splats(config, scene, mask, OracleSDS(truth), RunContext(), torch.device("cpu")))
    after = psnr(cloud_truth(refined)(views), truth(views))
    assert after > before + 3, (before, after)
    for name in ("means", "log_scales", "quats", "opacity_logits", "sh"):
        np.testing.assert_array_equal(getattr(refined, name)[~mask], getattr(scene, name)[~mask])
    assert not np.array_equal(refined.sh[mask], scene.sh[mask])


@pytest.mark.parametrize(
    "values, message",
    [({"box": (0, 0, 0, -1, 1, 1)}, "box: each of x0"), ({"prompt": " "}, "prompt: say what")],
)
def test_bad_settings_say_why(values, message, tmp_path):
    save(tmp_path / "a.ply", striped_ball(10))
    with pytest.raises(ValueError, match=message):
        RefineRegionConfig(**{"input": str(tmp_path / "a.ply"), "box": BOX, "prompt": "a hat", **values})


def test_the_command_line_refines_a_region_of_a_ply(tmp_path, capsys):
    scene = striped_ball(800)
    save(tmp_path / "scene.ply", scene)
    model = tiny_model("text", tmp_path / "models")
    box = ",".join(str(v) for v in BOX)
    status = main(["generate", "refine-region", "--input", str(tmp_path / "scene.ply"), f"--box={box}", "--prompt", "a hat",
                   "--model", str(model), "--steps", "2", "--size", "32", "--out", str(tmp_path / "out.ply"),
                   "--run-dir", str(tmp_path / "run")])
    assert status == 0, capsys.readouterr().err
    refined = load(tmp_path / "out.ply")
    mask = region_mask(scene, BOX)
    np.testing.assert_array_equal(refined.means[~mask], scene.means[~mask])
    status = main(["generate", "refine-region", "--input", str(tmp_path / "scene.ply"), "--box=5,5,5,6,6,6", "--prompt", "x",
                   "--model", str(model), "--steps", "1", "--run-dir", str(tmp_path / "run2")])
    assert status == 1 and "none of the 800 splats has its centre in the box" in capsys.readouterr().err
    np.save(tmp_path / "sel.npy", np.array([5, 800]))
    status = main(["generate", "refine-region", "--input", str(tmp_path / "scene.ply"), "--selection", str(tmp_path / "sel.npy"),
                   "--prompt", "x", "--model", str(model), "--steps", "1", "--run-dir", str(tmp_path / "run3")])
    assert status == 1 and "there is no splat 800: the input has 800" in capsys.readouterr().err


def test_selection_needs_an_existing_npy_and_its_input(tmp_path):
    save(tmp_path / "a.ply", striped_ball(10))
    np.save(tmp_path / "sel.npy", np.array([1, 2]))
    config = RefineRegionConfig(input=str(tmp_path / "a.ply"), selection=str(tmp_path / "sel.npy"), prompt="a hat")
    assert config.selection.endswith("sel.npy")
    with pytest.raises(ValueError, match="selection: give the input"):
        RefineRegionConfig(selection=str(tmp_path / "sel.npy"), prompt="a hat")
    with pytest.raises(ValueError, match="selection: no such file"):
        RefineRegionConfig(input=str(tmp_path / "a.ply"), selection=str(tmp_path / "gone.npy"), prompt="a hat")


@pytest.mark.parametrize(
    "indices, message",
    [
        (np.array([], dtype=np.int64), "selection: no splats are selected"),
        (np.array([0, 10]), r"selection: there is no splat 10: the input has 10 \(0 to 9\)"),
        (np.array([-1, 3]), "selection: there is no splat -1"),
        (np.array([0.5, 2.0]), "must hold a list of splat indices, not a float64 array"),
        (np.array([[1, 2]]), r"not a int64 array of shape \(1, 2\)"),
    ],
)
def test_a_selection_that_names_no_splat_of_the_input_says_why(indices, message, tmp_path):
    np.save(tmp_path / "sel.npy", indices)
    with pytest.raises(ValueError, match=message):
        selection_mask(10, str(tmp_path / "sel.npy"))


def test_a_selection_is_the_region_it_numbers(tmp_path):
    np.save(tmp_path / "sel.npy", np.array([3, 1, 3], dtype=np.int32))
    np.testing.assert_array_equal(np.flatnonzero(selection_mask(5, str(tmp_path / "sel.npy"))), [1, 3])
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="is not a .npy file of splat indices"):
        selection_mask(5, str(tmp_path / "bad.npy"))
