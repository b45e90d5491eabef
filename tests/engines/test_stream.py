"""Snapshots of live torch state: copied once into a slot, unchanged arrays skipped, validated on reading."""

from __future__ import annotations

import numpy as np
import torch

from engines.optim.model import GaussianModel
from engines.runtime.stream import LiveArrays, SnapshotReader, SnapshotWriter, check_payload
from scene import GaussianCloud


def _model(n: int = 50) -> GaussianModel:
    rng = np.random.default_rng(0)
    cloud = GaussianCloud(
        rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), rng.normal(size=(n, 4)), rng.normal(size=n), rng.normal(size=(n, 16, 3))
    )
    return GaussianModel.from_cloud(cloud, 3)


def _assert_same(a: GaussianCloud, b: GaussianCloud) -> None:
    for name in ("means", "log_scales", "quats", "opacity_logits", "sh"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_live_arrays_stream_as_the_model_s_cloud_and_follow_in_place_changes(tmp_path):
    model = _model()
    writer, reader = SnapshotWriter(tmp_path), SnapshotReader(tmp_path)
    try:
        check_payload(model.live_arrays())
        for _ in range(7):  # more than the slots: each is rewritten, some with unchanged arrays
            notice = writer.write("main", model.live_arrays())
            _assert_same(reader.read(notice), model.to_cloud())
            _assert_same(model.live_arrays().payload(), model.to_cloud())
            with torch.no_grad():
                model.params["sh_rest"].mul_(0.5)  # in place: the version changes, the object does not
        notice = writer.write("main", model.live_arrays())
        with torch.no_grad():
            model.params["means"].add_(1.0)  # after the write: the snapshot must not change
        expected = reader.read(notice)
        assert not np.allclose(expected.means, model.params["means"].detach().numpy())
    finally:
        reader.close()
        writer.close()


def test_an_unchanged_immutable_payload_is_not_copied_again(tmp_path, monkeypatch):
    cloud = _model().to_cloud()
    writer, reader = SnapshotWriter(tmp_path), SnapshotReader(tmp_path)
    try:
        for _ in range(3):
            writer.write("main", cloud)
        copies = []
        monkeypatch.setattr(np, "copyto", lambda *a, **k: copies.append(a))
        notice = writer.write("main", cloud)
        assert copies == []
        _assert_same(reader.read(notice), cloud)
    finally:
        reader.close()
        writer.close()


def test_invalid_live_arrays_are_dropped_by_the_reader(tmp_path):
    model = _model()
    with torch.no_grad():
        model.params["means"][3, 1] = float("nan")  # a diverged engine
    writer, reader = SnapshotWriter(tmp_path), SnapshotReader(tmp_path)
    try:
        assert reader.read(writer.write("main", model.live_arrays())) is None
    finally:
        reader.close()
        writer.close()


def test_live_arrays_of_an_unknown_kind_are_refused():
    try:
        check_payload(LiveArrays("no-such-kind", {}))
    except KeyError as exc:
        assert "no-such-kind" in str(exc)
    else:
        raise AssertionError("accepted an unknown kind")
