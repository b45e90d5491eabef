""".splat: the 32-byte record, quantisation bounds of a PLY -> .splat -> PLY trip, bad input."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from scene import GaussianCloud
from scene.io import FormatError, read_ply, read_splat, write_gaussians_ply, write_splat
from scene.sh import C0


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, np.float64)))


def test_record_layout(tmp_path):
    q = np.array([0.5, -0.5, 0.5, 0.5], np.float32)
    cloud = GaussianCloud(
        means=[[1.5, -2.0, 3.25]],
        log_scales=np.log([[0.5, 1.0, 2.0]]),
        quats=[q],
        opacity_logits=[0.0],
        sh=[[[0.0, 1.0 / C0, -1.0 / C0]]],  # colour 0.5, 1.5 -> 1, -0.5 -> 0
    )
    write_splat(tmp_path / "a.splat", cloud)
    expected = struct.pack(
        "<3f3f4B4B", 1.5, -2.0, 3.25, 0.5, 1.0, 2.0, 128, 255, 0, 128, 192, 64, 192, 192
    )
    assert (tmp_path / "a.splat").read_bytes() == expected


def test_read_gives_a_degree_0_cloud_with_finite_logits(tmp_path):
    record = struct.pack("<3f3f4B4B", 0, 0, 0, 1, 1, 1, 0, 0, 0, 255, 255, 128, 128, 128)
    record += struct.pack("<3f3f4B4B", 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 128, 128, 128, 0)
    (tmp_path / "b.splat").write_bytes(record)
    cloud = read_splat(tmp_path / "b.splat")
    assert cloud.count == 2 and cloud.sh_degree == 0
    assert np.isfinite(cloud.opacity_logits).all()
    assert cloud.opacities[0] > 0.99 and cloud.opacities[1] < 0.01
    np.testing.assert_allclose(cloud.quats[0], [1, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(cloud.quats[1], [0, 0, 0, -1], atol=1e-6)


def test_ply_to_splat_to_ply_within_quantisation(tmp_path, helpers, rng):
    cloud = helpers.random_cloud(rng, 500, 3)
    write_gaussians_ply(tmp_path / "a.ply", cloud)
    write_splat(tmp_path / "a.splat", read_ply(tmp_path / "a.ply"))
    write_gaussians_ply(tmp_path / "b.ply", read_splat(tmp_path / "a.splat"))
    back = read_ply(tmp_path / "b.ply")

    assert back.sh_degree == 0
    np.testing.assert_array_equal(back.means, cloud.means)
    np.testing.assert_allclose(back.scales, cloud.scales, rtol=1e-6)
    # Colours and opacities are rounded to the nearest of 256 levels: off by at most half a step.
    step = 1 / 255
    np.testing.assert_allclose(back.base_colors, cloud.base_colors, atol=step / 2 + 1e-6)
    np.testing.assert_allclose(back.opacities, cloud.opacities, atol=step / 2 + 1e-6)
    # Each quaternion component is off by at most half a step of 1/128 before renormalising;
    # the renormalised quaternion is then within |err| / (1 - |err|) of the original.
    err = np.sqrt(4) * (0.5 / 128)
    sign = np.sign(np.sum(back.quats * cloud.quats, axis=1, keepdims=True))
    assert np.abs(back.quats * sign - cloud.quats).max() <= err / (1 - err) * 2
    assert np.all(np.abs(np.sum(back.quats * cloud.quats, axis=1)) > 1 - err**2)


def test_opacity_and_colour_extremes_round_trip(tmp_path):
    cloud = GaussianCloud.create(np.zeros((3, 3)), 0.1, [[0, 0, 0], [1, 1, 1], [0.5, 0.2, 0.9]], [0.0, 1.0, 0.5])
    write_splat(tmp_path / "e.splat", cloud)
    back = read_splat(tmp_path / "e.splat")
    np.testing.assert_allclose(back.base_colors, cloud.base_colors, atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(back.opacities, [0.5 / 255, 1 - 0.5 / 255, 0.5], atol=0.5 / 255 + 1e-6)


def test_scale_too_large_for_float32_is_refused(tmp_path):
    cloud = GaussianCloud.create(np.zeros((1, 3)), 1.0, [0.5, 0.5, 0.5]).replace(log_scales=[[100.0, 0, 0]])
    with pytest.raises(FormatError, match="scale"):
        write_splat(tmp_path / "s.splat", cloud)
    assert not (tmp_path / "s.splat").exists()


def record(position=(0, 0, 0), scale=(1, 1, 1), rgba=(1, 2, 3, 4), rot=(255, 128, 128, 128)) -> bytes:
    return struct.pack("<3f3f4B4B", *position, *scale, *rgba, *rot)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (record()[:-1], "multiple of 32"),
        (record() + b"\0" * 7, "multiple of 32"),
        (record(position=(0, float("nan"), 0)), "NaN or infinite"),
        (record(scale=(1, float("inf"), 1)), "NaN or infinite"),
        (record(scale=(1, 0, 1)), "zero or negative"),
        (record(scale=(1, -2, 1)), "zero or negative"),
        (record(rot=(128, 128, 128, 128)), "quaternion is zero"),
    ],
)
def test_bad_files_raise_format_error(tmp_path, data, problem):
    path = tmp_path / "bad.splat"
    path.write_bytes(record() + data)
    with pytest.raises(FormatError, match=problem) as info:
        read_splat(path)
    assert str(path) in str(info.value)
