"""The Timeline dock: the document's time, how it plays, and the keys of its clips, edited as in Blender.

A view over the document like the other panels: its :attr:`~scene.Document.time` (the playhead),
its :class:`~scene.playback.Playback` (frame rate, in/out range, loop, speed) and its clip layers,
followed through the document's events without echoing its own changes. From the top:

- the transport bar: jump to the in point, step a frame back, play/pause, step a frame on, jump to
  the out point, loop, speed, the in and out points (frames; "Set In"/"Set Out" at the playhead)
  and the frame rate. Space plays and pauses, Left/Right step, Shift+Left/Right jump (when the
  viewport or the timeline has the keyboard; the window adds the same actions to the viewport);
- the ruler: frames above, seconds below, the in/out range as a bar with handles to drag, and the
  current frame in the playhead's box. Pressing or dragging on it scrubs (on frames);
- the tracks: one row per clip layer (a bar from the clip's offset to where it ends, shaded on
  beyond when it loops) and one per keyframed group of it, with its keys as diamonds. Click a key
  to select it (and its layer), drag it to move it, Delete or right-click > Delete Key to delete
  it: each one undo step of :mod:`scene.clip_edits`. Labels sit in a column on the left.

The wheel zooms the time axis and dragging empty space pans it, never into negative time: only a
few pixels before 0 stay in view, so that the playhead at 0 shows whole and can be grabbed.
Shift+wheel (or the wheel over the labels, or the scroll bar) scrolls the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple, Sequence

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QFontMetricsF, QKeySequence, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QMenu,
    QScrollBar,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engines.fields import field_docs
from scene import Document, clip_edits
from scene.clip import GaussianClip
from scene.events import (
    CurrentLayerChanged,
    DocumentEvent,
    LayerAdded,
    LayerChanged,
    LayerRemoved,
    LayersReordered,
    PlaybackChanged,
    TimeChanged,
)
from scene.playback import MAX_FPS, MAX_SPEED, MIN_FPS, MIN_SPEED, Playback
from studio.playback import Player

MIN_SPAN_S = 0.01  # the narrowest time span a zoom can show
EDGE_PX = 12  # how far left of time 0 the view may reach: room to see and grab the playhead there
ROW_PX = 18  # height of a track row
RULER_PX = 30  # height of the ruler: frames, seconds, the in/out bar
FRAMES_LINE_PX = 13  # the ruler's first line: frame numbers
LABEL_PX = 150  # width of the label column
KEY_PX = 5.5  # half the width of a key's diamond
HIT_PX = 7.0  # how near a key (or a range handle) the mouse must be to grab it
RANGE_BAR_PX = 5  # height of the in/out bar at the bottom of the ruler

BACKGROUND = QColor("#282828")
ROW_EVEN, ROW_ODD = QColor("#2c2c2c"), QColor("#303030")
LAYER_ROW = QColor("#383838")
CURRENT_ROW = QColor("#3f4a5a")
RULER_BACKGROUND = QColor("#1e1e1e")
GRID = QColor("#363636")
OUTSIDE_RANGE = QColor(0, 0, 0, 70)
TEXT, DIM_TEXT = QColor("#dcdcdc"), QColor("#8c8c8c")
PLAYHEAD = QColor("#4a90f0")
RANGE = QColor("#c98a3a")
KEY_FILL, KEY_SELECTED, KEY_OUTLINE = QColor("#e2e2e2"), QColor("#ffb22e"), QColor("#0c0c0c")
LAYER_COLOURS = ("#5b8ed8", "#d8875b", "#6cbf74", "#b27ed8", "#d6c25a", "#5bc4c9")
FRAME_STEPS = (1, 2, 5)  # ruler labels every 1, 2, 5, 10, 20, 50... frames
SECOND_STEPS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class KeyRef(NamedTuple):
    """One key of the document: the clip layer, the group, and the key's time (seconds)."""

    layer_id: str
    group: str
    time: float


@dataclass(frozen=True)
class Track:
    """A row of the timeline: a clip layer (``group`` None: its bar) or one keyframed group of it (its keys)."""

    layer_id: str
    label: str
    colour: QColor
    group: str | None = None
    span: tuple[float, float] = (0.0, 0.0)  # the clip's offset and end time (document seconds)
    loop: bool = False
    keys: tuple[float, ...] = ()  # the group's key times


def tracks_of(document: Document) -> list[Track]:
    """The rows for ``document``: each clip layer in drawing order, followed by its keyframed groups."""
    rows: list[Track] = []
    for layer in document.layers:
        clip = layer.data
        if not isinstance(clip, GaussianClip):
            continue
        colour = QColor(LAYER_COLOURS[sum(1 for r in rows if r.group is None) % len(LAYER_COLOURS)])
        rows.append(Track(layer.id, layer.name, colour, span=(clip.timing.offset, clip.end_time), loop=clip.timing.loop))
        rows += [
            Track(layer.id, group.name, colour, group.name, keys=tuple(k.time for k in group.keys))
            for group in clip.groups
            if group.keys
        ]
    return rows


def nice_step(unit_px: float, min_px: float, steps: Sequence[float]) -> float:
    """The smallest of ``steps`` (continued by decades) whose ticks, ``unit_px`` pixels per unit, are ``min_px`` apart."""
    decade = 1.0
    while True:
        for step in steps:
            if step * decade * unit_px >= min_px:
                return step * decade
        decade *= 10.0


def _small_font(font: QFont, scale: float = 0.85, bold: bool = False) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(6.0, font.pointSizeF() * scale))
    small.setBold(bold)
    return small


def _diamond(x: float, y: float, r: float) -> QPolygonF:
    return QPolygonF([QPointF(x, y - r), QPointF(x + r, y), QPointF(x, y + r), QPointF(x - r, y)])


def _shade_outside_range(p: QPainter, panel: "TimelinePanel", w: float, h: float) -> tuple[float, float]:
    """Darken what lies before the in point and after the out point; returns their pixels."""
    start, end = panel.document.play_range()
    x_in, x_out = panel.x_px(start), panel.x_px(end)
    p.fillRect(QRectF(0, 0, max(x_in, 0), h), OUTSIDE_RANGE)
    p.fillRect(QRectF(x_out, 0, max(w - x_out, 0), h), OUTSIDE_RANGE)
    return x_in, x_out


class _CompactDoubleSpin(QDoubleSpinBox):
    """A double spin box that writes 24 and 0.5, not 24.000 and 0.500."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt's name)
        return f"{round(value, self.decimals()):g}"


# ============================================================================ the graphics parts
class _Ruler(pg.GraphicsWidget):
    """Frames and seconds over the tracks, the in/out bar, and the playhead's frame; press or drag to scrub."""

    def __init__(self, panel: "TimelinePanel") -> None:
        super().__init__()
        self.panel = panel
        self.setFixedHeight(RULER_PX)
        self._dragging: str | None = None  # "time", "in" or "out"

    def paint(self, p: QPainter, *_args: object) -> None:
        panel = self.panel
        w, h = self.width(), self.height()
        p.fillRect(QRectF(0, 0, w, h), RULER_BACKGROUND)
        x_in, x_out = _shade_outside_range(p, panel, w, h)
        p.setFont(_small_font(panel.font()))
        line = FRAMES_LINE_PX
        # frames: labels on the first line, ticks under them
        step = panel.frame_step()
        minor = step // 5 if step % 5 == 0 and step >= 5 else step // 2 if step % 2 == 0 else 0
        p.setPen(QPen(DIM_TEXT, 0))
        if minor and minor * panel.px_per_second() / panel.document.playback.fps >= 4:
            for _, x in panel.frames_every(minor):
                p.drawLine(QPointF(x, line), QPointF(x, line + 2))
        for frame, x in panel.frames_every(step):
            p.setPen(QPen(DIM_TEXT, 0))
            p.drawLine(QPointF(x, line), QPointF(x, line + 4))
            p.setPen(TEXT)
            p.drawText(QRectF(x - 40, -1, 80, line), Qt.AlignmentFlag.AlignCenter, str(frame))
        # seconds: the second line, dimmer, each label right of its tick
        tiny = _small_font(panel.font(), 0.8)
        p.setFont(tiny)
        seconds = nice_step(panel.px_per_second(), QFontMetricsF(tiny).horizontalAdvance("000.00 s") + 24, SECOND_STEPS)
        t0, t1 = panel.visible_seconds()
        k = math.floor(max(t0, 0.0) / seconds)
        top, bottom = line + 4, h - RANGE_BAR_PX
        while k * seconds <= t1:
            x = panel.x_px(k * seconds)
            p.setPen(QPen(GRID.lighter(150), 0))
            p.drawLine(QPointF(x, top), QPointF(x, bottom))
            p.setPen(DIM_TEXT)
            label = f"{round(k * seconds, 3):g} s"
            p.drawText(QRectF(x + 3, top - 1, 80, bottom - top), Qt.AlignmentFlag.AlignVCenter, label)
            k += 1
        # the in/out bar and its handles
        p.fillRect(QRectF(x_in, h - RANGE_BAR_PX + 1, max(x_out - x_in, 1.0), RANGE_BAR_PX - 2), RANGE.darker(160))
        for x in (x_in, x_out):
            p.fillRect(QRectF(x - 2, h - RANGE_BAR_PX - 2, 4, RANGE_BAR_PX + 2), RANGE)
        # the playhead: its line, and its frame in a box on top
        x = panel.x_px(panel.document.time)
        p.setPen(QPen(PLAYHEAD, 2))
        p.drawLine(QPointF(x, line), QPointF(x, h))
        bold = _small_font(panel.font(), bold=True)
        p.setFont(bold)
        text = panel.frame_text(panel.document.time)
        width = QFontMetricsF(bold).horizontalAdvance(text) + 10
        box = QRectF(x - width / 2, 0, width, line + 1)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(PLAYHEAD)
        p.drawRoundedRect(box, 3, 3)
        p.setPen(QColor("white"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def handle_at(self, pos: QPointF) -> str | None:
        """The in/out handle under ``pos`` (in the bar at the bottom), if any."""
        if pos.y() < self.height() - RANGE_BAR_PX - 6:
            return None
        start, end = self.panel.document.play_range()
        near = [(abs(pos.x() - self.panel.x_px(t)), name) for name, t in (("out", end), ("in", start))]
        distance, name = min(near)
        return name if distance <= HIT_PX else None

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._dragging = self.handle_at(event.pos()) or "time"
        if self._dragging != "time":
            self.panel.framed = False  # the view holds still under the handle
        self._drag_to(event.pos().x())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._dragging is not None:
            self._drag_to(event.pos().x())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._dragging is not None:
            self._drag_to(event.pos().x())  # moves come at most 100 a second: end where the mouse is
        self._dragging = None

    def wheelEvent(self, event) -> None:  # noqa: N802
        self.panel.box.wheelEvent(event, axis=0)  # zooms time, as over the tracks

    def _drag_to(self, x: float) -> None:
        panel = self.panel
        t = panel.document.playback.snap(panel.time_at(x))
        if self._dragging == "time":
            panel.document.set_time(t)
        elif self._dragging == "in":
            panel.set_in(t)
        else:
            panel.set_out(t)


class _Corner(pg.GraphicsWidget):
    """Above the labels: the playhead's time in seconds."""

    def __init__(self, panel: "TimelinePanel") -> None:
        super().__init__()
        self.panel = panel
        self.setFixedWidth(LABEL_PX)
        self.setFixedHeight(RULER_PX)

    def paint(self, p: QPainter, *_args: object) -> None:
        p.fillRect(QRectF(0, 0, self.width(), self.height()), RULER_BACKGROUND)
        p.setFont(_small_font(self.panel.font()))
        p.setPen(TEXT)
        document = self.panel.document
        text = f"{self.panel.frame_text(document.time)}  ·  {document.time:.2f} s"
        p.drawText(QRectF(8, 0, self.width() - 12, self.height()), Qt.AlignmentFlag.AlignVCenter, text)


class _Labels(pg.GraphicsWidget):
    """The row names: a clip layer in bold with its colour, its groups indented under it. Click: make the
    layer current (and a group the chosen one)."""

    def __init__(self, panel: "TimelinePanel") -> None:
        super().__init__()
        self.panel = panel
        self.setFixedWidth(LABEL_PX)

    def paint(self, p: QPainter, *_args: object) -> None:
        panel = self.panel
        w, h = self.width(), self.height()
        p.fillRect(QRectF(0, 0, w, h), BACKGROUND)
        normal, bold = _small_font(panel.font(), 0.95), _small_font(panel.font(), 0.95, bold=True)
        for i, track in panel.visible_rows():
            y = (i - panel.scroll) * ROW_PX
            p.fillRect(QRectF(0, y, w, ROW_PX), panel.row_colour(i, track))
            if track.group is None:
                p.fillRect(QRectF(4, y + 4, 4, ROW_PX - 8), track.colour)
                p.setFont(bold)
                text_x = 14
            else:
                p.setPen(QPen(KEY_OUTLINE, 0))
                p.setBrush(KEY_FILL)
                p.drawPolygon(_diamond(22, y + ROW_PX / 2, 3.5))
                p.setFont(normal)
                text_x = 32
            p.setPen(TEXT)
            rect = QRectF(text_x, y, w - text_x - 4, ROW_PX)
            text = QFontMetricsF(p.font()).elidedText(track.label, Qt.TextElideMode.ElideRight, rect.width())
            p.drawText(rect, Qt.AlignmentFlag.AlignVCenter, text)
        p.setPen(QPen(QColor("#1a1a1a"), 0))
        p.drawLine(QPointF(w - 0.5, 0), QPointF(w - 0.5, h))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        track = self.panel.track_at(event.pos().y())
        if event.button() == Qt.MouseButton.LeftButton and track is not None:
            self.panel.document.set_current(track.layer_id)
            if track.group is not None:
                self.panel.group_chosen.emit(track.group)
        else:
            event.ignore()

    def wheelEvent(self, event) -> None:  # noqa: N802
        self.panel.scroll_rows(-1 if event.delta() > 0 else 1)
        event.accept()


class _TrackBox(pg.ViewBox):
    """The tracks: rows, clip bars and keys painted under the playhead; keys are clicked, dragged and deleted here."""

    def __init__(self, panel: "TimelinePanel") -> None:
        super().__init__(enableMenu=False)
        self.panel = panel

    def paint(self, p: QPainter, *_args: object) -> None:
        panel = self.panel
        w, h = self.width(), self.height()
        p.fillRect(QRectF(0, 0, w, h), BACKGROUND)
        rows = panel.visible_rows()
        for i, track in rows:
            p.fillRect(QRectF(0, (i - panel.scroll) * ROW_PX, w, ROW_PX), panel.row_colour(i, track))
        p.setPen(QPen(GRID, 0))  # grid lines at the ruler's labelled frames
        for _, x in panel.frames_every(panel.frame_step()):
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        x_in, x_out = _shade_outside_range(p, panel, w, h)
        p.setPen(QPen(RANGE, 0, Qt.PenStyle.DashLine))
        for x in (x_in, x_out):
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        for i, track in rows:
            y = (i - panel.scroll) * ROW_PX
            if track.group is None:
                self._paint_bar(p, track, y, w)
            else:
                self._paint_keys(p, track, y)
        if not panel.rows:
            p.setPen(DIM_TEXT)
            p.setFont(_small_font(panel.font()))
            p.drawText(
                QRectF(8, 0, w - 16, h), Qt.AlignmentFlag.AlignCenter,
                "No clips yet: import a PLY sequence, or select splats and use Animation > Group Selection to key them",
            )

    def _paint_bar(self, p: QPainter, track: Track, y: float, w: float) -> None:
        panel = self.panel
        x0, x1 = panel.x_px(track.span[0]), panel.x_px(track.span[1])
        colour = QColor(track.colour)
        if track.loop and x1 < w:  # a looping clip goes on repeating: shaded on to the edge
            colour.setAlpha(45)
            p.setBrush(colour)
            p.setPen(QPen(track.colour, 0, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(x1, y + 4, w - x1 + 2, ROW_PX - 8))
        colour.setAlpha(150)
        p.setBrush(colour)
        p.setPen(QPen(track.colour.lighter(130), 0))
        p.drawRoundedRect(QRectF(x0, y + 3, max(x1 - x0, 2.0), ROW_PX - 6), 3, 3)

    def _paint_keys(self, p: QPainter, track: Track, y: float) -> None:
        panel = self.panel
        centre = y + ROW_PX / 2
        times = [panel.shown_key_time(KeyRef(track.layer_id, track.group, t)) for t in track.keys]
        if len(times) > 1:  # the span the group is animated over
            line = QColor(track.colour)
            line.setAlpha(120)
            p.setPen(QPen(line, 2))
            p.drawLine(QPointF(panel.x_px(min(times)), centre), QPointF(panel.x_px(max(times)), centre))
        p.setPen(QPen(KEY_OUTLINE, 1))
        for key_time, t in zip(track.keys, times):
            selected = panel.selected_key == KeyRef(track.layer_id, track.group, key_time)
            p.setBrush(KEY_SELECTED if selected else KEY_FILL)
            p.drawPolygon(_diamond(panel.x_px(t), centre, KEY_PX + (1 if selected else 0)))

    # ----------------------------------------------------------------- mouse
    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph's name)
        panel = self.panel
        key = panel.key_at(ev.pos())
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            panel.select_key(key)
            track = panel.track_at(ev.pos().y())
            if key is None and track is not None:
                panel.document.set_current(track.layer_id)
        elif ev.button() == Qt.MouseButton.RightButton and key is not None:
            ev.accept()
            panel.select_key(key)
            panel.show_key_menu(ev.screenPos().toPoint())
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        panel = self.panel
        if ev.button() == Qt.MouseButton.LeftButton:
            if ev.isStart():
                panel.start_key_drag(panel.key_at(ev.buttonDownPos()))
            if panel.dragging_key:
                ev.accept()
                panel.drag_key_to(ev.pos().x(), finish=ev.isFinish())
                return
        super().mouseDragEvent(ev, axis)

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.panel.scroll_rows(-1 if ev.delta() > 0 else 1)
            ev.accept()
            return
        super().wheelEvent(ev, axis)


class _Playhead(pg.InfiniteLine):
    """The playhead across the tracks, dragged to scrub; a key under the mouse is grabbed first (keys
    are often at the playhead: they are keyed there)."""

    def __init__(self, panel: "TimelinePanel") -> None:
        pen, hover = pg.mkPen(PLAYHEAD, width=2), pg.mkPen(PLAYHEAD.lighter(130), width=3)
        super().__init__(pos=0.0, movable=True, pen=pen, hoverPen=hover)
        self.panel = panel

    def _over_key(self, scene_pos: QPointF) -> bool:
        return self.panel.key_at(self.panel.box.mapFromScene(scene_pos)) is not None

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph's name)
        if ev.isStart() and self._over_key(ev.buttonDownScenePos()):
            ev.ignore()  # the track box takes it: a key drag
            return
        super().mouseDragEvent(ev)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if self._over_key(ev.scenePos()):
            ev.ignore()
            return
        super().mouseClickEvent(ev)


# ============================================================================ the panel
class TimelinePanel(QWidget):
    """The transport bar, the ruler and the tracks of ``document``, played by ``player``."""

    group_chosen = Signal(str)  # a group's key or row was clicked (its layer is the current one now)

    def __init__(self, document: Document, player: Player | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player or Player(document, parent=self)
        self.document = document
        self.rows: list[Track] = []
        self.scroll = 0  # the first row shown
        self.selected_key: KeyRef | None = None
        self._drag: tuple[KeyRef, float] | None = None  # the key being dragged and where it is now
        self._syncing = False
        self.framed = True  # the view shows the in/out range and follows it, until the artist zooms, pans or drags a handle
        self._build_transport()
        self._build_view()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.transport)
        tracks = QHBoxLayout()
        tracks.setSpacing(0)
        tracks.addWidget(self.view)
        tracks.addWidget(self.scroll_bar)
        layout.addLayout(tracks)
        self.key_menu = self._build_key_menu()
        self.transport_actions = self._build_actions()
        self.player.playing_changed.connect(self._show_playing)
        document.events.connect(self._on_event)
        self._follow_document()

    def set_document(self, document: Document) -> None:
        self.document.events.disconnect(self._on_event)
        self.document = document
        self.player.set_document(document)
        document.events.connect(self._on_event)
        self.selected_key = self._drag = None
        self.framed = True
        self._follow_document()

    # ----------------------------------------------------------------- building
    def _tool_button(
        self, tip: str, slot: Callable[[], object], icon: QStyle.StandardPixmap | None = None, text: str = ""
    ) -> QToolButton:
        button = QToolButton()
        if icon is not None:
            button.setIcon(self.style().standardIcon(icon))
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(icon is not None)  # text buttons keep their frame, to look like buttons
        button.clicked.connect(lambda _checked=False: slot())
        self.transport.addWidget(button)
        return button

    def _build_transport(self) -> None:
        docs = field_docs(Playback)
        pixmap = QStyle.StandardPixmap
        self.transport = QHBoxLayout()
        self.transport.setContentsMargins(4, 2, 4, 0)
        self.transport.setSpacing(2)
        player = self.player
        self._tool_button("Jump to the in point (Shift+Left)", player.jump_to_start, pixmap.SP_MediaSkipBackward)
        self._tool_button("Step one frame back (Left)", lambda: player.step(-1), pixmap.SP_MediaSeekBackward)
        self.play_button = self._tool_button("Play / pause (Space)", player.toggle, pixmap.SP_MediaPlay)
        self._tool_button("Step one frame on (Right)", lambda: player.step(1), pixmap.SP_MediaSeekForward)
        self._tool_button("Jump to the out point (Shift+Right)", player.jump_to_end, pixmap.SP_MediaSkipForward)
        self.loop_button = self._tool_button(
            docs["loop"], lambda: self.document.set_playback(loop=self.loop_button.isChecked()), pixmap.SP_BrowserReload
        )
        self.loop_button.setCheckable(True)
        self.transport.addSpacing(8)
        self.speed_box = self._spin(_CompactDoubleSpin(), "Speed ", "×", docs["speed"], MIN_SPEED, MAX_SPEED)
        self.speed_box.setSingleStep(0.25)
        self.speed_box.valueChanged.connect(lambda v: self.document.set_playback(speed=v))
        self.transport.addSpacing(8)
        self.in_box = self._spin(QSpinBox(), "In ", "", "The in point, in frames: " + docs["start"], 0, 10**6)
        self.in_box.valueChanged.connect(lambda f: self.set_in(f / self.document.playback.fps))
        self.out_box = self._spin(QSpinBox(), "Out ", "", "", 0, 10**6)
        self.out_box.setSpecialValueText("Out auto")
        self.out_box.valueChanged.connect(lambda f: self.set_out(f / self.document.playback.fps if f else None))
        self._tool_button("Put the in point at the playhead (Ctrl+Home)", self.set_in_at_playhead, text="Set In")
        self._tool_button("Put the out point at the playhead (Ctrl+End)", self.set_out_at_playhead, text="Set Out")
        self.transport.addSpacing(8)
        self.fps_box = self._spin(_CompactDoubleSpin(), "", " fps", docs["fps"], MIN_FPS, MAX_FPS)
        self.fps_box.setDecimals(3)
        self.fps_box.valueChanged.connect(lambda v: self.document.set_playback(fps=v))
        self.transport.addStretch(1)

    def _spin(self, box: QAbstractSpinBox, prefix: str, suffix: str, tip: str, low: float, high: float) -> QAbstractSpinBox:
        box.setPrefix(prefix)
        box.setSuffix(suffix)
        box.setRange(low, high)
        box.setToolTip(tip)
        box.setKeyboardTracking(False)  # typing "30" is one change, not "3" then "30"
        box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        box.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.setFixedWidth(max(72, box.fontMetrics().horizontalAdvance(prefix + "00000" + suffix) + 16))
        self.transport.addWidget(box)
        return box

    def _build_view(self) -> None:
        self.view = pg.GraphicsLayoutWidget()
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.setBackground(BACKGROUND)
        self.view.ci.setContentsMargins(0, 0, 0, 0)
        self.view.ci.setSpacing(0)
        self.corner, self.ruler, self.labels = _Corner(self), _Ruler(self), _Labels(self)
        self.box = _TrackBox(self)
        self.view.addItem(self.corner, 0, 0)
        self.view.addItem(self.ruler, 0, 1)
        self.view.addItem(self.labels, 1, 0)
        self.view.addItem(self.box, 1, 1)
        self.view.setMinimumHeight(RULER_PX + ROW_PX * 2)
        box = self.box
        box.setMouseEnabled(x=True, y=False)
        box.setLimits(minXRange=MIN_SPAN_S, maxXRange=1e5)
        box.setYRange(0.0, 1.0, padding=0)
        box.sigResized.connect(self._on_resized)
        box.sigXRangeChanged.connect(self._on_x_range)
        box.sigRangeChangedManually.connect(lambda *_: setattr(self, "framed", False))
        self.cursor = _Playhead(self)
        self.cursor.setBounds((0.0, None))
        self.cursor.setZValue(10)
        self.cursor.sigPositionChanged.connect(self._on_cursor_moved)
        box.addItem(self.cursor, ignoreBounds=True)
        self.scroll_bar = QScrollBar(Qt.Orientation.Vertical)
        self.scroll_bar.valueChanged.connect(self._set_scroll)
        self.view.installEventFilter(self)

    def _build_key_menu(self) -> QMenu:
        menu = QMenu(self)
        self.delete_key_action = menu.addAction("Delete Key", self.delete_selected_key)
        self.delete_key_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))  # shown; the view handles the key
        menu.addSeparator()
        self.interpolation_actions = {}
        for name in ("smooth", "linear"):
            action = menu.addAction(f"{name.capitalize()} Interpolation", lambda n=name: self.set_key_interpolation(n))
            action.setCheckable(True)
            self.interpolation_actions[name] = action
        return menu

    def _build_actions(self) -> list[QAction]:
        """The keys of the transport, active while the timeline (or a widget the window adds them to) has the keyboard."""
        player = self.player
        actions = []
        for text, keys, slot in (
            ("Play / Pause", ("Space",), player.toggle),
            ("Step Frame Back", ("Left",), lambda: player.step(-1)),
            ("Step Frame On", ("Right",), lambda: player.step(1)),
            ("Jump to In Point", ("Shift+Left",), player.jump_to_start),
            ("Jump to Out Point", ("Shift+Right",), player.jump_to_end),
            ("Set In Point at Playhead", ("Ctrl+Home",), self.set_in_at_playhead),
            ("Set Out Point at Playhead", ("Ctrl+End",), self.set_out_at_playhead),
        ):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(key) for key in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _checked=False, s=slot: s())
            self.addAction(action)
            actions.append(action)
        return actions

    # ----------------------------------------------------------------- geometry (pixels of the track box and ruler)
    def px_per_second(self) -> float:
        (x0, x1), _ = self.box.viewRange()
        return max(self.box.width(), 1.0) / (x1 - x0)

    def x_px(self, t: float) -> float:
        """Where time ``t`` lies across the ruler and the tracks, in their pixels."""
        return (t - self.box.viewRange()[0][0]) * self.px_per_second()

    def time_at(self, x: float) -> float:
        return self.box.viewRange()[0][0] + x / self.px_per_second()

    def visible_seconds(self) -> tuple[float, float]:
        return tuple(self.box.viewRange()[0])

    def frames_every(self, step: int) -> Iterator[tuple[int, float]]:
        """Every ``step``-th frame in view and its pixel."""
        t0, t1 = self.visible_seconds()
        fps = self.document.playback.fps
        first, last = max(0, math.floor(t0 * fps)), max(0, math.ceil(t1 * fps))
        for frame in range(first - first % step, last + 1, step):
            yield frame, self.x_px(frame / fps)

    def visible_rows(self) -> list[tuple[int, Track]]:
        count = math.ceil(self.box.height() / ROW_PX) + 1
        return [(i, self.rows[i]) for i in range(self.scroll, min(len(self.rows), self.scroll + count))]

    def frame_step(self) -> int:
        """Frames between the ruler's labels (and the tracks' grid lines): far enough apart to read."""
        room = QFontMetricsF(_small_font(self.font())).horizontalAdvance("00000")
        return int(nice_step(self.px_per_second() / self.document.playback.fps, room, FRAME_STEPS))

    def visible_row_count(self) -> int:
        return max(1, int(self.box.height() // ROW_PX))

    def track_at(self, y: float) -> Track | None:
        i = self.scroll + int(y // ROW_PX)
        return self.rows[i] if y >= 0 and 0 <= i < len(self.rows) else None

    def row_colour(self, i: int, track: Track) -> QColor:
        if track.layer_id == self.document.current_id and track.group is None:
            return CURRENT_ROW
        if track.group is None:
            return LAYER_ROW
        return ROW_ODD if i % 2 else ROW_EVEN

    def frame_text(self, t: float) -> str:
        """The frame at ``t``: a whole number on a frame, else with a decimal."""
        frame = t * self.document.playback.fps
        return str(round(frame)) if abs(frame - round(frame)) < 1e-6 else f"{frame:.1f}"

    # ----------------------------------------------------------------- keys
    def shown_key_time(self, key: KeyRef) -> float:
        """Where ``key`` is drawn: where it is being dragged to, or its time."""
        if self._drag is not None and self._drag[0] == key:
            return self._drag[1]
        return key.time

    def key_at(self, pos: QPointF) -> KeyRef | None:
        """The key nearest ``pos`` (track box pixels), within :data:`HIT_PX` across and in its row."""
        track = self.track_at(pos.y())
        if track is None or track.group is None:
            return None
        keys = [KeyRef(track.layer_id, track.group, t) for t in track.keys]
        near = [(abs(self.x_px(self.shown_key_time(k)) - pos.x()), k) for k in keys]
        near = [(d, k) for d, k in near if d <= HIT_PX]
        return min(near)[1] if near else None

    def key_point(self, key: KeyRef) -> QPointF:
        """Where ``key``'s diamond is drawn, in track box pixels."""
        row = next(i for i, r in enumerate(self.rows) if (r.layer_id, r.group) == key[:2])
        return QPointF(self.x_px(self.shown_key_time(key)), (row - self.scroll + 0.5) * ROW_PX)

    def select_key(self, key: KeyRef | None) -> None:
        """Select ``key`` (None: no key), and make its layer the current one."""
        self.selected_key = key
        if key is not None:
            self.document.set_current(key.layer_id)
            self.group_chosen.emit(key.group)
            self.view.setFocus(Qt.FocusReason.MouseFocusReason)
        self.box.update()

    @property
    def dragging_key(self) -> bool:
        return self._drag is not None

    def start_key_drag(self, key: KeyRef | None) -> None:
        self._drag = None if key is None else (key, key.time)
        if key is not None:
            self.select_key(key)

    def drag_key_to(self, x: float, finish: bool = False) -> None:
        """Show the dragged key at ``x`` (on a frame, never before 0); on ``finish`` move it there, one undo step."""
        key, _ = self._drag
        t = self.document.playback.snap(self.time_at(x))
        self._drag = (key, t)
        if finish:
            self._drag = None
            if abs(t - key.time) > 1e-9:
                self.selected_key = KeyRef(key.layer_id, key.group, t)
                clip_edits.move_key(self.document, key.layer_id, key.group, key.time, t)
        self.box.update()

    def delete_selected_key(self) -> None:
        key = self.selected_key
        if key is not None:
            self.selected_key = None
            clip_edits.delete_key(self.document, key.layer_id, key.group, key.time)

    def set_key_interpolation(self, interpolation: str) -> None:
        key = self.selected_key
        if key is not None:
            clip_edits.set_key_interpolation(self.document, key.layer_id, key.group, key.time, interpolation)

    def show_key_menu(self, screen_pos) -> None:
        """The selected key's menu (Delete Key, interpolation), shown at ``screen_pos``."""
        key = self.selected_key
        if key is None:
            return
        group = next(g for g in self.document.layer(key.layer_id).data.groups if g.name == key.group)
        current = group.key_at(key.time).interpolation
        for name, action in self.interpolation_actions.items():
            action.setChecked(name == current)
        self.key_menu.popup(screen_pos)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Delete (or Backspace) on the tracks deletes the selected key, and never reaches the window's
        Delete (which deletes the current layer): on the timeline it acts on keys only."""
        if watched is self.view and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    self.delete_selected_key()
                return True
        return super().eventFilter(watched, event)

    # ----------------------------------------------------------------- in/out range
    def set_in(self, t: float) -> None:
        self.document.set_playback(self.document.playback.with_in(self.document.playback.snap(t)))

    def set_out(self, t: float | None) -> None:
        playback = self.document.playback
        self.document.set_playback(playback.with_out(None if t is None else playback.snap(t)))

    def set_in_at_playhead(self) -> None:
        self.set_in(self.document.time)

    def set_out_at_playhead(self) -> None:
        self.set_out(self.document.time)

    def frame_range(self) -> None:
        """Show the in/out range, a little room either side."""
        start, end = self.document.play_range()
        margin = 0.03 * (end - start)
        self.box.setXRange(start - margin, end + margin, padding=0)  # the limit keeps it to a few pixels before 0
        self.framed = True

    # ----------------------------------------------------------------- rows
    def scroll_rows(self, rows: int) -> None:
        self.scroll_bar.setValue(self.scroll_bar.value() + rows)

    def _set_scroll(self, value: int) -> None:
        self.scroll = value
        self._repaint()

    def _on_resized(self, *_args: object) -> None:
        self._limit_to_positive_time()
        hidden = max(0, len(self.rows) - self.visible_row_count())
        self.scroll_bar.setRange(0, hidden)
        self.scroll_bar.setPageStep(self.visible_row_count())
        self.scroll_bar.setVisible(hidden > 0)
        if self.framed:
            self.frame_range()
        self._repaint()

    def _rebuild_rows(self) -> None:
        self.rows = tracks_of(self.document)
        if self.selected_key is not None and not any(
            (r.layer_id, r.group) == self.selected_key[:2] and any(abs(t - self.selected_key.time) < 1e-9 for t in r.keys)
            for r in self.rows
        ):
            self.selected_key = None  # undone, deleted, or its layer gone
        self._on_resized()

    # ----------------------------------------------------------------- view limits
    def _on_x_range(self, *_args: object) -> None:
        self._limit_to_positive_time()
        self._repaint()

    def _limit_to_positive_time(self) -> None:
        """Let pan and zoom reach no earlier than :data:`EDGE_PX` pixels before time 0, at any zoom."""
        (x0, x1), _ = self.box.viewRange()
        # An unchanged limit is a no-op, and clamping keeps the span: this settles at once.
        self.box.setLimits(xMin=-EDGE_PX * (x1 - x0) / max(self.box.width(), 1.0))

    def _repaint(self) -> None:
        for item in (self.ruler, self.corner, self.labels, self.box):
            item.update()

    @property
    def time(self) -> float:
        """Where the playhead stands, in seconds."""
        return float(self.cursor.value())

    # ----------------------------------------------------------------- playhead -> document
    def _on_cursor_moved(self, line: pg.InfiniteLine) -> None:
        if not self._syncing:
            self.document.set_time(self.document.playback.snap(float(line.value())))
            self._show_time()  # on the frame, where the document put it

    # ----------------------------------------------------------------- document -> view
    def _follow_document(self) -> None:
        self._show_playback()
        self._rebuild_rows()
        self.frame_range()
        self._show_time()

    def _on_event(self, event: DocumentEvent) -> None:
        if isinstance(event, TimeChanged):
            self._show_time()
        elif isinstance(event, PlaybackChanged):
            self._show_playback()
        elif isinstance(event, (LayerAdded, LayerRemoved, LayersReordered)) or (
            isinstance(event, LayerChanged) and event.field in ("name", "data")
        ):
            self._rebuild_rows()
            self._reframe()
        elif isinstance(event, CurrentLayerChanged):
            self._repaint()

    def _reframe(self) -> None:
        if self.framed:
            self.frame_range()

    def _show_time(self) -> None:
        """The playhead at the document's time; a time off the view pans it there (a page at a time)."""
        t = self.document.time
        (x0, x1), _ = self.box.viewRange()
        if not x0 <= t <= x1:
            span = x1 - x0
            self.box.setXRange(max(t - 0.1 * span, 0.0), max(t - 0.1 * span, 0.0) + span, padding=0)
        self._syncing = True
        try:
            self.cursor.setValue(t)
        finally:
            self._syncing = False
        for item in (self.ruler, self.corner):
            item.update()

    def _show_playback(self) -> None:
        """The transport's boxes from the document's playback settings, without echoing them back."""
        playback = self.document.playback
        start, end = self.document.play_range()
        boxes = (self.speed_box, self.fps_box, self.in_box, self.out_box, self.loop_button)
        for widget in boxes:
            widget.blockSignals(True)
        try:
            self.speed_box.setValue(playback.speed)
            self.fps_box.setValue(playback.fps)
            self.in_box.setValue(playback.frame_of(start))
            self.out_box.setValue(0 if playback.end is None else playback.frame_of(playback.end))
            self.loop_button.setChecked(playback.loop)
        finally:
            for widget in boxes:
                widget.blockSignals(False)
        self.out_box.setToolTip(
            f"The out point, in frames (now {playback.frame_of(end)}); "
            "auto: the end of the longest clip, 10 s without clips"
        )
        self._reframe()
        self._repaint()

    def _show_playing(self, playing: bool) -> None:
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(pixmap))
