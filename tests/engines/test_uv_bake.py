"""UV atlas and texture baking: a sphere mesh baked from exact renders of a sphere coloured by its normal."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest
import trimesh

from engines.meshing.uv_bake import (
    AtlasMesh,
    BakeSettings,
    BakeView,
    bake_cameras,
    bake_texture,
    dilate,
    pull_push,
    render_views,
    texel_samples,
    textured_mesh,
    uv_atlas,
)
from scene import Camera, GaussianCloud
from scene.io import save
from scene.mesh import MeshAsset

SIZE = 256


def normal_colour(normals: np.ndarray) -> np.ndarray:
    """The known colour of the unit sphere: its normal mapped to 0-1 (no two points share one)."""
    return 0.5 + 0.5 * normals


def sphere_render(camera: Camera, colour=normal_colour, radius: float = 1.0) -> BakeView:
    """An exact render of the sphere of ``radius`` at the origin: colour, z-depth and coverage per pixel."""
    xs, ys = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
    k = camera.intrinsics()
    rays_cam = np.stack([(xs - k[0, 2]) / k[0, 0], (ys - k[1, 2]) / k[1, 1], np.ones_like(xs)], axis=-1)
    c2w_cv = np.linalg.inv(camera.w2c_opencv())
    dirs = rays_cam @ c2w_cv[:3, :3].T  # unnormalized: t along it is the z-depth
    origin = camera.position
    a = np.einsum("hwc,hwc->hw", dirs, dirs)
    b = 2.0 * dirs @ origin
    c = origin @ origin - radius**2
    disc = b * b - 4 * a * c
    hit = disc > 0
    t = np.where(hit, (-b - np.sqrt(np.maximum(disc, 0.0))) / (2 * a), 0.0)
    points = origin + dirs * t[..., None]
    image = np.where(hit[..., None], colour(points / radius), 0.0)
    return BakeView(camera, image, np.where(hit, t, 0.0), hit.astype(np.float64))


def orbit(count: int, elevations=(-35.0, 35.0), distance: float = 3.5, side: int = 160) -> list[Camera]:
    """``count`` cameras on a ring around the origin, alternating between two elevations."""
    cameras = []
    for i in range(count):
        azimuth = 2 * math.pi * i / count
        elevation = math.radians(elevations[i % len(elevations)])
        eye = distance * np.array(
            [math.cos(elevation) * math.sin(azimuth), math.sin(elevation), math.cos(elevation) * math.cos(azimuth)]
        )
        cameras.append(Camera.look_at(eye, np.zeros(3), width=side, height=side, fov_y_deg=45.0))
    return cameras


def uniform(rgb) -> Callable[[np.ndarray], np.ndarray]:
    """A colour function painting the whole sphere ``rgb``."""
    return lambda normals: np.broadcast_to(np.asarray(rgb, float), normals.shape)


def sphere_mesh(subdivisions: int = 3) -> MeshAsset:
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    return MeshAsset(sphere.vertices, sphere.faces)


def sample(texture: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    """Bilinear lookup (as a viewer does) of ``texture`` at glTF ``uvs``: float 0-1 colours ``[N, 3]``."""
    height, width = texture.shape[:2]
    x = np.clip(uvs[:, 0] * width - 0.5, 0, width - 1.001)
    y = np.clip(uvs[:, 1] * height - 0.5, 0, height - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    tx, ty = (x - x0)[:, None], (y - y0)[:, None]
    tex = texture.astype(np.float64) / 255.0
    top = tex[y0, x0] * (1 - tx) + tex[y0, x0 + 1] * tx
    bottom = tex[y0 + 1, x0] * (1 - tx) + tex[y0 + 1, x0 + 1] * tx
    return top * (1 - ty) + bottom * ty


@pytest.fixture(scope="module")
def baked() -> MeshAsset:
    views = [sphere_render(camera) for camera in orbit(8)]
    return textured_mesh(sphere_mesh(), views, SIZE)


# ------------------------------------------------------------------------------ atlas and texels
def test_atlas_splits_seams_but_keeps_the_surface():
    mesh = sphere_mesh(2)
    atlas = uv_atlas(mesh, SIZE)
    assert atlas.vertices.shape[0] > mesh.vertex_count  # seams split vertices
    assert atlas.faces.shape == mesh.faces.shape
    assert np.allclose(np.linalg.norm(atlas.vertices, axis=1), 1.0, atol=1e-5)  # positions copied, not moved
    assert atlas.uvs.min() >= 0.0 and atlas.uvs.max() <= 1.0
    # the same triangles, in the same order: each face's corners sit where the original's did
    assert np.allclose(atlas.vertices[atlas.faces], mesh.vertices[mesh.faces], atol=1e-6)
    assert np.allclose(atlas.normals[atlas.faces], mesh.normals[mesh.faces], atol=1e-6)  # split copies keep theirs


def test_texels_lie_on_the_surface_with_its_normal():
    atlas = uv_atlas(sphere_mesh(3), SIZE)
    texels = texel_samples(atlas, SIZE)
    radius = np.linalg.norm(texels.positions, axis=1)
    assert np.all(radius > 0.99) and np.all(radius <= 1.0 + 1e-6)  # on the icosphere's flat faces
    assert np.abs(np.einsum("nc,nc->n", texels.normals, texels.positions / radius[:, None]) - 1).max() < 1e-3
    # the islands cover the atlas about as much as xatlas packed them (a hole-free rasterization)
    covered = texels.mask().mean()
    corners = atlas.uvs[atlas.faces].astype(np.float64)
    (ax, ay), (bx, by) = (corners[:, 1] - corners[:, 0]).T, (corners[:, 2] - corners[:, 0]).T
    uv_area = 0.5 * np.abs(ax * by - ay * bx).sum()
    assert covered == pytest.approx(uv_area, rel=0.05)


def test_a_texel_takes_the_point_of_the_triangle_it_lies_in():
    atlas = AtlasMesh(
        vertices=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32),
        faces=np.array([[0, 1, 2]], np.int32),
        normals=np.tile(np.array([[0, 0, 1]], np.float32), (3, 1)),
        uvs=np.array([[0, 0], [1, 0], [0, 1]], np.float32),
    )
    texels = texel_samples(atlas, 8)
    assert np.all(texels.rows + texels.cols <= 7)  # the lower-left half of the image, row 0 at v = 0
    index = np.flatnonzero((texels.rows == 1) & (texels.cols == 4))[0]
    assert np.allclose(texels.positions[index], [4.5 / 8, 1.5 / 8, 0.0])  # x follows u, y follows v


# ------------------------------------------------------------------------------ baking
def test_baked_colours_match_the_known_sphere(baked):
    expected = normal_colour(baked.vertices / np.linalg.norm(baked.vertices, axis=1, keepdims=True))
    error = np.abs(sample(baked.texture, baked.uvs) - expected)
    assert error.mean() < 0.02
    assert error.max() < 0.12


def test_no_texel_inside_an_island_stays_black(baked):
    atlas = AtlasMesh(baked.vertices, baked.faces, baked.normals, baked.uvs)
    islands = texel_samples(atlas, SIZE).mask()
    assert baked.texture[islands].max(axis=1).min() > 20  # the darkest sphere colour is (0.5 - 0.5*0.58)*255 ≈ 54


def test_seam_dilation_extends_the_islands_edge_colours(baked):
    atlas = AtlasMesh(baked.vertices, baked.faces, baked.normals, baked.uvs)
    islands = texel_samples(atlas, SIZE).mask()
    _, grown = dilate(np.zeros((SIZE, SIZE, 1)), islands, 1)
    border = grown & ~islands
    assert border.sum() > 100
    texture = baked.texture.astype(float)
    rows, cols = np.nonzero(border)
    for row, col in zip(rows[::17], cols[::17]):  # each border texel looks like its island neighbours
        window = islands[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2]
        neighbours = texture[max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2][window]
        assert np.abs(texture[row, col] - neighbours.mean(axis=0)).max() < 12


def test_a_texel_no_view_sees_takes_its_neighbours_colour():
    orange = np.array([1.0, 0.5, 0.1])
    views = [sphere_render(camera, uniform(orange)) for camera in orbit(6, elevations=(40.0, 60.0))]  # none below
    atlas = uv_atlas(sphere_mesh(3), SIZE)
    texture = bake_texture(atlas, views, SIZE)
    texels = texel_samples(atlas, SIZE)
    hidden = texels.positions[:, 1] < -0.6  # the bottom cap: no camera looks up at it
    assert hidden.sum() > 200
    colours = texture[texels.rows[hidden], texels.cols[hidden]].astype(float) / 255
    assert np.abs(colours - orange).max() < 2 / 255


def test_an_occluded_texel_is_not_painted_with_its_occluder():
    """A view whose depth says something stands in front of the sphere must not paint it."""
    cameras = orbit(8)
    views = [sphere_render(camera) for camera in cameras]
    blocked = views[0]
    occluder = np.where(blocked.alpha > 0, blocked.depth - 0.5, 0.0)
    views[0] = BakeView(blocked.camera, np.where(blocked.alpha[..., None] > 0, [1.0, 0.0, 1.0], 0.0), occluder, blocked.alpha)
    mesh = textured_mesh(sphere_mesh(), views, SIZE)
    expected = normal_colour(mesh.vertices / np.linalg.norm(mesh.vertices, axis=1, keepdims=True))
    assert np.abs(sample(mesh.texture, mesh.uvs) - expected).mean() < 0.03


def two_coloured_views(side_angle: float) -> list[BakeView]:
    """A red render from +Z and a blue one from ``side_angle`` radians around Y from it."""
    eyes = ([0.0, 0.0, 3.5], [3.5 * math.sin(side_angle), 0.0, 3.5 * math.cos(side_angle)])
    colours = ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    return [
        sphere_render(Camera.look_at(eye, [0, 0, 0], width=160, height=160, fov_y_deg=45.0), uniform(colour))
        for eye, colour in zip(eyes, colours)
    ]


def baked_colour_at(views: list[BakeView], normal, settings: BakeSettings = BakeSettings()) -> np.ndarray:
    """The baked colour (0-1) of the sphere's texel nearest to the point with ``normal``."""
    atlas = uv_atlas(sphere_mesh(3), SIZE)
    texture = bake_texture(atlas, views, SIZE, settings)
    texels = texel_samples(atlas, SIZE)
    nearest = np.argmin(np.linalg.norm(texels.normals - normal, axis=1))
    return texture[texels.rows[nearest], texels.cols[nearest]].astype(float) / 255


def test_frontal_views_outweigh_grazing_ones():
    """Both views see the front point (the blue one at 60 degrees): it takes the facing view's red."""
    colour = baked_colour_at(two_coloured_views(0.8), [0.0, 0.0, 1.0])
    assert colour[0] > 0.9 and colour[2] < 0.1


def test_a_view_at_a_grazing_angle_paints_nothing():
    """Even with every view weighted alike and a lax depth test, the red view skimming a point
    65 degrees round towards +X (cosine 0.15) leaves it the blue of the view facing it."""
    normal = [math.sin(math.radians(65)), 0.0, math.cos(math.radians(65))]
    settings = BakeSettings(angle_power=0.0, depth_tolerance=0.2)
    colour = baked_colour_at(two_coloured_views(math.pi / 2), normal, settings)
    assert colour[2] > 0.95 and colour[0] < 0.05


def test_the_background_next_to_the_silhouette_does_not_darken_the_rim():
    """One view of an orange sphere over black: texels it sees near its silhouette stay orange."""
    orange = np.array([1.0, 0.5, 0.1])
    camera = Camera.look_at([0, 0, 3.5], [0, 0, 0], width=96, height=96, fov_y_deg=45.0)
    view = sphere_render(camera, uniform(orange))
    atlas = uv_atlas(sphere_mesh(3), SIZE)
    texture = bake_texture(atlas, [view], SIZE, BakeSettings(min_cos=0.05, angle_power=0.0))
    texels = texel_samples(atlas, SIZE)
    rim = texels.positions[:, 2] > 0.3  # on the visible side, up to the silhouette (z = 0.29)
    colours = texture[texels.rows[rim], texels.cols[rim]].astype(float) / 255
    assert np.abs(colours - orange).max() < 2 / 255


def test_pull_push_fills_holes_from_their_neighbours():
    image = np.zeros((5, 7, 3))
    image[:] = [0.2, 0.4, 0.6]
    known = np.ones((5, 7), bool)
    known[1:4, 2:5] = False
    image[~known] = 0.0
    filled = pull_push(image, known)
    assert np.allclose(filled, [0.2, 0.4, 0.6])


def test_a_mesh_no_render_sees_says_so():
    views = [sphere_render(camera, radius=2.0) for camera in orbit(4, distance=5.0)]  # a bigger sphere hides it
    with pytest.raises(ValueError, match="no render sees the mesh"):
        bake_texture(uv_atlas(sphere_mesh(2), 64), views, 64, BakeSettings(depth_tolerance=0.01))


def test_a_mesh_a_little_outside_the_rendered_surface_is_seen():
    """The splats' rendered depth lies inside their fuzzy outer layer, so a mesh with their outline
    stands in front of it: here 8% bigger than the rendered sphere, four times the depth tolerance."""
    views = [sphere_render(camera) for camera in orbit(8)]
    mesh = sphere_mesh()
    bigger = MeshAsset(mesh.vertices * 1.08, mesh.faces)
    settings = BakeSettings(depth_tolerance=0.01)  # 0.01 of the diagonal, 3.7: 0.037 against 0.08
    baked = textured_mesh(bigger, views, SIZE, settings)
    expected = normal_colour(baked.vertices / np.linalg.norm(baked.vertices, axis=1, keepdims=True))
    assert np.abs(sample(baked.texture, baked.uvs) - expected).mean() < 0.03


# ------------------------------------------------------------------------------ export
def test_the_exported_glb_keeps_the_texture_the_right_way_up(baked, tmp_path):
    path = tmp_path / "sphere.glb"
    save(path, baked)
    loaded = trimesh.load(path, force="mesh")
    image = np.asarray(loaded.visual.material.baseColorTexture)
    assert image.shape[:2] == (SIZE, SIZE)
    colours = trimesh.visual.color.uv_to_color(loaded.visual.uv, loaded.visual.material.baseColorTexture)
    for point in ([0, 1, 0], [0, -1, 0], [1, 0, 0], [0, 0, -1]):  # top, bottom, sides: distinct colours
        nearest = np.argmin(np.linalg.norm(loaded.vertices - point, axis=1))
        assert np.abs(colours[nearest, :3] / 255 - normal_colour(np.array(point, float))).max() < 0.1


# ------------------------------------------------------------------------------ from Gaussians
def test_render_views_bakes_the_colour_of_a_gaussian_shell():
    """Gaussians on a sphere, coloured by their normal, rendered and baked onto the sphere mesh."""
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(4000, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    cloud = GaussianCloud.create(directions, 0.06, normal_colour(directions), 0.95)
    mesh = sphere_mesh(2)
    cameras = bake_cameras(mesh, 6, resolution=64)
    views = render_views(cloud, cameras, device="cpu")
    assert views[0].image.shape == (64, 64, 3) and views[0].depth.shape == (64, 64)
    result = textured_mesh(mesh, views, 64)
    expected = normal_colour(result.vertices)
    assert np.abs(sample(result.texture, result.uvs) - expected).mean() < 0.08
