"""The NeRF-synthetic reader: layout, compositing, cameras, and the messages of broken datasets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engines.data import has_split, load_views, split_file
from scene import Camera
from scene.io.errors import FormatError

FOV_X = 0.6911  # NeRF-synthetic's camera_angle_x


def orbit_cameras(count: int, size: int, radius: float = 4.0) -> list[Camera]:
    """``count`` cameras on a ring tilted above the equator, looking at the origin."""
    cams = []
    for i in range(count):
        angle = 2 * math.pi * i / count
        eye = radius * np.array([math.cos(angle), 0.4 + 0.3 * math.sin(3 * angle), math.sin(angle)])
        cams.append(Camera.from_fov_x(Camera.look_at(eye, np.zeros(3)).c2w, size, size, FOV_X))
    return cams


def sphere_rgba(camera: Camera, radius: float = 0.8) -> np.ndarray:  # [H, W, 4] uint8
    """A sphere at the origin, coloured by its normal (so views differ), traced per pixel in numpy."""
    ys, xs = np.mgrid[0 : camera.height, 0 : camera.width] + 0.5
    local = np.stack([xs - camera.width / 2, camera.height / 2 - ys, -np.full_like(xs, camera.fx)], axis=-1)
    dirs = local.reshape(-1, 3) @ camera.c2w[:3, :3].T
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    eye = camera.position
    b = dirs @ eye
    disc = b * b - (eye @ eye - radius * radius)
    hit = disc > 0
    t = -b - np.sqrt(np.maximum(disc, 0))
    normals = (eye + t[:, None] * dirs) / radius
    rgb = np.clip(0.5 + 0.45 * normals, 0, 1)
    rgba = np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1) * hit[:, None]
    return np.round(rgba.reshape(camera.height, camera.width, 4) * 255).astype(np.uint8)


def write_dataset(folder: Path, cameras: list[Camera], split: str = "train", single: bool = False) -> Path:
    """A NeRF-synthetic split of ``sphere_rgba`` images, file paths without extension."""
    frames = []
    for i, cam in enumerate(cameras):
        (folder / split).mkdir(parents=True, exist_ok=True)
        Image.fromarray(sphere_rgba(cam), "RGBA").save(folder / split / f"r_{i}.png")
        frames.append({"file_path": f"./{split}/r_{i}", "transform_matrix": cam.c2w.tolist()})
    path = folder / ("transforms.json" if single else f"transforms_{split}.json")
    path.write_text(json.dumps({"camera_angle_x": FOV_X, "frames": frames}))
    return path


@pytest.fixture
def dataset(tmp_path) -> Path:
    write_dataset(tmp_path, orbit_cameras(4, 24))
    return tmp_path


def _edit_json(path: Path, edit) -> None:
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


# --------------------------------------------------------------------- reading
def test_reads_paths_without_extension_and_cameras(dataset):
    views = load_views(dataset)
    assert len(views) == 4 and views.images.shape == (4, 24, 24, 3) and views.alphas.shape == (4, 24, 24)
    assert views.names[0] == "./train/r_0"
    cam = views.cameras[0]
    assert cam.fx == pytest.approx(0.5 * 24 / math.tan(0.5 * FOV_X))
    np.testing.assert_allclose(cam.c2w, orbit_cameras(4, 24)[0].c2w, atol=1e-9)


def test_origin_projects_to_the_image_centre(dataset):
    from engines.rasterizer import camera_to_tensors

    viewmats, Ks, width, height = camera_to_tensors(load_views(dataset).cameras, dtype=torch.float64)
    cam_points = viewmats[:, :3, 3]  # [C, 3] the origin in OpenCV camera coordinates
    assert bool((cam_points[:, 2] > 0).all())  # in front
    pixels = (Ks @ cam_points[:, :, None])[:, :, 0]
    np.testing.assert_allclose((pixels[:, :2] / pixels[:, 2:]).numpy(), [[width / 2, height / 2]] * 4, atol=1e-9)


@pytest.mark.parametrize("background", [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (0.2, 0.4, 0.6)])
def test_rgba_composited_on_the_background(tmp_path, background):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[0, 1] = (0, 255, 0, 51)  # green at alpha 0.2, straight (not premultiplied)
    (tmp_path / "train").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "train" / "a.png")
    frame = {"file_path": "./train/a", "transform_matrix": np.eye(4).tolist()}
    (tmp_path / "transforms.json").write_text(json.dumps({"camera_angle_x": 1.0, "frames": [frame]}))
    views = load_views(tmp_path, background=background)
    bg = np.array(background, np.float32)
    np.testing.assert_allclose(views.images[0, 0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(views.images[0, 0, 1], 0.2 * np.array([0, 1, 0]) + 0.8 * bg, atol=1e-6)
    np.testing.assert_allclose(views.images[0, 1, 1], bg, atol=1e-6)
    np.testing.assert_allclose(views.alphas[0], [[1, 0.2], [0, 0]], atol=1e-6)


def test_single_transforms_json_and_splits(tmp_path):
    write_dataset(tmp_path, orbit_cameras(2, 8), single=True)
    assert split_file(tmp_path, "train").name == "transforms.json"
    assert has_split(tmp_path, "train") and not has_split(tmp_path, "test")


def test_resolution_downscales_images_and_cameras(dataset):
    views = load_views(dataset, resolution=12)
    assert views.images.shape == (4, 12, 12, 3)
    assert views.cameras[0].fx == pytest.approx(0.5 * 12 / math.tan(0.5 * FOV_X))


# --------------------------------------------------------------------- errors
def test_missing_folder_and_json(tmp_path):
    with pytest.raises(FormatError, match="no such dataset folder"):
        load_views(tmp_path / "nope")
    with pytest.raises(FormatError, match="no transforms_train.json or transforms.json"):
        load_views(tmp_path)
    with pytest.raises(FormatError, match="no transforms_test.json"):
        load_views(tmp_path, "test")


def test_missing_image(dataset):
    (dataset / "train" / "r_2.png").unlink()
    with pytest.raises(FormatError, match=r"r_2.*image not found"):
        load_views(dataset)


def test_images_of_different_sizes(dataset):
    Image.new("RGBA", (10, 24)).save(dataset / "train" / "r_1.png")
    with pytest.raises(FormatError, match=r"frame 1 .* is 10x24, the first image 24x24"):
        load_views(dataset)


@pytest.mark.parametrize(
    "matrix, message",
    [
        ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], "finite 4x4 matrix"),
        ("abc", "finite 4x4 matrix|4x4 matrix of numbers"),
        ((np.eye(4) * 2).tolist(), "not a rigid"),
        (np.diag([1.0, 1.0, -1.0, 1.0]).tolist(), "not a rigid"),  # a mirror
    ],
)
def test_bad_matrix(dataset, matrix, message):
    _edit_json(dataset / "transforms_train.json", lambda meta: meta["frames"][1].update(transform_matrix=matrix))
    with pytest.raises(FormatError, match=f"frame 1: .*({message})"):
        load_views(dataset)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda meta: meta.pop("camera_angle_x"), "camera_angle_x"),
        (lambda meta: meta.update(camera_angle_x=4.0), "camera_angle_x"),
        (lambda meta: meta.update(frames=[]), "no frames"),
        (lambda meta: meta["frames"][0].pop("file_path"), "frame 0 needs file_path"),
    ],
)
def test_bad_json_fields(dataset, edit, message):
    _edit_json(dataset / "transforms_train.json", edit)
    with pytest.raises(FormatError, match=message):
        load_views(dataset)


def test_unreadable_json(dataset):
    (dataset / "transforms_train.json").write_text("{not json")
    with pytest.raises(FormatError, match="not readable JSON"):
        load_views(dataset)
