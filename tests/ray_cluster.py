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
import tempfile
import time
from pathlib import Path
from typing import Iterator, Sequence

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 3.0
START_ATTEMPTS = 3


def free_port() -> int:
    """A free TCP port from the system's ephemeral range (above Ray's worker ports, 10002-19999)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_cluster(cpus: int = 2, paths: Sequence[str] = (), gpus: int = 0, client: bool = True) -> Iterator[str]:
    """Start a head with ``cpus`` CPUs and ``gpus`` GPUs whose workers can import from ``paths`` too
    (besides the project's root); yield its Ray Client address (``client=False``: its GCS address,
    how a machine of the cluster connects); stop it."""
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a head started here and its client: no token to exchange
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), *paths, os.environ.get("PYTHONPATH")]))}
    deadline = time.monotonic() + START_TIMEOUT_S
    for attempt in range(START_ATTEMPTS):
        head, client_port, gcs_port = _start_head(cpus, gpus, env, deadline)
        if isinstance(head, subprocess.Popen):
            break
        if attempt == START_ATTEMPTS - 1:
            raise RuntimeError(f"the test Ray cluster did not start: {head}")
    try:
        address = f"ray://127.0.0.1:{client_port}" if client else f"127.0.0.1:{gcs_port}"
        _connect_when_ready(address, deadline)
        yield address
    finally:
        from engines.runtime import cluster

        cluster.disconnect()
        _stop(head)


def _start_head(cpus: int, gpus: int, env: dict[str, str], deadline: float) -> tuple[subprocess.Popen | str, int, int]:
    """A head listening on its client port, and its client and GCS ports; or what it said when it
    exited (its services may have taken a port picked for it: the caller tries again with others)."""
    client_port, gcs_port = free_port(), free_port()
    ray = Path(sys.executable).with_name("ray")
    with tempfile.TemporaryFile() as log:
        head = subprocess.Popen(
            [str(ray), "start", "--head", "--block", f"--num-cpus={cpus}", f"--num-gpus={gpus}", f"--port={gcs_port}",
             f"--ray-client-server-port={client_port}", "--include-dashboard=false", "--disable-usage-stats"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", client_port), timeout=1):
                return head, client_port, gcs_port
            if head.poll() is not None or time.monotonic() > deadline:
                _stop(head)
                log.seek(0)
                said = log.read().decode(errors="replace").strip().splitlines()[-5:]
                return f"exit code {head.returncode}: " + " / ".join(said), client_port, gcs_port
            time.sleep(0.2)


def _stop(head: subprocess.Popen) -> None:
    """Stop the head and every Ray process it started (its process group): politely, then not."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        head.wait(STOP_GRACE_S)
    with contextlib.suppress(ProcessLookupError):  # services still stopping, or the head itself
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
