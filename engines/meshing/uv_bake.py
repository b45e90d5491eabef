"""UV atlas and texture baking: a mesh made from Gaussians gets a base-colour texture from renders of them.

DreamGaussian's stage 2 texture, done on the CPU with numpy:

1. :func:`uv_atlas` unwraps the mesh with xatlas, which splits vertices along the seams (positions and
   normals are copied to the split vertices, so the surface is unchanged).
2. :func:`texel_samples` rasterizes the triangles in UV space: every texel whose centre lies in a
   triangle gets the 3D position and normal there (barycentric interpolation).
3. :func:`bake_texture` projects those points into every view (renders of the Gaussians with their
   depth and alpha, from :func:`render_views`). A texel is seen by a view when it lands inside the
   image, in front of the camera, on a covered pixel, facing the camera, and not behind the rendered
   depth (so an occluded texel is not painted with its occluder). The test is one-sided: the
   renders' depth is the splats' expected depth, which lies inside their fuzzy outer layer, so a
   mesh whose outline matches the renders' stands a little in front of it, and is seen. Its colour
   is the average over the views that see it, weighted by ``cos(angle)^angle_power`` so frontal
   views dominate.
4. Texels that no view sees are filled by pull-push from their neighbours in the texture; then the
   colours are pushed ``dilation`` texels past the islands' edges (each outside texel takes its
   inside neighbours' mean), so bilinear sampling at a seam never reads background; the rest of the
   image gets the pull-push fill too, so mipmaps stay in the object's colours.

Texture convention (:class:`scene.MeshAsset`, glTF): row 0 is the top of the image and ``v = 0``
lies on it; texel ``(row, col)`` has its centre at ``uv = ((col + 0.5) / size, (row + 0.5) / size)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from scene import Camera, GaussianCloud
from scene.mesh import MeshAsset


@dataclass(frozen=True)
class AtlasMesh:
    """A mesh unwrapped into a UV atlas: vertices split along the seams, each with one uv."""

    vertices: np.ndarray  # [V, 3] float32
    faces: np.ndarray  # [F, 3] int32
    normals: np.ndarray  # [V, 3] float32 unit
    uvs: np.ndarray  # [V, 2] float32 in 0-1, v = 0 at the top of the texture


class BakeView(NamedTuple):
    """One render of the Gaussians to bake from (a plain ``(camera, image, depth, alpha)`` tuple works too)."""

    camera: Camera
    image: np.ndarray  # [H, W, 3] float 0-1, the object's colour (not mixed with the background)
    depth: np.ndarray  # [H, W] float z-depth along the camera's axis
    alpha: np.ndarray  # [H, W] float 0-1 coverage


@dataclass(frozen=True)
class TexelSamples:
    """The texels covered by the mesh in UV space and the surface point behind each."""

    rows: np.ndarray  # [N] int64
    cols: np.ndarray  # [N] int64
    positions: np.ndarray  # [N, 3] float64
    normals: np.ndarray  # [N, 3] float64 unit
    size: int

    def mask(self) -> np.ndarray:  # [size, size] bool
        """Where the UV islands are: ``True`` at every covered texel."""
        covered = np.zeros((self.size, self.size), dtype=bool)
        covered[self.rows, self.cols] = True
        return covered


@dataclass(frozen=True)
class BakeSettings:
    """How texels are matched with the renders and how the texture is finished."""

    min_cos: float = 0.2
    """A view sees a texel only when the angle between its normal and the view direction has a
    cosine above this (grazing views smear the colour)."""
    angle_power: float = 4.0
    """Each view's weight is ``cos(angle) ** angle_power``: higher favours frontal views more."""
    depth_tolerance: float = 0.02
    """How far (as a fraction of the mesh's bounding-box diagonal) a texel may lie behind the
    rendered depth and still count as visible rather than occluded."""
    min_alpha: float = 0.5
    """Pixels covered less than this by the Gaussians are background: they paint no texel."""
    dilation: int = 4
    """How many texels the colours reach past the edges of the UV islands (seam dilation)."""


def uv_atlas(mesh: MeshAsset, size: int = 1024, padding: int = 2) -> AtlasMesh:
    """Unwrap ``mesh`` with xatlas into one atlas for a ``size`` x ``size`` texture.

    ``padding`` is the gap in texels between the UV islands (room for bilinear sampling and dilation).
    """
    import xatlas

    if mesh.face_count == 0:
        raise ValueError("a mesh with no triangles cannot be given a texture")
    atlas = xatlas.Atlas()
    atlas.add_mesh(
        np.ascontiguousarray(mesh.vertices, dtype=np.float32),
        np.ascontiguousarray(mesh.faces, dtype=np.uint32),
        np.ascontiguousarray(mesh.normals, dtype=np.float32),
    )
    pack = xatlas.PackOptions()
    pack.resolution = int(size)
    pack.padding = int(padding)
    pack.bilinear = True
    atlas.generate(xatlas.ChartOptions(), pack)
    if atlas.atlas_count != 1:
        raise ValueError(f"the UV layout needs {atlas.atlas_count} textures; only one is supported")
    vmapping, faces, uvs = atlas[0]
    return AtlasMesh(
        vertices=mesh.vertices[vmapping].astype(np.float32),
        faces=faces.astype(np.int32),
        normals=mesh.normals[vmapping].astype(np.float32),
        uvs=uvs.astype(np.float32),
    )


def texel_samples(mesh: AtlasMesh, size: int, max_candidates: int = 1 << 22) -> TexelSamples:
    """Rasterize ``mesh``'s triangles in UV space: the texels whose centres they cover, with the 3D
    position and interpolated normal there. Vectorized over triangles' bounding boxes, in chunks of
    at most ``max_candidates`` texels; a texel on a shared edge goes to one of its triangles."""
    corners = mesh.uvs.astype(np.float64)[mesh.faces] * size - 0.5  # [F, 3, 2] texel-centre coords
    lo = np.clip(np.ceil(corners.min(axis=1)), 0, size - 1).astype(np.int64)  # [F, 2] (col, row)
    hi = np.clip(np.floor(corners.max(axis=1)), 0, size - 1).astype(np.int64)
    extent = np.maximum(hi - lo + 1, 0)
    counts = extent[:, 0] * extent[:, 1]
    edge1, edge2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    det = edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0]
    usable = np.flatnonzero((counts > 0) & (np.abs(det) > 1e-12))
    chunks = np.split(usable, np.flatnonzero(np.diff(np.cumsum(counts[usable]) // max_candidates)) + 1)
    flat_parts, face_parts, bary_parts = [], [], []
    for tri in chunks:
        if not len(tri):
            continue
        n = counts[tri]
        owner = np.repeat(tri, n)
        local = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        width = extent[owner, 0]
        col, row = lo[owner, 0] + local % width, lo[owner, 1] + local // width
        dx, dy = col - corners[owner, 0, 0], row - corners[owner, 0, 1]
        b1 = (dx * edge2[owner, 1] - dy * edge2[owner, 0]) / det[owner]
        b2 = (edge1[owner, 0] * dy - edge1[owner, 1] * dx) / det[owner]
        bary = np.stack([1.0 - b1 - b2, b1, b2], axis=1)
        inside = (bary >= -1e-9).all(axis=1)
        flat_parts.append(row[inside] * size + col[inside])
        face_parts.append(owner[inside])
        bary_parts.append(bary[inside])
    flat = np.concatenate(flat_parts) if flat_parts else np.zeros(0, np.int64)
    flat, first = np.unique(flat, return_index=True)
    face = np.concatenate(face_parts)[first] if flat_parts else np.zeros(0, np.int64)
    bary = np.concatenate(bary_parts)[first] if flat_parts else np.zeros((0, 3))
    corner_ids = mesh.faces[face]  # [N, 3]
    positions = np.einsum("nk,nkc->nc", bary, mesh.vertices.astype(np.float64)[corner_ids])
    normals = np.einsum("nk,nkc->nc", bary, mesh.normals.astype(np.float64)[corner_ids])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)
    return TexelSamples(flat // size, flat % size, positions, normals, size)


def bake_texture(
    mesh: AtlasMesh,
    views: Sequence[BakeView | tuple],
    size: int = 1024,
    settings: BakeSettings = BakeSettings(),
) -> np.ndarray:  # [size, size, 3] uint8
    """The base-colour texture of ``mesh`` baked from ``views`` (see the module docstring)."""
    samples = texel_samples(mesh, size)
    if not len(samples.rows):
        raise ValueError("the mesh covers no texel of the texture")
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    tolerance = settings.depth_tolerance * max(float(np.linalg.norm(hi - lo)), 1e-9)
    colour_sum = np.zeros((len(samples.rows), 3))
    weight_sum = np.zeros(len(samples.rows))
    for view in views:
        colours, weights = _view_contribution(BakeView(*view), samples, tolerance, settings)
        colour_sum += colours * weights[:, None]
        weight_sum += weights
    seen = weight_sum > 0
    if not seen.any():
        raise ValueError("no render sees the mesh, so its texture cannot be baked")
    texture = np.zeros((size, size, 3))
    known = np.zeros((size, size), dtype=bool)
    texture[samples.rows[seen], samples.cols[seen]] = colour_sum[seen] / weight_sum[seen, None]
    known[samples.rows[seen], samples.cols[seen]] = True
    islands = samples.mask()
    filled = pull_push(texture, known)
    texture[islands] = filled[islands]  # texels no view sees: from their neighbours
    texture, reached = dilate(texture, islands, settings.dilation)
    texture[~reached] = filled[~reached]  # far outside the islands: a smooth fill for the mipmaps
    return np.round(np.clip(texture, 0.0, 1.0) * 255.0).astype(np.uint8)


def _view_contribution(
    view: BakeView, samples: TexelSamples, tolerance: float, settings: BakeSettings
) -> tuple[np.ndarray, np.ndarray]:  # colours [N, 3], weights [N] (0 where the view does not see the texel)
    camera = view.camera
    height, width = np.shape(view.depth)[:2]
    if (width, height) != (camera.width, camera.height):
        raise ValueError(f"a render is {width}x{height} but its camera is {camera.width}x{camera.height}")
    w2c, k = camera.w2c_opencv(), camera.intrinsics()
    # Camera.project's math; einsum because numpy's matmul of [N, 3] by [3, 3] is ten times slower
    cam = np.einsum("nc,rc->nr", samples.positions, w2c[:3, :3]) + w2c[:3, 3]
    depth = cam[:, 2]
    safe = np.where(np.abs(depth) > 1e-12, depth, 1e-12)
    x, y = k[0, 0] * cam[:, 0] / safe + k[0, 2], k[1, 1] * cam[:, 1] / safe + k[1, 2]
    to_camera = camera.position - samples.positions
    cosine = np.einsum("nc,nc->n", samples.normals, to_camera) / np.maximum(np.linalg.norm(to_camera, axis=1), 1e-20)
    candidate = (depth > camera.near) & (x >= 0) & (x < width) & (y >= 0) & (y < height) & (cosine > settings.min_cos)
    ix = np.clip(x.astype(np.int64), 0, width - 1)
    iy = np.clip(y.astype(np.int64), 0, height - 1)
    alpha = np.asarray(view.alpha).reshape(height, width)[iy, ix]
    rendered = np.asarray(view.depth).reshape(height, width)[iy, ix]
    visible = candidate & (alpha >= settings.min_alpha) & (depth - rendered <= tolerance)
    weights = np.where(visible, np.clip(cosine, 0.0, 1.0) ** settings.angle_power, 0.0)
    # alpha-weighted bilinear lookup: next to the silhouette the background pixels add nothing
    coverage = np.asarray(view.alpha, dtype=np.float64).reshape(height, width, 1)
    premultiplied = np.concatenate([np.asarray(view.image, dtype=np.float64) * coverage, coverage], axis=2)
    sampled = _bilinear(premultiplied, x, y)
    return sampled[:, :3] / np.maximum(sampled[:, 3:], 1e-6), weights


def _bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:  # [N, C]
    """``image`` sampled at pixel coordinates (pixel centres at ``+0.5``), edges clamped."""
    height, width = image.shape[:2]
    fx = np.clip(x - 0.5, 0.0, width - 1.0)
    fy = np.clip(y - 0.5, 0.0, height - 1.0)
    x0 = np.clip(np.floor(fx).astype(np.int64), 0, max(width - 2, 0))
    y0 = np.clip(np.floor(fy).astype(np.int64), 0, max(height - 2, 0))
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    tx, ty = (fx - x0)[:, None], (fy - y0)[:, None]
    top = image[y0, x0] * (1 - tx) + image[y0, x1] * tx
    bottom = image[y1, x0] * (1 - tx) + image[y1, x1] * tx
    return top * (1 - ty) + bottom * ty


def pull_push(image: np.ndarray, known: np.ndarray) -> np.ndarray:  # [H, W, C]
    """``image`` with every texel outside ``known`` filled from the known ones around it.

    Pull: average the known texels into ever coarser levels; push: each unknown texel takes the
    colour of the first coarser level that knows its area. Holes of any size fill in log steps.
    """
    if known.all() or not known.any():
        return image.copy()
    height, width = known.shape
    weight = known.astype(np.float64)
    padded_h, padded_w = height + height % 2, width + width % 2
    sums = np.zeros((padded_h, padded_w, image.shape[2]))
    weights = np.zeros((padded_h, padded_w))
    sums[:height, :width] = image * weight[..., None]
    weights[:height, :width] = weight
    coarse_sum = sums.reshape(padded_h // 2, 2, padded_w // 2, 2, -1).sum(axis=(1, 3))
    coarse_weight = weights.reshape(padded_h // 2, 2, padded_w // 2, 2).sum(axis=(1, 3))
    coarse_known = coarse_weight > 0
    coarse = np.where(coarse_known[..., None], coarse_sum / np.maximum(coarse_weight, 1e-20)[..., None], 0.0)
    coarse = pull_push(coarse, coarse_known)
    upsampled = coarse.repeat(2, axis=0).repeat(2, axis=1)[:height, :width]
    return np.where(known[..., None], image, upsampled)


def dilate(image: np.ndarray, known: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Grow the ``known`` texels of ``image`` by ``steps`` rings: each new texel takes the mean of its
    known 8-neighbours. Returns the image and the grown mask."""
    image, known = image.copy(), known.copy()
    height, width = known.shape
    for _ in range(steps):
        padded = np.pad(image * known[..., None], ((1, 1), (1, 1), (0, 0)))
        padded_known = np.pad(known, 1).astype(np.float64)
        sums = np.zeros_like(image)
        counts = np.zeros(known.shape)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                sums += padded[dy : dy + height, dx : dx + width]
                counts += padded_known[dy : dy + height, dx : dx + width]
        grow = ~known & (counts > 0)
        if not grow.any():
            break
        image[grow] = sums[grow] / counts[grow, None]
        known |= grow
    return image, known


def textured_mesh(
    mesh: MeshAsset,
    views: Sequence[BakeView | tuple],
    size: int = 1024,
    settings: BakeSettings = BakeSettings(),
) -> MeshAsset:
    """``mesh`` unwrapped and given a ``size`` x ``size`` base-colour texture baked from ``views``."""
    atlas = uv_atlas(mesh, size)
    texture = bake_texture(atlas, views, size, settings)
    return MeshAsset(atlas.vertices, atlas.faces, atlas.normals, uvs=atlas.uvs, texture=texture)


def bake_cameras(mesh: MeshAsset, count: int = 8, resolution: int = 512, fov_y_deg: float = 40.0) -> list[Camera]:
    """``count`` square cameras spread evenly around ``mesh`` (a Fibonacci sphere), each framing all of it."""
    lo, hi = mesh.bounds()
    centre = (lo + hi) / 2.0
    radius = max(float(np.linalg.norm(hi - lo)) / 2.0, 1e-6)
    distance = 1.1 * radius / math.sin(math.radians(fov_y_deg) / 2.0)
    cameras = []
    for i in range(count):
        y = 1.0 - 2.0 * (i + 0.5) / count
        ring = math.sqrt(max(1.0 - y * y, 0.0))
        azimuth = i * math.pi * (3.0 - math.sqrt(5.0))  # the golden angle
        direction = np.array([ring * math.cos(azimuth), y, ring * math.sin(azimuth)])
        up = (0.0, 0.0, 1.0) if abs(y) > 0.99 else (0.0, 1.0, 0.0)
        cameras.append(
            Camera.look_at(
                centre + distance * direction, centre, up, width=resolution, height=resolution,
                fov_y_deg=fov_y_deg, near=max(distance - 2.0 * radius, 1e-3), far=distance + 2.0 * radius,
            )
        )
    return cameras


def render_views(cloud: GaussianCloud, cameras: Sequence[Camera], device: str | None = None) -> list[BakeView]:
    """Renders of ``cloud`` from ``cameras`` (one image size) with depth and alpha, ready to bake from.

    Rendered over black and divided by alpha, so a half-covered pixel holds the object's colour.
    """
    import torch

    from engines.rasterizer import camera_to_tensors, rasterize

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    viewmats, Ks, width, height = camera_to_tensors(list(cameras), device=device)
    gaussians = [
        torch.tensor(np.asarray(array), dtype=torch.float32, device=device)
        for array in (cloud.means, cloud.quats, cloud.scales, cloud.opacities, cloud.sh)
    ]
    views = []
    with torch.no_grad():
        for i, camera in enumerate(cameras):  # one at a time: the CPU rasterizer's memory grows with views
            out = rasterize(
                *gaussians, viewmats[i : i + 1], Ks[i : i + 1], width, height, sh_degree=cloud.sh_degree,
                background=torch.zeros(3, device=device), near_plane=camera.near, far_plane=camera.far,
            )
            alpha = out.alpha[0, ..., 0].double().cpu().numpy()
            rgb = out.rgb[0].double().cpu().numpy() / np.maximum(alpha, 1e-6)[..., None]
            views.append(BakeView(camera, np.clip(rgb, 0.0, 1.0), out.depth[0, ..., 0].double().cpu().numpy(), alpha))
    return views
