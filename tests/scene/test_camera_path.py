"""Camera paths: interpolation through the keys, short-way slerp, constant speed, JSON, presets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from scene.camera import Camera
from scene.camera_path import PRESETS, CameraKey, CameraPath, preset
from scene.rotation import axis_angle_to_quat, quat_to_matrix


def _curvy_path(constant_speed: bool = False) -> CameraPath:
    """Uneven keys: short and long hops at equal time steps, turning and zooming as they go."""
    rng = np.random.default_rng(7)
    positions = [(0, 0, 0), (0.1, 0, 0), (3, 1, 0), (3.2, 1, -1), (1, 2, -3)]
    keys = []
    for i, p in enumerate(positions):
        quat = axis_angle_to_quat(rng.normal(size=3), rng.uniform(0.2, 2.5))
        keys.append(CameraKey(p, tuple(quat), 30.0 + 10.0 * i, time=0.5 + 1.25 * i))
    return CameraPath(tuple(keys), constant_speed)


def _angle_between(q0: np.ndarray, q1: np.ndarray) -> float:
    """Rotation angle (radians) taking orientation ``q0`` to ``q1``."""
    return 2.0 * math.acos(min(1.0, abs(float(np.dot(q0, q1)))))


def test_keys_are_sorted_and_unique_in_time() -> None:
    a, b = CameraKey((0, 0, 0), time=2.0), CameraKey((1, 0, 0), time=1.0)
    assert CameraPath((a, b)).keys == (b, a)
    with pytest.raises(ValueError, match="share the time 1 s"):
        CameraPath((b, CameraKey((5, 0, 0), time=1.0)))
    with pytest.raises(ValueError, match="at least one key"):
        CameraPath(())


def test_interpolation_passes_through_every_key() -> None:
    path = _curvy_path()
    for key in path.keys:
        camera = path.camera_at(key.time, 64, 48)
        np.testing.assert_allclose(camera.position, key.position, atol=1e-12)
        np.testing.assert_allclose(camera.c2w[:3, :3], quat_to_matrix(np.array(key.orientation)), atol=1e-12)
        assert camera.fov_y_deg == pytest.approx(key.fov_y_deg, abs=1e-12)
    between = path.camera_at(0.5 * (path.keys[1].time + path.keys[2].time), 64, 48)
    assert between.fov_y_deg == pytest.approx(0.5 * (path.keys[1].fov_y_deg + path.keys[2].fov_y_deg))  # linear fov
    before, after = path.camera_at(0.0, 8, 8), path.camera_at(100.0, 8, 8)  # held at the ends
    np.testing.assert_allclose(before.position, path.keys[0].position, atol=1e-12)
    np.testing.assert_allclose(after.position, path.keys[-1].position, atol=1e-12)


def test_the_path_has_no_kinks_at_the_keys() -> None:
    """The direction of travel is the same just before and just after an inner key (straight lines between keys
    would turn there by the angle between the hops)."""
    path, h = _curvy_path(), 1e-6
    for key in path.keys[1:-1]:
        before, at, after = path.sample(np.array([key.time - h, key.time, key.time + h]))[0]
        incoming, outgoing = (at - before) / np.linalg.norm(at - before), (after - at) / np.linalg.norm(after - at)
        assert float(incoming @ outgoing) > 1.0 - 1e-4


def test_a_one_key_path_stands_still() -> None:
    key = CameraKey((1, 2, 3), tuple(axis_angle_to_quat(np.array([0, 1, 0]), 0.3)), 40.0, time=0.0)
    path = CameraPath((key,))
    assert path.duration == 0.0 and list(path.frames(24)) == [0.0]
    camera = path.camera_at(5.0, 32, 24)
    np.testing.assert_allclose(camera.position, key.position)
    assert camera.fov_y_deg == 40.0


def test_slerp_turns_the_short_way() -> None:
    """From 170 to -170 degrees of yaw is 20 degrees through 180, not 340 through 0."""
    def yaw(deg: float) -> tuple[float, ...]:
        return tuple(axis_angle_to_quat(np.array([0.0, 1.0, 0.0]), math.radians(deg)))

    path = CameraPath((CameraKey((0, 0, 0), yaw(170), time=0.0), CameraKey((0, 0, 0), yaw(-170), time=1.0)))
    _, quats, _ = path.sample(np.linspace(0.0, 1.0, 11))
    middle = path.camera_at(0.5, 8, 8).forward
    np.testing.assert_allclose(middle, [0.0, 0.0, 1.0], atol=1e-12)  # yaw 180 looks along +Z
    steps = [_angle_between(a, b) for a, b in zip(quats, quats[1:])]
    np.testing.assert_allclose(steps, math.radians(2.0), atol=1e-9)  # even steps, 20 degrees in all
    # A key stored as -q (the same rotation) must not send the camera the long way round either.
    flipped = path.replaced(1, CameraKey((0, 0, 0), tuple(-np.array(yaw(-170))), time=1.0))
    np.testing.assert_allclose(flipped.camera_at(0.5, 8, 8).forward, middle, atol=1e-12)


def test_constant_speed_moves_equal_distances_per_frame() -> None:
    path = _curvy_path(constant_speed=True)
    times = np.linspace(path.keys[0].time, path.duration, 101)
    uneven = _curvy_path().sample(times)[0]
    positions = path.sample(times)[0]
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    assert np.ptp(steps) < 0.01 * steps.mean()
    uneven_steps = np.linalg.norm(np.diff(uneven, axis=0), axis=1)
    assert np.ptp(uneven_steps) > 0.5 * uneven_steps.mean()  # the keys' own timing is far from even
    np.testing.assert_allclose(positions[[0, -1]], [path.keys[0].position, path.keys[-1].position], atol=1e-9)
    assert path.duration == _curvy_path().duration


def test_constant_speed_keeps_the_time_of_turning_in_place() -> None:
    """A turn on the spot keeps its duration instead of happening in an instant."""
    turn = tuple(axis_angle_to_quat(np.array([0.0, 1.0, 0.0]), 1.0))
    keys = (CameraKey((0, 0, 0), time=0.0), CameraKey((2, 0, 0), time=0.5), CameraKey((2, 0, 0), turn, time=2.5),
            CameraKey((4, 0, 0), turn, time=4.0))
    path = CameraPath(keys, constant_speed=True)
    # 2 s of moving shared evenly by the two hops of 2 units: arrive at 1 s, turn for 2 s, leave at 3 s.
    positions, quats, _ = path.sample(np.array([0.5, 1.0, 2.0, 3.0, 3.5]))
    np.testing.assert_allclose(positions[:, 0], [1.0, 2.0, 2.0, 2.0, 3.0], atol=2e-3)
    assert _angle_between(quats[1], quats[2]) == pytest.approx(0.5, abs=1e-3)  # half-way through the turn
    assert _angle_between(quats[1], quats[3]) == pytest.approx(1.0, abs=1e-3)


def test_frames_run_from_zero_to_the_last_key() -> None:
    path = _curvy_path()  # last key at 5.5 s
    times = path.frames(10)
    assert len(times) == 56 and times[0] == 0.0 and times[-1] == pytest.approx(5.5)
    np.testing.assert_allclose(path.retimed(11.0).frames(10)[-1], 11.0)
    camera = path.cameras(10, 32, 24)[17]
    np.testing.assert_array_equal(camera.c2w, path.camera_at(1.7, 32, 24).c2w)


def test_editing_helpers() -> None:
    path = _curvy_path()
    new = CameraKey((9, 9, 9), time=2.0)
    assert path.added(new).keys[2] == new and len(path.added(new).keys) == 6
    assert path.removed(0).keys == path.keys[1:]
    assert path.replaced(1, new).keys[1] == new
    reordered = path.reordered(0, 2)
    assert [k.time for k in reordered.keys] == [k.time for k in path.keys]
    assert [k.position for k in reordered.keys][:3] == [path.keys[1].position, path.keys[2].position, path.keys[0].position]


def test_key_from_a_camera_reproduces_it() -> None:
    camera = Camera.look_at([1.0, 2.0, 3.0], [0.0, 0.5, -1.0], width=64, height=48, fov_y_deg=35.0)
    path = CameraPath((CameraKey.from_camera(camera, 0.0),))
    np.testing.assert_allclose(path.camera_at(0.0, 64, 48).c2w, camera.c2w, atol=1e-12)


def test_json_round_trip_is_exact(tmp_path: Path) -> None:
    path = _curvy_path(constant_speed=True)
    assert CameraPath.from_json(path.to_json()) == path
    file = tmp_path / "path.json"
    path.save(file)
    assert CameraPath.load(file) == path
    assert [p.name for p in tmp_path.iterdir()] == ["path.json"]  # no temporary left
    data = json.loads(file.read_text())
    assert data["version"] == 1 and data["format"] == "atelier4d-camera-path" and len(data["keys"]) == 5


def test_save_failure_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    file = tmp_path / "path.json"
    _curvy_path().save(file)
    before = file.read_bytes()
    monkeypatch.setattr(CameraPath, "to_json", lambda self: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        _curvy_path(constant_speed=True).save(file)
    assert file.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["path.json"]


def _valid() -> dict:
    return json.loads(_curvy_path().to_json())


def _edited(change) -> str:
    data = _valid()
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "JSON is broken at line 1"),
        ("[1, 2]", "expected a JSON object"),
        (_edited(lambda d: d.pop("keys")), "'keys' must be a list of at least one key"),
        (_edited(lambda d: d.update(keys=[])), "at least one key"),
        (_edited(lambda d: d.pop("version")), "'version' is missing"),
        (_edited(lambda d: d.update(version=99)), "version 99 is newer"),
        (_edited(lambda d: d.update(format="something-else")), "the format is 'something-else'"),
        (_edited(lambda d: d.update(constant_speed="yes")), "'constant_speed' must be true or false"),
        (_edited(lambda d: d["keys"][1].pop("orientation")), "key 2 has no 'orientation'"),
        (_edited(lambda d: d["keys"][0].pop("time") and d["keys"][0].pop("fov_y_deg")), "key 1 has no 'time', 'fov_y_deg'"),
        (_edited(lambda d: d["keys"][2].update(position=[1, 2])), "key 3: 'position' must be a list of 3 numbers"),
        (_edited(lambda d: d["keys"][2].update(position=[1, "2", 3])), "key 3: 'position' must be a list of 3 numbers"),
        (_edited(lambda d: d["keys"][0].update(time=True)), "key 1: 'time' must be a number"),
        (_edited(lambda d: d["keys"][0].update(fov_y_deg=None)), "key 1: 'fov_y_deg' must be a number"),
        (_edited(lambda d: d["keys"][0].update(fov_y_deg=180)), "key 1: .*between 0 and 180 degrees"),
        (_edited(lambda d: d["keys"][0].update(time=-1)), "key 1: .*time must be >= 0"),
        (_edited(lambda d: d["keys"][0].update(orientation=[0, 0, 0, 0])), "key 1: .*must not be zero"),
        (_edited(lambda d: d["keys"][1].update(time=d["keys"][0]["time"])), "share the time"),
        (_edited(lambda d: d["keys"].__setitem__(0, 5)), "key 1 is not an object"),
        (json.dumps(_valid()).replace("30.0", "NaN", 1), "key 1: 'fov_y_deg' must be finite"),
        (json.dumps(_valid()).replace("0.5,", "Infinity,", 1), "key 1: 'time' must be finite"),
    ],
)
def test_bad_json_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CameraPath.from_json(text)


def test_load_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "keys": []}')
    with pytest.raises(ValueError, match=r"bad\.json: camera path: 'keys'"):
        CameraPath.load(bad)
    with pytest.raises(ValueError, match=r"missing\.json: cannot read the camera path"):
        CameraPath.load(tmp_path / "missing.json")


LO, HI = np.array([-2.0, -1.0, -6.0]), np.array([4.0, 3.0, 2.0])


def _inside(point: np.ndarray, lo: np.ndarray = LO, hi: np.ndarray = HI, tol: float = 1e-9) -> bool:
    return bool(np.all(point >= lo - tol) and np.all(point <= hi + tol))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_stand_in_or_at_the_scene_and_look_into_it(name: str) -> None:
    path = preset(name, LO, HI)
    cameras = path.cameras(10, 32, 24)
    assert len(path.keys) >= 3 and path.duration > 1.0
    centre, depth = 0.5 * (LO + HI), HI[2] - LO[2]
    for camera in cameras:
        if name == "backforth":  # steps back out of the box, up to half its depth
            assert HI[2] - 1e-9 <= camera.position[2] <= HI[2] + 0.5 * depth + 1e-9
        else:
            assert _inside(camera.position)
        if name != "rotate360":  # the others stand at the front (or walk in from it) and look into the scene
            assert camera.forward[2] < -0.45  # at most 60 degrees aside and 22.5 up or down
        assert camera.fov_y_deg == pytest.approx(60.0)
    if name == "rotate360":
        directions = np.array([c.forward for c in cameras])
        np.testing.assert_allclose(directions[:, 1], 0.0, atol=1e-9)  # level
        headings = np.degrees(np.arctan2(directions[:, 0], directions[:, 2]))
        assert np.histogram(headings, bins=12, range=(-180, 180))[0].min() > 0  # all the way round
        np.testing.assert_allclose([c.position for c in cameras], np.tile(centre, (len(cameras), 1)), atol=1e-12)
    if name in ("lookaround", "lookdown"):
        yaw = np.degrees(np.arctan2(-np.array([c.forward[0] for c in cameras]), -np.array([c.forward[2] for c in cameras])))
        pitch = np.degrees(np.arcsin(np.array([c.forward[1] for c in cameras])))
        assert yaw.min() == pytest.approx(-60, abs=1) and yaw.max() == pytest.approx(60, abs=1)
        assert pitch.min() == pytest.approx(-22.5, abs=1)
        assert pitch.max() == pytest.approx(22.5 if name == "lookaround" else 0.0, abs=1)
    if name in ("forward", "backforth"):  # straight ahead, on the scene's axis
        np.testing.assert_allclose([c.forward for c in cameras], np.tile([0, 0, -1], (len(cameras), 1)), atol=1e-12)
        np.testing.assert_allclose([c.position[:2] for c in cameras], np.tile(centre[:2], (len(cameras), 1)), atol=1e-12)
        assert cameras[0].position[2] == pytest.approx(HI[2])
        assert cameras[-1].position[2] == pytest.approx(centre[2] if name == "forward" else HI[2])


def test_presets_scale_with_the_scene_and_take_a_duration() -> None:
    small, big = preset("forward", LO, HI), preset("forward", 10 * LO, 10 * HI, duration=3.0)
    assert np.ptp([k.position[2] for k in big.keys]) == pytest.approx(10 * np.ptp([k.position[2] for k in small.keys]))
    assert big.duration == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no camera path preset called 'spin'"):
        preset("spin", LO, HI)
    with pytest.raises(ValueError, match="two finite corners"):
        preset("forward", HI, LO)
