"""Checkpoint files of the runtime (engines/runtime/checkpoint.py): round trip without pickle,
write order against a crash, discarding."""

from __future__ import annotations

import json
import pickle
import time
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


def test_index_records_step_engine_config_files_and_structure(tmp_path):
    """checkpoint.json is the documented index: plain values inline, arrays and tensors by name."""
    before = time.time()
    state = {"means": np.zeros((2, 3), np.float32), "params": [torch.ones(2), 3], "lr": np.float32(0.5)}
    index_path = save_checkpoint(tmp_path / "runs" / "a", 12, state, "fit_points", {"steps": 3, "out": Path("x.ply")})
    assert index_path == tmp_path / "runs" / "a" / "checkpoint.json"  # missing parent folders are made
    index = json.loads(index_path.read_text())
    assert before <= index.pop("saved_at") <= time.time()
    assert index == {
        "step": 12,
        "engine": "fit_points",
        "config": {"steps": 3, "out": "x.ply"},  # a value JSON lacks is written as its str()
        "files": ["state-000000012.npz", "state-000000012.pt"],
        "state": {"means": {"__array__": "state.means"}, "params": [{"__tensor__": "state.params.0"}, 3], "lr": 0.5},
    }
    assert index_path.read_text().startswith('{\n "step": 12,')  # indented, one key a line


def test_numpy_scalars_come_back_as_plain_numbers(tmp_path):
    state = {"lr": np.float32(0.25), "step": np.int64(4), "flag": np.bool_(True)}
    save_checkpoint(tmp_path, 1, state, "fit_points", {})
    loaded = load_checkpoint(tmp_path).state
    assert loaded == {"lr": 0.25, "step": 4, "flag": True}
    assert [type(loaded[k]) for k in ("lr", "step", "flag")] == [float, int, bool]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json"]  # no arrays, no state files


def test_tensors_come_back_as_tensors_beside_arrays(tmp_path):
    state = {"t": torch.arange(3.0, requires_grad=True), "a": [np.arange(2), {"b": np.ones(1, np.int8)}]}
    save_checkpoint(tmp_path, 3, state, "e", {})
    save_checkpoint(tmp_path, 4, state, "e", {})  # the same folder again replaces the step-3 files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "state-000000004.npz", "state-000000004.pt"]
    loaded = load_checkpoint(tmp_path)
    assert loaded.step == 4 and loaded.config == {}
    assert torch.equal(loaded.state["t"], torch.arange(3.0)) and not loaded.state["t"].requires_grad
    np.testing.assert_array_equal(loaded.state["a"][0], np.arange(2))
    assert loaded.state["a"][1]["b"].dtype == np.int8


def test_states_that_would_need_pickle_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"state.a.0 is an object array, which cannot be saved without pickle"):
        save_checkpoint(tmp_path, 1, {"a": [np.array([None, 1], dtype=object)]}, "e", {})
    with pytest.raises(TypeError, match=r"state.d is a dict; a state holds arrays, tensors, numbers, strings, lists "
                                        r"and string-keyed dicts"):
        save_checkpoint(tmp_path, 1, {"d": {1: 2}}, "e", {})
    assert checkpoint_step(tmp_path) is None


def test_tampered_state_files_holding_pickles_are_not_loaded(tmp_path, monkeypatch):
    """The npz is read with allow_pickle=False and the .pt with weights_only=True, asked for
    explicitly: it holds even where the environment turns torch's default off."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    save_checkpoint(tmp_path, 2, {"a": np.ones(2), "t": torch.ones(2)}, "e", {})
    good_npz = (tmp_path / "state-000000002.npz").read_bytes()
    np.savez(tmp_path / "state-000000002.npz", a=np.array([Path("x")], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_checkpoint(tmp_path)
    (tmp_path / "state-000000002.npz").write_bytes(good_npz)
    torch.save({"state.t": Path("x")}, tmp_path / "state-000000002.pt")
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(tmp_path)


def test_checkpoint_step_is_none_without_a_readable_index(tmp_path):
    assert checkpoint_step(None) is None
    assert checkpoint_step(tmp_path / "missing") is None
    (tmp_path / "checkpoint.json").write_text("{not json")
    assert checkpoint_step(tmp_path) is None
    (tmp_path / "checkpoint.json").write_text('{"engine": "e"}')
    assert checkpoint_step(tmp_path) is None
    (tmp_path / "checkpoint.json").write_text('{"step": "5"}')
    assert checkpoint_step(tmp_path) == 5


def test_discarding_without_a_checkpoint_is_harmless(tmp_path):
    discard_checkpoint(tmp_path)
    (tmp_path / "state-000000001.npz").write_bytes(b"left by a crash")
    discard_checkpoint(tmp_path)
    assert list(tmp_path.iterdir()) == []
