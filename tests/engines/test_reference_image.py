"""The reference image of image-to-3D: the object centred in a square at a fixed share, on white;
pictures that cannot serve say why."""

import numpy as np
import pytest
from PIL import Image

from engines.reference_image import prepare_reference, read_rgba


def picture(height=120, width=200, box=(20, 60, 130, 110), colour=(0.2, 0.4, 0.9)) -> np.ndarray:
    """A transparent picture with an opaque coloured rectangle (top, left, bottom, right): off-centre, not square."""
    rgba = np.zeros((height, width, 4), np.float32)
    top, left, bottom, right = box
    rgba[top:bottom, left:right, :3] = colour
    rgba[top:bottom, left:right, 3] = 1.0
    return rgba


def test_an_off_centre_object_is_centred_at_the_fill_share_on_white():
    reference = prepare_reference(picture(), size=64, fill=0.8)
    assert reference.rgb.shape == (64, 64, 3) and reference.mask.shape == (64, 64)
    covered = reference.mask > 0.5
    rows, cols = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
    assert abs((rows[0] + rows[-1]) / 2 - 31.5) <= 1 and abs((cols[0] + cols[-1]) / 2 - 31.5) <= 1  # centred
    assert abs(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 - 0.8 * 64) <= 2  # the larger side fills 80%
    np.testing.assert_allclose(reference.rgb[0, 0], [1, 1, 1])  # the background is white
    np.testing.assert_allclose(reference.rgb[32, 32], [0.2, 0.4, 0.9], atol=0.02)


def test_an_object_at_the_edge_is_padded_not_cut():
    reference = prepare_reference(picture(box=(0, 0, 50, 30)), size=64)
    assert reference.mask.sum() > 0.9 * (30 / 50 * 0.8 * 64) * (0.8 * 64)


def test_no_dark_fringe_on_the_outline():
    reference = prepare_reference(picture(colour=(1.0, 1.0, 1.0)), size=37, fill=0.77)  # odd sizes: blended edges
    assert reference.rgb.min() > 0.95  # a white object on white stays white at its soft edge


@pytest.mark.parametrize(
    "rgba, mask, message",
    [
        (np.zeros((40, 40, 4), np.float32), None, "no object in it"),
        (np.ones((40, 40, 4), np.float32), None, "covers the whole picture"),
        (np.ones((40, 40, 3), np.float32), None, "no transparent background"),
        (np.ones((40, 40, 3), np.float32), np.ones((10, 10)), "mask: it is 10x10 but the image 40x40"),
    ],
)
def test_pictures_that_cannot_serve_say_why(rgba, mask, message):
    with pytest.raises(ValueError, match=message):
        prepare_reference(rgba, mask=mask)


def test_a_painted_mask_cuts_out_an_opaque_photo():
    rgb = np.full((50, 50, 3), 0.5, np.float32)
    mask = np.zeros((50, 50), np.float32)
    mask[10:30, 15:35] = 1
    reference = prepare_reference(rgb, size=32, mask=mask)
    assert reference.mask[16, 16] > 0.9 and reference.mask[0, 0] == 0


def test_files_are_read_or_refused_in_words(tmp_path):
    Image.fromarray((picture() * 255).astype(np.uint8), "RGBA").save(tmp_path / "cup.png")
    assert read_rgba(tmp_path / "cup.png").shape == (120, 200, 4)
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="broken.png cannot be read as a picture"):
        read_rgba(tmp_path / "broken.png")
    with pytest.raises(ValueError, match="missing.png does not exist"):
        read_rgba(tmp_path / "missing.png")
