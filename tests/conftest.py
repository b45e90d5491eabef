"""Test-session defaults: caches out of the home folder, no hub downloads, GPU tests skipped without CUDA."""

import atexit
import os
import shutil
import tempfile

import pytest
from hypothesis import settings

pytest_plugins = ["tests.coverage_floor"]

_CACHE = tempfile.mkdtemp(prefix="atelier4d-test-cache-")
_OWNER = os.getpid()


@atexit.register
def _remove_cache() -> None:
    """Remove the session's cache folder; not from processes forked off this one (mutmut's)."""
    if os.getpid() == _OWNER:
        shutil.rmtree(_CACHE, ignore_errors=True)


for variable in ("XDG_CACHE_HOME", "TORCH_EXTENSIONS_DIR", "MPLCONFIGDIR"):
    os.environ.setdefault(variable, os.path.join(_CACHE, variable.lower()))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# A loaded 2-core CI machine makes wall-clock deadlines flaky; example counts keep runs short.
settings.register_profile("atelier4d", deadline=None, max_examples=100)
settings.load_profile("atelier4d")


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (marked gpu)")
    for item in gpu_items:
        item.add_marker(skip)
