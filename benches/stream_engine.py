"""A bench engine for ``benches/streaming.py``: a 100k-splat model in torch that steps faster than 10 a second.

The reconstruct engine steps about twice a second on 100k splats on a small CPU, too slowly to
take 10 snapshots a second. This engine holds the same state (a :class:`GaussianModel`, SH degree
3) and does a fixed amount of real work per step: an in-place update of every parameter (so
every tensor changes every step, as in training, and no snapshot can skip an unchanged array),
plus ``matmuls`` products of two ``matmul_size`` square matrices (the stand-in for rendering and
backpropagation; it uses torch's threads as they do). About 40 ms a step on two idle cores. It offers a
snapshot of its live parameters every step the runtime wants one, exactly as reconstruct does.
Registered as "bench_stream"; the spawned worker imports this module by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from engines.registry import register_engine
from engines.runtime import Event, Progress, RunContext, Snapshot


@dataclass
class BenchStreamConfig:
    gaussians: int = 100_000
    """Splats in the model (SH degree 3: 59 floats each)."""
    steps: int = 1_000_000
    """Steps before it ends (the bench cancels it long before)."""
    matmuls: int = 20
    """Matrix products per step, besides the Adam step."""
    matmul_size: int = 512
    """Side of the multiplied matrices."""


@register_engine("bench_stream", BenchStreamConfig)
def bench_stream(config: BenchStreamConfig, ctx: RunContext) -> Iterator[Event]:
    """A fixed amount of torch work per step on a Gaussian model, with a snapshot whenever wanted."""
    import numpy as np
    import torch

    from engines.optim.model import GaussianModel
    from scene import GaussianCloud

    rng = np.random.default_rng(0)
    n = config.gaussians
    cloud = GaussianCloud(
        rng.normal(size=(n, 3)), np.full((n, 3), -3.0), rng.normal(size=(n, 4)), np.zeros(n), rng.normal(size=(n, 16, 3)) * 0.1
    )
    model = GaussianModel.from_cloud(cloud, 3)
    torch.manual_seed(0)
    a = torch.randn(config.matmul_size, config.matmul_size)
    b = torch.randn(config.matmul_size, config.matmul_size) / config.matmul_size**0.5
    for step in range(1, config.steps + 1):
        for _ in range(config.matmuls):
            a = torch.tanh(a @ b)
        with torch.no_grad():
            for param in model.params.values():
                param.mul_(0.9999)  # in place, as an optimizer's step
        if ctx.wants_snapshot():
            yield Snapshot(model.live_arrays())
        yield Progress(step, config.steps, {"loss": float(a.abs().mean()), "splats": float(len(model))})
