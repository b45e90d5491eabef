"""One thread's CPU time and the time the hypervisor stole from it, from ``/proc`` (Linux).

How a guest counts stolen time: a KVM guest with paravirtual steal time (kernel option
``PARAVIRT_TIME_ACCOUNTING``, no ``no-steal-acc`` on its command line, as on our development VMs)
leaves the time the host kept a vCPU from running out of the clock it charges its tasks. So a
thread's CPU time (``time.thread_time()``, the first field of ``/proc/self/task/TID/schedstat``) is
its own work, stolen time excluded; its time waiting for a CPU of the guest (the second field) runs
on the scheduler's other clock, which goes on while the vCPU is stolen. Measured on such a VM (2
vCPUs, Linux 6.18): a thread spinning on one CPU and sampling itself every 0.2 s found wall time
less CPU time less waiting equal to its CPU's steal (to 0.3 ms) whenever it ran alone, 10-60 ms at a
time, and 0 when the steal hit while it waited.

So between two samples a thread was running, waiting for a CPU, sleeping, or stolen from while it
ran; the last shows in neither clock, and it is at most the steal the hypervisor reported meanwhile
for the CPUs the thread ran on (per-CPU ``steal`` of ``/proc/stat``, in 10 ms units; field 39 of
``/proc/self/task/TID/stat`` is the CPU a thread ran on last). :func:`stolen_between` takes the
smaller of the two. The machine-wide steal (all CPUs summed) would charge a thread for time stolen
from other threads' CPUs, and subtracting it from the thread's CPU time would take it out twice.
Without ``/proc`` stolen time is 0 and waits are unknown (0).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ThreadSample:
    """One thread's clocks at one moment, all in seconds."""

    wall: float  # time.perf_counter()
    run: float  # CPU time the thread ran (stolen time left out by the kernel)
    wait: float  # time it was runnable and waited for a CPU of the guest
    cpu: int  # the CPU it ran on last (-1: unknown)
    steal: tuple[float, ...]  # steal so far of each CPU of the machine


def cpu_steal_s() -> tuple[float, ...]:
    """Time stolen so far from each CPU: the per-CPU "steal" column of /proc/stat (empty without)."""
    try:
        with open("/proc/stat") as stat:
            lines = [line.split() for line in stat if line.startswith("cpu") and line[3].isdigit()]
    except OSError:
        return ()
    return tuple(int(fields[8]) / _TICK if len(fields) > 8 else 0.0 for fields in lines)


def sample_thread() -> ThreadSample:
    """The clocks of the calling thread now."""
    wall, run = time.perf_counter(), time.thread_time()
    task = f"/proc/self/task/{threading.get_native_id()}"
    try:
        with open(f"{task}/schedstat") as schedstat:
            wait = int(schedstat.read().split()[1]) / 1e9
        with open(f"{task}/stat") as stat:
            cpu = int(stat.read().rsplit(")", 1)[1].split()[36])  # field 39; the name may hold spaces
    except (OSError, IndexError, ValueError):
        wait, cpu = 0.0, -1
    return ThreadSample(wall, run, wait, cpu, cpu_steal_s())


def stolen_between(a: ThreadSample, b: ThreadSample) -> float:
    """Seconds stolen from the thread between samples ``a`` and ``b`` of it (see the module doc)."""
    cpus = {a.cpu, b.cpu}
    if -1 in cpus or not a.steal or not b.steal:
        return 0.0
    steal = sum(b.steal[c] - a.steal[c] for c in cpus)
    unaccounted = (b.wall - a.wall) - (b.run - a.run) - (b.wait - a.wait)
    return max(0.0, min(steal, unaccounted))
