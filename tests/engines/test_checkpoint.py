"""Checkpoint files of the runtime (engines/runtime/checkpoint.py): round trip without pickle,
write order against a crash, discarding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engines.runtime import checkpoint as module
from engines.runtime.checkpoint import checkpoint_step, discard_checkpoint, load_checkpoint, save_checkpoint


def test_checkpoint_round_trip_without_pickle(tmp_path):
    state = {"means": np.arange(6, dtype=np.float32).reshape(2, 3), "nested": {"k": [1, 2.5, "x", None]}, "t": (1, 2)}
    save_checkpoint(tmp_path, 7, state, "fit_points", {"steps": 3})
    save_checkpoint(tmp_path, 9, state, "fit_points", {"steps": 3})
    loaded = load_checkpoint(tmp_path)
    assert (loaded.step, loaded.engine, checkpoint_step(tmp_path)) == (9, "fit_points", 9)
    np.testing.assert_array_equal(loaded.state["means"], state["means"])
    assert loaded.state["nested"] == state["nested"] and loaded.state["t"] == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "state-000000009.npz"]
    with pytest.raises(TypeError, match="state.bad is a object"):
        save_checkpoint(tmp_path, 10, {"bad": object()}, "fit_points", {})
    (tmp_path / "result.ply").write_bytes(b"kept")
    discard_checkpoint(tmp_path)
    assert checkpoint_step(tmp_path) is None and load_checkpoint(tmp_path) is None
    assert [p.name for p in tmp_path.iterdir()] == ["result.ply"]


def test_a_crash_before_the_new_index_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """State files come first, the index replaces the old one, and only then do old states go."""
    state = {"means": np.ones((2, 3), np.float32), "params": torch.arange(4.0)}
    save_checkpoint(tmp_path, 7, state, "fit_points", {})
    real_output = module.atomic_output

    def crash_at_the_index(path):
        if Path(path).name == module.INDEX:
            raise KeyboardInterrupt("killed between the state files and the index")
        return real_output(path)

    monkeypatch.setattr(module, "atomic_output", crash_at_the_index)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 9, {"means": np.zeros((2, 3), np.float32), "params": torch.zeros(4)}, "fit_points", {})
    loaded = load_checkpoint(tmp_path)
    assert loaded.step == 7
    np.testing.assert_array_equal(loaded.state["means"], state["means"])
    assert torch.equal(loaded.state["params"], state["params"])
