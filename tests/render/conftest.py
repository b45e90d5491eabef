"""Shared fixtures of the renderer tests: one headless EGL renderer per session, skipped without EGL."""

from __future__ import annotations

import numpy as np
import pytest

from scene import GaussianCloud


@pytest.fixture(scope="session")
def offscreen():
    """An :class:`OffscreenRenderer` on a headless context, or a skip saying why there is none."""
    from render.context import HeadlessUnavailable
    from render.offscreen import OffscreenRenderer

    try:
        renderer = OffscreenRenderer()
    except HeadlessUnavailable as exc:
        pytest.skip(f"no headless OpenGL 3.3 (EGL) on this machine: {exc}")
    yield renderer
    renderer.release()


@pytest.fixture
def ctx(offscreen):
    """The headless context, current on this thread for the test (for tests that draw with it directly)."""
    from render.context import current

    with current(offscreen.ctx) as context:
        yield context


def random_cloud(
    n: int, seed: int = 0, sh_degree: int = 3, spread: float = 1.0, opacities: tuple[float, float] = (0.3, 0.95)
) -> GaussianCloud:
    """Anisotropic, rotated, overlapping Gaussians with view-dependent SH colour."""
    rng = np.random.default_rng(seed)
    cloud = GaussianCloud.create(
        rng.uniform(-spread, spread, (n, 3)),
        rng.uniform(0.03, 0.25, (n, 3)) * spread,
        rng.uniform(0.1, 0.9, (n, 3)),
        rng.uniform(*opacities, n),
        quats=rng.normal(size=(n, 4)),
        sh_degree=sh_degree,
    )
    sh = np.array(cloud.sh)
    sh[:, 1:] = rng.normal(0.0, 0.25, sh[:, 1:].shape)
    return cloud.replace(sh=sh)
