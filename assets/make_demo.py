"""Build the demo project from procedural content: ``python -m assets.make_demo [OUT]``.

A torus knot of flat, surfel-like Gaussians with a rainbow along the knot and a view-dependent
sheen (SH band 1), on a marble-coloured pedestal (vertex colours) over a checker floor (a UV
texture). Deterministic: the same seed gives the same file content, so the bundled demo can be
re-made and checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from assets import demo_project_path
from scene import Document, GaussianCloud, Layer, MeshAsset, Transform
from scene.io.project import save_project
from scene.rotation import matrix_to_quat
from scene.sh import C1, num_coeffs, rgb_to_dc


def _hsv_to_rgb(h: np.ndarray, s: float, v: float) -> np.ndarray:
    k = (np.stack([5.0, 3.0, 1.0])[None, :] + h[:, None] * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def torus_knot_splats(count: int = 40_000, seed: int = 7) -> GaussianCloud:
    """Gaussians on the surface of a (2, 3) torus-knot tube, flattened along the surface normal."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 2.0 * np.pi, count)
    phi = rng.uniform(0.0, 2.0 * np.pi, count)

    def curve(u: np.ndarray) -> np.ndarray:
        r = 2.0 + np.cos(3.0 * u)
        return 0.32 * np.stack([r * np.cos(2.0 * u), r * np.sin(2.0 * u), np.sin(3.0 * u)], axis=1)

    centre = curve(t)
    tangent = curve(t + 1e-3) - curve(t - 1e-3)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    helper = np.where(np.abs(tangent[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    normal_a = np.cross(tangent, helper)
    normal_a /= np.linalg.norm(normal_a, axis=1, keepdims=True)
    normal_b = np.cross(tangent, normal_a)
    normal = np.cos(phi)[:, None] * normal_a + np.sin(phi)[:, None] * normal_b
    means = centre + 0.16 * normal

    # Local frame per splat: x along the tube, y around it, z = surface normal (the thin axis).
    around = np.cross(normal, tangent)
    frames = np.stack([tangent, around, normal], axis=2)  # columns are the local axes
    quats = matrix_to_quat(frames)
    scales = np.column_stack([np.full(count, 0.022), np.full(count, 0.016), np.full(count, 0.003)])
    scales *= rng.uniform(0.8, 1.25, (count, 1))

    rgb = _hsv_to_rgb(t / (2.0 * np.pi), 0.75, 0.9)
    rgb *= (0.75 + 0.25 * np.cos(8.0 * phi))[:, None]  # stripes around the tube
    sh = np.zeros((count, num_coeffs(1), 3), np.float32)
    sh[:, 0] = rgb_to_dc(rgb)
    # A sheen: brighter where the surface faces the viewer (band 1 along the normal).
    # With basis (-C1 y, C1 z, -C1 x), a term k * dot(dir, -normal) adds k when seen head-on.
    strength = 0.18 / C1
    sh[:, 1] = (strength * normal[:, 1])[:, None]
    sh[:, 2] = (-strength * normal[:, 2])[:, None]
    sh[:, 3] = (strength * normal[:, 0])[:, None]
    opacity_logits = np.full(count, 3.0) + rng.normal(0.0, 0.3, count)
    return GaussianCloud(means, np.log(scales), quats, opacity_logits, sh)


def pedestal_mesh(segments: int = 48) -> MeshAsset:
    """A capped cylinder with a grey-to-white marble gradient in its vertex colours."""
    angles = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    ring = np.column_stack([np.cos(angles), np.zeros(segments), np.sin(angles)])
    radius, height = 0.9, 0.5
    # Side vertices are separate from cap vertices so each gets its own (sharp) normal.
    bottom, top = ring * radius, ring * radius + [0.0, height, 0.0]
    vertices = np.concatenate([bottom, top, bottom, top, [[0.0, 0.0, 0.0], [0.0, height, 0.0]]])
    s, n = segments, np.arange(segments)
    m = (n + 1) % s
    side = np.concatenate([np.column_stack([n, s + m, m]), np.column_stack([n, s + n, s + m])])
    bottom_cap = np.column_stack([np.full(s, 4 * s), 2 * s + n, 2 * s + m])
    top_cap = np.column_stack([np.full(s, 4 * s + 1), 3 * s + m, 3 * s + n])
    faces = np.concatenate([side, bottom_cap, top_cap])
    shade = 0.55 + 0.35 * (vertices[:, 1] / height) + 0.05 * np.sin(7.0 * np.arctan2(vertices[:, 2], vertices[:, 0]))
    colors = np.column_stack([shade, shade * 0.97, shade * 0.93, np.ones(len(vertices))])
    normals = np.concatenate(
        [ring, ring, np.tile([0.0, -1.0, 0.0], (s, 1)), np.tile([0.0, 1.0, 0.0], (s, 1)), [[0, -1, 0], [0, 1, 0]]]
    )
    return MeshAsset(vertices, faces, normals=normals, vertex_colors=np.clip(colors, 0.0, 1.0))


def checker_floor(size: float = 6.0, squares: int = 8, pixels: int = 256) -> MeshAsset:
    """A square floor at y = 0 with a checker texture (two warm greys)."""
    h = size / 2.0
    vertices = np.array([[-h, 0.0, -h], [h, 0.0, -h], [h, 0.0, h], [-h, 0.0, h]])
    faces = np.array([[0, 2, 1], [0, 3, 2]])
    uvs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    cell = (np.arange(pixels) * squares // pixels) % 2
    checker = (cell[:, None] ^ cell[None, :]).astype(bool)
    texture = np.where(checker[..., None], [92, 88, 84], [58, 56, 54]).astype(np.uint8)
    return MeshAsset(vertices, faces, normals=np.tile([0.0, 1.0, 0.0], (4, 1)), uvs=uvs, texture=texture)


def build_demo() -> Document:
    document = Document()
    document.add_layer(Layer("Checker floor", checker_floor()))
    document.add_layer(Layer("Pedestal", pedestal_mesh()))
    document.add_layer(
        Layer("Torus knot", torus_knot_splats(), transform=Transform(translation=[0.0, 1.65, 0.0]))
    )
    document.undo_stack.clear()
    return document


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else demo_project_path()
    save_project(build_demo(), out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
