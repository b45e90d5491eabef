"""The timeline's playback settings: validation, the in/out range, and the document holding them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer
from scene.clip import ClipTiming, GaussianClip
from scene.events import PlaybackChanged
from scene.playback import EMPTY_END_S, Playback


def clip(frames: int, offset: float = 0.0, fps: float = 24.0) -> GaussianClip:
    cloud = GaussianCloud.create(np.zeros((2, 3), np.float32), 0.1, np.full((2, 3), 0.5, np.float32))
    moving = [cloud.replace(means=cloud.means + np.float32(k)) for k in range(frames)]
    return GaussianClip.from_frames(moving, fps).replace(timing=ClipTiming(offset=offset))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"fps": 0}, "1 to 240 frames a second"),
        ({"fps": float("nan")}, "Playback.fps must be a finite number"),
        ({"speed": 8.0}, r"0.25x to 4x, got 8x"),
        ({"speed": 0.1}, r"0.25x to 4x"),
        ({"start": -1.0}, "in point must not be before 0 s"),
        ({"start": 2.0, "end": 2.0}, r"out point \(2 s\) must come after the in point \(2 s\)"),
        ({"end": float("inf")}, "Playback.end must be a finite number of seconds or None"),
        ({"end": True}, "Playback.end must be a finite number"),
        ({"fps": True}, "Playback.fps must be a finite number"),
    ],
)
def test_invalid_settings_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        Playback(**fields)
    with pytest.raises(TypeError, match="loop must be True or False"):
        Playback(loop=1)


def test_frames_snap_and_hold():
    playback = Playback(fps=24.0)
    assert playback.frame_of(0.5) == 12 and playback.snap(0.51) == 0.5 and playback.snap(-3.0) == 0.0
    assert playback.frame_floor(0.5 + 0.9 / 24) == 0.5  # playback holds a frame until the next one
    assert playback.frame_floor(11 / 24 + 1e-9) == 11 / 24  # float noise under a frame is that frame
    assert Playback(fps=30).frame_s == pytest.approx(1 / 30)


def test_an_open_out_point_follows_the_longest_clip():
    assert Playback().play_range([]) == (0.0, EMPTY_END_S)
    assert Playback().play_range([GaussianCloud.create(np.zeros((1, 3), np.float32), 0.1, np.ones((1, 3), np.float32))]) == (
        0.0,
        EMPTY_END_S,
    )  # static layers have no end
    assert Playback().play_range([clip(48), clip(24, offset=3.0)]) == (0.0, 4.0)
    assert Playback(start=1.0, end=2.5).play_range([clip(48)]) == (1.0, 2.5)
    assert Playback(start=5.0).play_range([clip(24)]) == (5.0, 5.0 + 1 / 24)  # at least a frame long


def test_moving_the_in_point_pushes_the_out_point_and_back():
    playback = Playback(start=1.0, end=2.0)
    assert playback.with_in(0.5) == dataclasses.replace(playback, start=0.5)
    assert playback.with_in(3.0) == dataclasses.replace(playback, start=3.0, end=3.0 + 1 / 24)
    assert playback.with_in(-1.0).start == 0.0
    assert playback.with_out(0.5) == dataclasses.replace(playback, start=0.5 - 1 / 24, end=0.5)
    assert playback.with_out(None).end is None
    assert Playback(end=None).with_in(30.0).end is None  # an open out point stays open
    assert Playback().with_out(0.0).end == pytest.approx(1 / 24)


def test_settings_round_trip_through_a_dict():
    playback = Playback(fps=30.0, start=0.5, end=4.0, loop=False, speed=2.0)
    assert Playback.from_dict(playback.to_dict()) == playback
    assert Playback.from_dict({}) == Playback()  # settings a file lacks take their defaults
    assert Playback.from_dict({"fps": 25, "shutter": 0.5}) == Playback(fps=25.0)  # ones it does not know are left out
    with pytest.raises(TypeError, match="must be an object"):
        Playback.from_dict([24])


def test_the_document_changes_playback_without_an_undo_step():
    document = Document()
    document.add_layer(Layer("c", clip(48, offset=1.0)))
    document.undo_stack.clear()
    events = []
    document.events.connect(events.append)
    assert document.playback == Playback() and document.play_range() == (0.0, 3.0)
    document.set_playback(fps=30.0, loop=False)
    assert document.playback == Playback(fps=30.0, loop=False)
    assert events == [PlaybackChanged(document.playback)]
    document.set_playback(fps=30.0)  # no change, no event
    document.set_playback(Playback(end=2.0), speed=0.5)
    assert document.playback == Playback(end=2.0, speed=0.5) and document.play_range() == (0.0, 2.0)
    assert len(events) == 2 and not document.undo_stack.can_undo and not document.is_modified
    with pytest.raises(ValueError, match="0.25x to 4x"):
        document.set_playback(speed=5.0)
    with pytest.raises(TypeError, match="takes a scene.playback.Playback"):
        document.set_playback({"fps": 30})
    assert document.playback == Playback(end=2.0, speed=0.5)  # a refused change changes nothing
