"""The artist's video read as driving frames: decoded with ffmpeg, resampled, and clear about files that cannot serve."""

import numpy as np
import pytest

from engines.video_input import read_video


def disc_video(path, frames=12, size=(48, 40), fps=8, radius=9, travel=12):
    """An MP4 of an orange disc on a grey backdrop sliding right by ``travel`` pixels, written with
    ffmpeg (imageio-ffmpeg's, as the studio's export); returns the path."""
    import imageio_ffmpeg

    width, height = size
    writer = imageio_ffmpeg.write_frames(str(path), size, fps=fps, macro_block_size=1, quality=9, ffmpeg_log_level="error")
    writer.send(None)
    yy, xx = np.mgrid[:height, :width]
    for k in range(frames):
        image = np.full((height, width, 3), (150, 155, 160), np.uint8)
        centre = width / 3 + travel * k / max(1, frames - 1)
        image[(yy - height / 2) ** 2 + (xx - centre) ** 2 < radius**2] = (230, 120, 30)
        writer.send(image.tobytes())
    writer.close()
    return str(path)


def disc_centre(frame):
    orange = (frame[..., 2] < 0.3) & (frame[..., 0] > 0.7)
    return np.argwhere(orange)[:, 1].mean()


def test_frames_are_spread_evenly_from_the_first_to_the_last(tmp_path):
    video = read_video(disc_video(tmp_path / "disc.mp4"), 4)
    assert video.frames.shape == (4, 40, 48, 3) and video.frames.dtype == np.float32
    assert 0.0 <= video.frames.min() and video.frames.max() <= 1.0
    centres = [disc_centre(frame) for frame in video.frames]
    np.testing.assert_allclose(centres, [16, 20, 24, 28], atol=1.0)
    assert video.seconds == pytest.approx(1.5, abs=0.05) and video.fps == pytest.approx(4 / 1.5, rel=0.05)


def test_a_short_video_repeats_frames_and_a_large_one_is_scaled_down(tmp_path):
    video = read_video(disc_video(tmp_path / "disc.mp4", frames=3), 5, max_side=24)
    assert video.frames.shape == (5, 20, 24, 3)
    np.testing.assert_array_equal(video.frames[0], video.frames[1])  # frames 0, 0.5, 1, 1.5, 2 of 3: rounded


@pytest.mark.parametrize("content, message", [(None, "does not exist"), (b"not a video", "cannot be read as a video")])
def test_a_file_that_cannot_serve_says_why_in_one_line(tmp_path, content, message):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^video: .*clip.mp4 {message}") as error:
        read_video(path, 4)
    assert "\n" not in str(error.value)
