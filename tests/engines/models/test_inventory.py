"""What the Models page and ``atelier4d models`` share: sizes, disk usage, stopping a download."""

import pytest

from engines.models import ModelSource, role_named
from engines.models.hub import fetch
from engines.models.inventory import disk_usage, folder_size, inventory, size_text


def test_sizes_read_as_people_read_them():
    assert size_text(0) == "0.0 MB" and size_text(523_456) == "0.5 MB" and size_text(2_580_000_000) == "2.58 GB"


def test_disk_usage_counts_a_model_shared_by_roles_once(tiny_models, tmp_path):
    text = tiny_models("text")
    statuses = inventory({"text": str(text), "refiner": str(text), "depth": str(tiny_models("depth"))}, cache_dir=tmp_path)
    assert disk_usage(statuses) == folder_size(text) + folder_size(tiny_models("depth")) > 0


def test_a_progress_callback_that_raises_stops_the_download_and_its_exception_comes_out(tmp_path, monkeypatch):
    """How a caller cancels: its own exception, not a "could not be downloaded" error."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    class Stop(Exception):
        pass

    steps = []

    def snapshot_download(repo_id, *, local_files_only=False, tqdm_class=None, **_):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        bar = tqdm_class(total=10, disable=True)
        for step in range(10):
            bar.update(1)
            steps.append(step)
        raise AssertionError("the download should have stopped")

    def progress(fraction, text):
        if fraction >= 0.3:
            raise Stop()

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    with pytest.raises(Stop):
        fetch(role_named("depth"), ModelSource.parse("someone/depth"), cache_dir=tmp_path, progress=progress)
    assert steps == [0, 1]
