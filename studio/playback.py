"""The play loop: a timer moving the document's time on, frame by frame, at the timeline's fps x speed.

The time played follows the wall clock (``clock``, injectable for tests), not the count of timer
ticks: a slow frame skips frames instead of slowing playback down, so 2x covers two document
seconds per second whatever the viewport manages. The time shown is always on a frame of the
timeline (:meth:`scene.playback.Playback.frame_floor`). Past the out point, playback goes back to
the in point when looping, else stops there. Moving the time elsewhere while playing (scrubbing)
plays on from there; changing the speed or the range takes effect at once.
"""

from __future__ import annotations

import math
import time
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from scene import Document
from scene.events import DocumentEvent, PlaybackChanged, TimeChanged

MIN_TICK_MS = 1000.0 / 60.0  # no point asking for frames faster than a screen shows them


class Player(QObject):
    """Plays, pauses, steps and jumps the time of ``document``."""

    playing_changed = Signal(bool)

    def __init__(
        self, document: Document, clock: Callable[[], float] = time.perf_counter, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.clock = clock
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self._anchor = (0.0, 0.0)  # (clock, document time) playback counts from
        self._setting = False  # the time change under way is the player's own
        self.document = document
        document.events.connect(self._on_event)

    def set_document(self, document: Document) -> None:
        """Follow ``document`` instead (stopped)."""
        self.pause()
        self.document.events.disconnect(self._on_event)
        self.document = document
        document.events.connect(self._on_event)

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    # ----------------------------------------------------------------- transport
    def play(self) -> None:
        """Start playing from the time shown, or from the in point when the time is outside the range."""
        if self.playing:
            return
        start, end = self.document.play_range()
        if not start <= self.document.time < end:
            self._set_time(start)
        self._anchor_now()
        self._set_interval()
        self.timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self.playing:
            self.timer.stop()
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        """Play or pause (the Space key)."""
        self.pause() if self.playing else self.play()

    def step(self, frames: int) -> None:
        """Move the time by ``frames`` frames of the timeline (from the frame shown), never before 0."""
        playback = self.document.playback
        self._set_time(max(0, playback.frame_of(self.document.time) + frames) / playback.fps)
        self._anchor_now()

    def jump_to_start(self) -> None:
        self._set_time(self.document.play_range()[0])
        self._anchor_now()

    def jump_to_end(self) -> None:
        self._set_time(self.document.play_range()[1])
        self._anchor_now()

    # ----------------------------------------------------------------- the loop
    def tick(self) -> None:
        """Show the frame the clock has reached (the timer calls this)."""
        playback = self.document.playback
        start, end = self.document.play_range()
        anchor_clock, anchor_time = self._anchor
        t = anchor_time + (self.clock() - anchor_clock) * playback.speed
        if t >= end:
            if not playback.loop:
                self._set_time(end)
                self.pause()
                return
            t = start + math.fmod(t - start, end - start)
        self._set_time(playback.frame_floor(t))

    def _anchor_now(self) -> None:
        self._anchor = (self.clock(), self.document.time)

    def _set_interval(self) -> None:
        playback = self.document.playback
        self.timer.setInterval(round(max(1000.0 / (playback.fps * playback.speed), MIN_TICK_MS)))

    def _set_time(self, t: float) -> None:
        self._setting = True
        try:
            self.document.set_time(t)
        finally:
            self._setting = False

    def _on_event(self, event: DocumentEvent) -> None:
        if isinstance(event, TimeChanged) and not self._setting:
            self._anchor_now()  # scrubbed while playing: play on from there
        elif isinstance(event, PlaybackChanged):
            self._anchor_now()  # a new speed counts from now, not from when playing started
            self._set_interval()
