"""Cycles are collected on the main thread only while the studio runs (studio/main_thread_gc.py)."""

import gc
import weakref

from studio.main_thread_gc import MainThreadCollector


class Node:
    pass


def test_the_collector_takes_over_from_the_automatic_one_and_gives_it_back(qtbot):
    gc.enable()
    collector = MainThreadCollector(interval_ms=10)
    assert not gc.isenabled()
    node = Node()
    node.itself = node  # a cycle only the cycle collector frees
    alive = weakref.ref(node)
    del node
    collector.thresholds = (0, 0, 0)  # every generation is due
    qtbot.waitUntil(lambda: alive() is None, timeout=2000)  # the timer collected it
    collector.deleteLater()
    qtbot.waitUntil(gc.isenabled, timeout=2000)
