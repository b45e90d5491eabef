"""zero123's camera in the novel-view prior: views are converted to their change from the reference
view, in zero123's convention (the polar angle grows downward; azimuth from +Z towards +X)."""

import math

import numpy as np
import pytest
import torch

from engines.object_stages import orbit_camera
from engines.priors.novel_view_sds import NovelViewSDS, relative_view
from engines.priors.views import View


def test_a_view_becomes_its_change_from_the_reference_and_keeps_its_camera():
    camera = orbit_camera(170.0, 35.0, 2.5, 16, 49.1)
    change = relative_view(View(170.0, 35.0, 2.5, camera), View(-40.0, 10.0, 2.0))
    assert (change.azimuth, change.elevation, change.radius) == pytest.approx((-150.0, 25.0, 0.5))
    assert change.camera is camera


@pytest.fixture(scope="module")
def prior(load_tiny):
    return NovelViewSDS(load_tiny("novel-view"), torch.rand(3, 20, 20), reference_view=View(0.0, 20.0, 2.0))


def test_zero123s_camera_is_the_polar_change_and_the_azimuth_change(prior):
    """DreamGaussian (guidance/zero123_utils.py, main.py) passes its elevation change straight as
    zero123's first entry, and its elevation is positive *below* the equator (cam_utils.orbit_camera:
    y = -r sin(elevation)); ours is positive above, so a camera raised by 10 degrees is -10 in radians."""
    embedding = prior.camera_embedding([View(90.0, 30.0, 2.0), View(0.0, 20.0, 2.0), View(-30.0, -10.0, 2.5)])
    assert embedding.shape == (3, 1, 4)
    expected = [
        [-math.radians(10.0), 1.0, 0.0, 0.0],  # raised, a quarter turn towards +X
        [0.0, 0.0, 1.0, 0.0],  # the reference view itself
        [math.radians(30.0), -0.5, math.sqrt(3) / 2, 0.5],  # lowered, towards -X, further away
    ]
    np.testing.assert_allclose(embedding[:, 0].numpy(), expected, atol=1e-6)


def test_positive_azimuth_turns_the_camera_from_front_towards_plus_x_as_in_dreamgaussian():
    """DreamGaussian's orbit_camera: x = r cos(el) sin(az), z = r cos(el) cos(az) ("from +z to +x is (0, 90)")."""
    np.testing.assert_allclose(orbit_camera(90.0, 0.0, 2.0, 16, 49.1).position, [2.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(orbit_camera(0.0, 30.0, 2.0, 16, 49.1).position, [0.0, 1.0, math.sqrt(3)], atol=1e-9)
