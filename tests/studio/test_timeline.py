"""The Timeline dock drives the document's time and follows it, without echoing its own changes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from scene import Document
from scene.events import TimeChanged
from studio.panels.timeline import EDGE_PX
from tests.studio.conftest import cloud_document


def record_times(document: Document) -> list[TimeChanged]:
    events: list[TimeChanged] = []
    document.events.connect(lambda e: events.append(e) if isinstance(e, TimeChanged) else None)
    return events


def cursor_point(window, t: float):
    """Where time ``t`` lies on the timeline plot's viewport, in its pixels (halfway up)."""
    plot = window.timeline.plot
    box = plot.getViewBox()
    (_, (y0, y1)) = box.viewRange()
    return plot.mapFromScene(box.mapViewToScene(QPointF(t, (y0 + y1) / 2)))


def test_moving_the_cursor_sets_the_document_time_once(make_window):
    window = make_window()
    window.set_document(cloud_document())
    events = record_times(window.document)
    window.timeline.cursor.setValue(0.4)
    assert window.document.time == pytest.approx(0.4)
    assert events == [TimeChanged(window.document.time)]
    assert window.timeline.time == pytest.approx(0.4)
    assert not window.isWindowModified() and not window.document.undo_stack.can_undo  # time is no edit


def test_dragging_the_cursor_with_the_mouse_scrubs_the_time(make_window, qtbot):
    window = make_window()
    events = record_times(window.document)
    viewport = window.timeline.plot.viewport()
    start, end = cursor_point(window, 0.0), cursor_point(window, 0.6)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for fraction in (0.25, 0.5, 0.75, 1.0):
        qtbot.mouseMove(viewport, start + (end - start) * fraction)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert window.document.time == pytest.approx(0.6, abs=0.05)
    assert window.document.time == window.timeline.time
    assert 1 <= len(events) <= 4 and events[-1] == TimeChanged(window.document.time)  # one per move, no echo


def test_document_time_moves_the_cursor_without_echo(make_window):
    window = make_window()
    events = record_times(window.document)
    window.document.set_time(0.75)
    assert window.timeline.time == 0.75 and events == [TimeChanged(0.75)]
    window.document.set_time(3.0)  # past the range shown: the range grows instead of clamping the time
    assert window.timeline.time == 3.0 and window.document.time == 3.0
    assert events == [TimeChanged(0.75), TimeChanged(3.0)]
    window.timeline.cursor.setValue(2.5)  # and the cursor can be dragged there
    assert window.document.time == 2.5


def test_a_new_or_opened_document_sets_the_cursor(make_window):
    window = make_window()
    old = window.document
    window.document.set_time(0.6)
    window.new_document()
    assert window.document is not old and window.document.time == 0.0 and window.timeline.time == 0.0
    window.timeline.cursor.setValue(0.2)
    assert window.document.time == pytest.approx(0.2) and old.time == 0.6  # the old document is let go
    loaded = cloud_document()
    loaded.set_time(0.35)
    window.set_document(loaded)
    assert window.timeline.time == 0.35 and loaded.time == 0.35


def test_panning_and_zooming_never_show_negative_time(make_window, qtbot):
    """The view reaches no further left than a few pixels before 0 (room for the cursor there)."""
    window = make_window()
    plot = window.timeline.plot
    box, viewport = plot.getViewBox(), plot.viewport()

    def earliest_pixel() -> float:
        (x0, x1), _ = box.viewRange()
        return x0 / (x1 - x0) * box.width()

    start, end = cursor_point(window, 0.5), cursor_point(window, 0.9)  # grab the axis away from the cursor
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for fraction in (0.25, 0.5, 0.75, 1.0):  # dragging right pulls earlier time into view
        qtbot.mouseMove(viewport, start + (end - start) * fraction)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert window.document.time == 0.0  # the cursor stayed put
    assert -EDGE_PX - 0.5 <= earliest_pixel() <= 0.0
    for _ in range(5):  # zoom out about the start, then in, then pan far left
        box.scaleBy(x=1.5, center=QPointF(0.05, 0.0))
        assert earliest_pixel() >= -EDGE_PX - 0.5
    assert box.viewRange()[0][1] > 5.0
    for _ in range(8):
        box.scaleBy(x=0.5, center=QPointF(0.0, 0.0))
        assert earliest_pixel() >= -EDGE_PX - 0.5
    box.translateBy(x=-10.0)
    assert -EDGE_PX - 0.5 <= earliest_pixel() <= 0.0


def test_no_auto_range_button_nor_plot_menu(make_window, qtbot):
    window = make_window()
    plot_item = window.timeline.plot.getPlotItem()
    plot_item.getViewBox().translateBy(x=0.3)  # the "A" button used to appear over a view moved by hand
    viewport = window.timeline.plot.viewport()
    for x in (60, 80):  # the pointer moves over the plot
        point = QPointF(x, 20)
        move = QMouseEvent(QEvent.Type.MouseMove, point, viewport.mapToGlobal(point), Qt.MouseButton.NoButton,
                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, move)
    assert plot_item.mouseHovering and not plot_item.autoBtn.isVisible()
    assert not plot_item.menuEnabled() and not plot_item.getViewBox().menuEnabled()
