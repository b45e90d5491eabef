"""The reference image of image-to-3D: the object centred in a square at a fixed share, on white;
pictures that cannot serve say why."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from engines.reference_image import object_mask, prepare_reference, read_rgba


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


def test_a_picture_claiming_more_pixels_than_it_holds_is_refused_undecoded(tmp_path):
    """9000 x 9000 RGBA (324 MB decoded) from a file of a hundred bytes: refused before any of it is made."""
    import tracemalloc

    from tests.faults.test_fuzz_meshes import png_claiming

    (tmp_path / "bomb.png").write_bytes(png_claiming(9000, 9000))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"image: .*bomb.png cannot be read as a picture \(the image claims 9000x9000"):
            read_rgba(tmp_path / "bomb.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def disc_photo(noise: float = 0.0, size: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An opaque RGB photo of an orange disc with a backdrop-coloured highlight on a grey backdrop
    (with Gaussian grain of ``noise``), and the disc's true mask."""
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - 50) ** 2 + (xx - 44) ** 2 < 25**2
    rgb = np.empty((size, size, 3), np.float32)
    rgb[:] = (0.6, 0.62, 0.65)
    rgb[disc] = (0.9, 0.45, 0.1)
    rgb[(yy - 45) ** 2 + (xx - 40) ** 2 < 4**2] = (0.6, 0.62, 0.65)  # a highlight the backdrop's colour: a hole to fill
    rgb += np.random.default_rng(seed).normal(0.0, noise, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0.0, 1.0), disc


@pytest.mark.parametrize("noise", [0.0, 0.04])
def test_object_mask_cuts_a_disc_from_a_plain_or_grainy_backdrop(noise):
    rgb, disc = disc_photo(noise)
    mask = object_mask(rgb)
    assert mask.shape == disc.shape and mask.dtype == np.float32
    assert np.mean((mask > 0.5) != disc) < 0.01  # the disc, its highlight filled, no grain specks


def test_object_mask_of_an_opaque_rgba_removes_the_background_and_keeps_a_second_part():
    rgb, disc = disc_photo()
    rgb[76:92, 76:92] = (0.1, 0.1, 0.1)  # a second object, an eighth of the first
    rgb[5:7, 5:7] = (0.1, 0.1, 0.1)  # a speck of dust
    rgba = np.concatenate([rgb, np.ones_like(rgb[..., :1])], axis=-1)
    mask = object_mask(rgba) > 0.5
    assert mask[disc].all() and mask[76:92, 76:92].all() and not mask[5:7, 5:7].any()


def test_object_mask_uses_the_alpha_when_there_is_transparency():
    rgba = picture()
    rgba[30:40, 70:80, 3] = 0.5  # partial transparency is kept as it is
    np.testing.assert_array_equal(object_mask(rgba), rgba[..., 3])


def test_a_plain_picture_has_no_object_and_says_so():
    plain = np.full((40, 40, 3), 0.3, np.float32)
    with pytest.raises(ValueError, match="no object in it"):
        prepare_reference(plain, mask=object_mask(plain))


def test_object_mask_of_a_jpeg_photo_ignores_its_artefacts(tmp_path):
    rgb, disc = disc_photo(0.02)
    Image.fromarray((rgb * 255).astype(np.uint8)).save(tmp_path / "disc.jpg", quality=60)
    mask = object_mask(read_rgba(tmp_path / "disc.jpg")) > 0.5  # opaque RGBA, as the engine reads it
    outline = ndimage.binary_dilation(disc, iterations=3) & ~ndimage.binary_erosion(disc, iterations=3)
    assert (mask == disc)[~outline].all()  # JPEG blurs and rings only near the outline
