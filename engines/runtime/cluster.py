"""The Ray cluster engines may run on: the connection, what the cluster has, and the code it runs.

This process holds one connection (Ray's rule: one cluster per driver), made on first use, so
nothing of Ray is imported or started while no job asks for a cluster. An address is a Ray Client
address (``ray://host:10001``, how a laptop reaches a cluster), a head's GCS address
(``host:6379``, from a machine of the cluster) or ``auto`` (``RAY_ADDRESS``, else the cluster this
machine belongs to). Before Ray is asked to connect (it retries for half a minute) the address is
probed with one TCP connection, so a cluster that is not there is said within seconds, naming the
address.

The code: a job runs ``engines`` and ``scene`` on the cluster. :func:`connect` compares the
cluster's copy (its installed version and a fingerprint of its sources) with this machine's; when
they differ, or the cluster has none, the connection ships this machine's two packages with every
job (``runtime_env`` ``py_modules``, which Ray takes for a whole connection only), and the libraries they need that the cluster lacks are named with
what to install.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

NAMESPACE = "atelier4d"
"""The Ray namespace of our actors."""
SHIPPED_PACKAGES = ("engines", "scene")
"""What a job runs on the cluster (the studio and the renderer stay here)."""
NEEDED_LIBRARIES = ("numpy", "torch", "diffusers", "transformers", "trimesh", "PIL", "scipy")
"""Libraries the shipped packages import that a cluster node must have installed."""
PROBE_TIMEOUT_S = 4.0
DEFAULT_CLIENT_PORT = 10001
DEFAULT_GCS_PORT = 6379


class ClusterError(Exception):
    """The cluster cannot run our jobs: unreachable, refused us, or lacks what they need. The
    message names the address and says what to do."""


@dataclass(frozen=True)
class NodeStatus:
    """One live node of the cluster."""

    address: str  # its IP
    cpus: float
    gpus: float


@dataclass(frozen=True)
class ClusterStatus:
    """What the cluster has now, for the Jobs dock and the connection test."""

    address: str
    nodes: tuple[NodeStatus, ...]
    cpus: float
    gpus: float
    free_cpus: float
    free_gpus: float
    ships_code: bool  # jobs carry this machine's engines and scene (the cluster's differ or are missing)
    cluster_version: str | None  # atelier4d installed on the cluster, if any

    def summary(self) -> str:
        """One line: nodes, free GPUs and CPUs, and whether the code travels with the jobs."""
        nodes = f"{len(self.nodes)} node" + ("s" if len(self.nodes) != 1 else "")
        code = "this machine's code travels with each job" if self.ships_code else f"atelier4d {self.cluster_version} installed there"
        gpus = f"{_count(self.free_gpus)} of {_count(self.gpus)} GPUs free" if self.gpus else "no GPU"
        return f"{nodes}, {gpus}, {_count(self.free_cpus)} of {_count(self.cpus)} CPUs free; {code}"


@dataclass
class _Connection:
    address: str
    ships_code: bool
    cluster_version: str | None
    runtime_env: dict[str, Any] = field(default_factory=dict)


_lock = threading.Lock()
_connection: _Connection | None = None


def resolve_address(address: str) -> str:
    """``address`` with ``auto`` replaced by ``RAY_ADDRESS`` when that is set; a blank one refused."""
    address = address.strip()
    if not address:
        raise ClusterError("no Ray cluster address given: ray://HOST:10001, HOST:6379 or auto")
    if address == "auto":
        return os.environ.get("RAY_ADDRESS", "").strip() or "auto"
    return address


def probe(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Open and close one TCP connection to ``address``'s port; a :class:`ClusterError` naming the
    address when nothing answers within ``timeout`` (``auto`` without ``RAY_ADDRESS`` is not probed)."""
    if address == "auto":
        return
    client = address.startswith("ray://")
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port or (DEFAULT_CLIENT_PORT if client else DEFAULT_GCS_PORT)
    except ValueError as exc:  # a port that is no number
        raise ClusterError(f"the Ray cluster address {address!r} is not valid: {exc}") from None
    if not host:
        raise ClusterError(f"the Ray cluster address {address!r} names no host (ray://HOST:10001)")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.timeout:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: no answer within {timeout:g} s") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {reason.lower()}") from None


def connect(address: str) -> _Connection:
    """This process's connection to the cluster at ``address`` (made once; a :class:`ClusterError`
    when it cannot be, or when jobs would need another cluster than the one connected)."""
    global _connection
    address = resolve_address(address)
    with _lock:
        if _connection is not None:
            if _connection.address != address:
                raise ClusterError(
                    f"Atelier4D is connected to the Ray cluster at {_connection.address} already (one cluster "
                    f"at a time); restart it to use {address}")
            return _connection
        probe(address)
        # gRPC's C core (under Ray Client) logs from fork hooks into children started with a preexec
        # function ("Kick failed: eventfd_write ..."): nothing an artist can act on
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
        try:
            import ray
        except ImportError as exc:
            raise ClusterError(f"cannot use the Ray cluster at {address}: Ray is not installed here ({exc}); "
                               "`pip install 'ray[client]'` installs it") from None

        _init(address)
        try:
            connection = _check_code(address)
            if connection.runtime_env:  # Ray uploads local folders only for a whole connection: connect again with them
                ray.shutdown()
                _init(address, connection.runtime_env)
        except BaseException:
            ray.shutdown()
            raise
        _connection = connection
        return _connection


def _init(address: str, runtime_env: dict[str, Any] | None = None) -> None:
    import ray

    try:
        ray.init(address=address, namespace=NAMESPACE, runtime_env=runtime_env, logging_level="ERROR", log_to_driver=False)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, grpc errors...
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {_first_line(exc)}") from None


def disconnect() -> None:
    """Drop the connection (the actors of this process end with it)."""
    global _connection
    with _lock:
        if _connection is not None:
            import ray

            ray.shutdown()
            _connection = None


def connected_address() -> str | None:
    """The address this process is connected to, or None (without importing Ray)."""
    return _connection.address if _connection is not None else None


def status(address: str) -> ClusterStatus:
    """Connect (if needed) and say what the cluster has now."""
    connection = connect(address)
    import ray

    nodes = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        total = node.get("Resources", {})
        nodes.append((node.get("NodeManagerAddress", "?"), total.get("CPU", 0.0), total.get("GPU", 0.0)))
    free = ray.available_resources()  # Ray's public API says what is free for the whole cluster only
    total = ray.cluster_resources()
    return ClusterStatus(
        connection.address, tuple(NodeStatus(*node) for node in nodes), total.get("CPU", 0.0), total.get("GPU", 0.0), free.get("CPU", 0.0),
        free.get("GPU", 0.0), connection.ships_code, connection.cluster_version,
    )


def placement(address: str, device: str) -> tuple[dict[str, Any], int]:
    """Ray options for the actor of a job on ``device`` ("cuda..." asks for a GPU, "auto" for one
    when the cluster has any, else a CPU), and how many such jobs the cluster can run at once (its
    GPUs, or its CPUs)."""
    connect(address)
    import ray

    total = ray.cluster_resources()
    wants_gpu = device.startswith("cuda") or (device == "auto" and total.get("GPU", 0) > 0)
    options = {"num_cpus": 1, "num_gpus": 1 if wants_gpu else 0, "max_concurrency": 8}
    return options, max(1, int(total.get("GPU" if wants_gpu else "CPU", 1)))


def code_fingerprint(root: Path | None = None) -> str:
    """A hash of the sources of the shipped packages under ``root`` (this machine's by default)."""
    root = root or Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in SHIPPED_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def installed_version() -> str | None:
    """The installed atelier4d's version, or None."""
    try:
        return importlib.metadata.version("atelier4d")
    except importlib.metadata.PackageNotFoundError:
        return None


def cluster_side_facts() -> dict[str, Any]:
    """Run on the cluster: its atelier4d (version and fingerprint of its sources, if importable
    there), its Python, and which needed libraries it lacks."""
    facts: dict[str, Any] = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}", "version": installed_version()}
    spec = importlib.util.find_spec("engines")
    facts["fingerprint"] = code_fingerprint(Path(spec.origin).parents[1]) if spec and spec.origin else None
    facts["missing"] = [name for name in NEEDED_LIBRARIES if importlib.util.find_spec(name) is None]
    return facts


def _check_code(address: str) -> _Connection:
    """Ask the cluster what it has (:func:`cluster_side_facts`, sent by value: the cluster may have
    no ``engines`` to import it from) and decide what jobs carry (:func:`code_plan`)."""
    import ray
    from ray import cloudpickle  # what Ray pickles tasks with

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        facts = ray.get(ray.remote(num_cpus=0)(cluster_side_facts).remote(), timeout=120)
    except Exception as exc:
        raise ClusterError(f"the Ray cluster at {address} could not run a task: {_first_line(exc)}") from None
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    return code_plan(address, facts)


def code_plan(address: str, facts: dict[str, Any]) -> _Connection:
    """What jobs on the cluster at ``address`` must carry, given its :func:`cluster_side_facts`: nothing
    when its atelier4d is this machine's (same version and sources), else our ``engines`` and
    ``scene``; a :class:`ClusterError` saying what to install when it lacks a library they need."""
    version = installed_version()
    if facts["missing"]:
        raise ClusterError(
            f"the Ray cluster at {address} lacks {', '.join(facts['missing'])}: install on every node "
            f"`pip install atelier4d=={version}` (or `pip install -e .` of this checkout), then try again")
    same = facts["version"] == version and facts["fingerprint"] == code_fingerprint()
    root = Path(__file__).resolve().parents[2]
    runtime_env = {} if same else {"py_modules": [str(root / package) for package in SHIPPED_PACKAGES],
                                   "excludes": ["__pycache__", "*.pyc"]}
    return _Connection(address, not same, facts["version"], runtime_env)


def _first_line(exc: BaseException) -> str:
    """``exc`` in one line: Ray's errors carry the server's traceback below their first line."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _count(value: float) -> str:
    return f"{value:g}"
