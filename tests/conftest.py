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


@pytest.fixture(scope="session")
def depth_folder(tmp_path_factory):
    """A tiny random-weight depth model in the real layout (``tests/tiny_models.py``), built once."""
    from tests.tiny_models import tiny_model

    return tiny_model("depth", tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def ray_cluster():
    """The Ray Client address of a local cluster (2 CPUs, no GPU) kept for the session (``tests/ray_cluster.py``)."""
    from tests.ray_cluster import local_cluster

    with local_cluster() as address:
        yield address


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache of this test's own, with downloads off (as on a machine offline)."""
    import huggingface_hub.constants
    import huggingface_hub.utils._cache_manager  # scan_cache_dir's own copy of the constant

    cache = tmp_path / "hub-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    for module in (huggingface_hub.constants, huggingface_hub.utils._cache_manager):
        monkeypatch.setattr(module, "HF_HUB_CACHE", str(cache))  # read once, at import
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


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
