"""A local Ray cluster for the tests: a head on 127.0.0.1 with 2 CPUs and no GPU, reached as a laptop
reaches a remote one (Ray Client, ``ray://127.0.0.1:PORT``).

The head runs in the foreground (``ray start --head --block``) as a child of the test session, so
stopping that one process stops the cluster, and nothing of it outlives the session. Its workers
can import ``tests`` (the runtime tests' small engines) through ``PYTHONPATH``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 3.0


def free_port() -> int:
    """A free TCP port from the system's ephemeral range (above Ray's worker ports, 10002-19999)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_cluster(cpus: int = 2, paths: Sequence[str] = ()) -> Iterator[str]:
    """Start a head with ``cpus`` CPUs whose workers can import from ``paths`` too (besides the
    project's root); yield its Ray Client address; stop it."""
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a head started here and its client: no token to exchange
    client_port, gcs_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), *paths, os.environ.get("PYTHONPATH")]))}
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray), "start", "--head", "--block", f"--num-cpus={cpus}", "--num-gpus=0", f"--port={gcs_port}",
         f"--ray-client-server-port={client_port}", "--include-dashboard=false", "--disable-usage-stats"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", client_port), timeout=1):
                break
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test Ray cluster did not start (exit code {head.poll()})")
            time.sleep(0.2)
        address = f"ray://127.0.0.1:{client_port}"
        _connect_when_ready(address, deadline)
        yield address
    finally:
        from engines.runtime import cluster

        cluster.disconnect()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)  # the head and every Ray process it started
        try:
            head.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:  # the head outlives a SIGTERM while its services stop
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def _connect_when_ready(address: str, deadline: float) -> None:
    """Connect this process (as the tests' jobs will): a head whose port just opened may still
    refuse its first client while its own services start."""
    from engines.runtime import cluster

    while True:
        try:
            cluster.connect(address)
            return
        except cluster.ClusterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
