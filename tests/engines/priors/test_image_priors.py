import numpy as np
import pytest

from engines.priors.depth import DepthEstimator
from engines.priors.inpaint import Inpainter
from engines.priors.oracle import OracleDepth, OracleInpainter, OracleRefiner, OracleTextToImage, OracleVideo
from engines.priors.refine import Refiner
from engines.priors.text_to_image import TextToImage
from engines.priors.video import ImageToVideo
from engines.priors.views import View


def picture(height=24, width=32, seed=0):
    return np.random.default_rng(seed).uniform(size=(height, width, 3)).astype(np.float32)


def test_text_to_image_is_seeded(load_tiny):
    generate = TextToImage(load_tiny("text"))
    first = generate("a red chair", size=16, steps=2, seed=3)
    assert first.shape == (16, 16, 3) and first.dtype == np.float32 and 0 <= first.min() <= first.max() <= 1
    np.testing.assert_array_equal(first, generate("a red chair", size=16, steps=2, seed=3))
    assert not np.array_equal(first, generate("a red chair", size=16, steps=2, seed=4))


def test_inpainting_paints_only_the_mask(load_tiny):
    inpaint = Inpainter(load_tiny("inpaint"))
    image = picture()
    mask = np.zeros(image.shape[:2], bool)
    mask[:, 20:] = True
    painted = inpaint(image, mask, "a wall", steps=2, seed=1)
    assert painted.shape == image.shape
    np.testing.assert_array_equal(painted[~mask], image[~mask])
    assert not np.allclose(painted[mask], image[mask])
    np.testing.assert_array_equal(painted, inpaint(image, mask, "a wall", steps=2, seed=1))
    with pytest.raises(ValueError, match="the image is 32x24 but the mask 10x10"):
        inpaint(image, np.ones((10, 10), bool), "a wall")


def test_refinement_at_zero_strength_keeps_the_image(load_tiny):
    refine = Refiner(load_tiny("refiner"))
    image = picture(16, 16)
    np.testing.assert_array_equal(refine(image, "sharper", strength=0.0), image)
    refined = refine(image, "sharper", strength=0.6, steps=4, seed=0)
    assert refined.shape == image.shape and not np.allclose(refined, image)
    light = refine(image, "sharper", strength=0.1, steps=2, seed=0)  # 2 x 0.1 steps: still one runs
    assert light.shape == image.shape and not np.allclose(light, image)


def test_depth_comes_at_the_images_size_and_says_its_kind(load_tiny):
    estimate = DepthEstimator(load_tiny("depth"))
    depth = estimate(picture(30, 40))
    assert depth.values.shape == (30, 40) and np.isfinite(depth.values).all()
    assert depth.kind == "disparity"


def test_image_to_video_gives_the_frames_asked_for(load_tiny):
    frames = ImageToVideo(load_tiny("video"))(picture(16, 16), frames=3, steps=2, seed=0)
    assert frames.shape == (3, 16, 16, 3) and np.isfinite(frames).all()


def test_oracles_answer_from_the_known_scene():
    truth = picture(8, 8, seed=5)
    view = View(azimuth=30)
    np.testing.assert_array_equal(OracleTextToImage(lambda v: truth)("anything", view=view), truth)
    image, mask = picture(8, 8, seed=6), np.zeros((8, 8), bool)
    mask[2:5] = True
    filled = OracleInpainter(lambda v: truth)(image, mask, view=view)
    np.testing.assert_array_equal(filled[mask], truth[mask])
    np.testing.assert_array_equal(filled[~mask], image[~mask])
    assert np.array_equal(OracleRefiner(lambda v: truth)(image, strength=0.5, view=view), truth)
    with pytest.raises(ValueError, match="needs the view"):
        OracleTextToImage(lambda v: truth)("anything")
    clip = np.stack([truth] * 3)
    np.testing.assert_array_equal(OracleVideo(lambda n: clip[:n])(truth, 2), clip[:2])


def test_the_oracle_depth_is_the_truth_up_to_scale_shift_and_noise():
    depth = np.random.default_rng(0).uniform(1, 4, size=(16, 16))
    answer = OracleDepth(lambda v: depth, noise=0.0, seed=1)(view=View())
    assert answer.kind == "disparity"
    design = np.stack([1 / depth.ravel(), np.ones(depth.size)], axis=1)
    (scale, shift), *_ = np.linalg.lstsq(design, answer.values.ravel().astype(np.float64), rcond=None)
    np.testing.assert_allclose(scale / depth + shift, answer.values, atol=1e-5)
    assert not np.isclose(scale, 1.0)
    metric = OracleDepth(lambda v: depth, kind="metric", noise=0.0)(view=View())
    np.testing.assert_allclose(metric.values, depth, atol=1e-6)
