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
        (record()[:-1], "the size, 63 bytes, is not a multiple of 32 (truncated or not .splat)"),
        (record() + b"\0" * 7, "the size, 71 bytes, is not a multiple of 32 (truncated or not .splat)"),
        (record(position=(0, float("nan"), 0)), "a position or scale is NaN or infinite"),
        (record(position=(float("-inf"), 0, 0)), "a position or scale is NaN or infinite"),
        (record(scale=(1, float("inf"), 1)), "a position or scale is NaN or infinite"),
        (record(scale=(1, 1, float("nan"))), "a position or scale is NaN or infinite"),
        (record(scale=(1, 0, 1)), "a scale is zero or negative"),
        (record(scale=(1, -2, 1)), "a scale is zero or negative"),
        (record(rot=(128, 128, 128, 128)), "a rotation quaternion is zero"),
    ],
)
def test_bad_files_raise_format_error(tmp_path, data, problem):
    path = tmp_path / "bad.splat"
    path.write_bytes(record() + data)
    with pytest.raises(FormatError) as info:
        read_splat(path)
    assert str(info.value) == f"{path}: {problem}"


def test_unreadable_file_gives_the_system_reason(tmp_path):
    with pytest.raises(FormatError) as info:
        read_splat(tmp_path / "nowhere.splat")
    assert str(info.value) == f"{tmp_path / 'nowhere.splat'}: cannot be read (No such file or directory)"


def test_empty_file_is_an_empty_cloud(tmp_path):
    (tmp_path / "e.splat").write_bytes(b"")
    cloud = read_splat(tmp_path / "e.splat")
    assert cloud.count == 0 and cloud.sh_degree == 0


def test_read_decodes_each_field_of_the_record(tmp_path):
    """Position and scale exactly, colour and alpha over 255, rotation as (q - 128) / 128."""
    (tmp_path / "r.splat").write_bytes(record((1.5, -2, 3), (0.5, 2, 4), (255, 0, 51, 204), (192, 64, 128, 128)))
    cloud = read_splat(tmp_path / "r.splat")
    np.testing.assert_array_equal(cloud.means, [[1.5, -2, 3]])
    np.testing.assert_allclose(cloud.log_scales, np.log([[0.5, 2, 4]]), rtol=1e-6)
    np.testing.assert_allclose(cloud.base_colors, [[1, 0, 0.2]], atol=1e-6)
    np.testing.assert_allclose(cloud.sh[0, 0], (np.array([1, 0, 0.2]) - 0.5) / C0, rtol=1e-5)
    np.testing.assert_allclose(cloud.opacity_logits, [np.log(0.8 / 0.2)], rtol=1e-5)
    np.testing.assert_allclose(cloud.quats, [[0.5 ** 0.5, -(0.5 ** 0.5), 0, 0]], atol=1e-6)


def test_alpha_0_and_255_read_as_half_a_step_inside_0_and_1(tmp_path):
    (tmp_path / "a.splat").write_bytes(record(rgba=(0, 0, 0, 0)) + record(rgba=(0, 0, 0, 255)))
    logits = read_splat(tmp_path / "a.splat").opacity_logits
    limit = 0.5 / 255
    np.testing.assert_allclose(logits, [np.log(limit / (1 - limit)), np.log((1 - limit) / limit)], rtol=1e-6)


def test_write_rounds_colour_opacity_and_normalised_rotation(tmp_path):
    c = 0.9015625  # 243.4 once normalised: 243 (not 244, as unnormalised or scaled by 129 would give)
    near_unit = 1.0009 * np.array([c, np.sqrt(1 - c * c), 0, 0])  # within the 1e-3 GaussianCloud keeps as is
    cloud = GaussianCloud(
        means=np.zeros((3, 3)),
        log_scales=np.zeros((3, 3)),
        quats=[near_unit, [0.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 0.0]],  # 1 -> 256: clipped to 255; -1 -> 0
        opacity_logits=[np.log(0.2 / 0.8), 0.0, 0.0],  # 0.2 * 255 = 51, 0.5 * 255 = 127.5 -> 128
        sh=[[[(0.2 - 0.5) / C0, (1.7 - 0.5) / C0, (-3.0 - 0.5) / C0]]] * 3,  # 51, clipped 255, clipped 0
    )
    assert cloud.quats[0, 0] == np.float32(near_unit[0])
    write_splat(tmp_path / "w.splat", cloud)
    data = (tmp_path / "w.splat").read_bytes()
    assert data[24:32] == bytes([51, 255, 0, 51, 243, 183, 128, 128])
    assert data[56:64] == bytes([51, 255, 0, 128, 128, 128, 255, 128])
    assert data[88:96] == bytes([51, 255, 0, 128, 128, 0, 128, 128])


def test_scale_too_small_for_float32_is_refused_without_warnings(tmp_path):
    import warnings

    for log_scale in (-200.0, 200.0):
        cloud = GaussianCloud.create(np.zeros((1, 3)), 1.0, [0.5, 0.5, 0.5]).replace(log_scales=[[0, log_scale, 0]])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(FormatError) as info:
                write_splat(tmp_path / "s.splat", cloud)
        problem = "a scale is too large or too small for .splat's float32 linear scales"
        assert str(info.value) == f"{tmp_path / 's.splat'}: {problem}"
    assert not (tmp_path / "s.splat").exists()
