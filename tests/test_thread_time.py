"""A thread's own CPU and stolen time (tests/thread_time.py): the /proc reading and the estimate."""

from __future__ import annotations

import sys
import time

import pytest

from tests.thread_time import ThreadSample, cpu_steal_s, sample_thread, stolen_between


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_samples_the_calling_thread():
    a = sample_thread()
    deadline = time.thread_time() + 0.05
    while time.thread_time() < deadline:  # 50 ms of work
        pass
    b = sample_thread()
    assert len(a.steal) == len(cpu_steal_s()) >= 1  # one entry per online CPU
    assert a.cpu >= 0 and b.cpu >= 0
    assert b.run - a.run >= 0.05 and b.wait >= a.wait >= 0
    assert all(y >= x for x, y in zip(a.steal, b.steal))
    assert 0 <= stolen_between(a, b) <= b.wall - a.wall


def sample(wall: float, run: float, wait: float = 0.0, cpu: int = 0, steal: tuple[float, ...] = (0.0, 0.0)) -> ThreadSample:
    return ThreadSample(wall, run, wait, cpu, steal)


def test_steal_of_the_threads_cpu_while_it_ran_is_its_own():
    start = sample(0.0, 0.0)
    # ran 70 ms of a 100 ms gap on CPU 0, which lost 30 ms: those are the missing 30
    assert stolen_between(start, sample(0.1, 0.07, steal=(0.03, 0.0))) == pytest.approx(0.03)
    # another CPU's steal is not this thread's
    assert stolen_between(start, sample(0.1, 0.1, steal=(0.0, 0.05))) == 0.0
    # nor more than the time it neither ran nor waited for a CPU: 100 - 80 - 15 = 5 ms
    assert stolen_between(start, sample(0.1, 0.08, wait=0.015, steal=(0.03, 0.0))) == pytest.approx(0.005)


def test_a_thread_that_moved_counts_both_cpus():
    start = sample(0.0, 0.0, cpu=0)
    assert stolen_between(start, sample(0.1, 0.05, cpu=1, steal=(0.01, 0.02))) == pytest.approx(0.03)


def test_nothing_stolen_without_proc():
    unknown = ThreadSample(0.1, 0.05, 0.0, -1, ())
    assert stolen_between(sample(0.0, 0.0), unknown) == 0.0
