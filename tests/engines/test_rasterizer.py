"""The rasterizer: tiled PyTorch backend against the dense reference and the plain-autograd tiled
baseline, gsplat's PyTorch projection and SH, finite differences, scene.Camera, and (on CUDA)
gsplat's kernels."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci, _spherical_harmonics

from engines.rasterizer import camera_to_tensors, rasterize
from engines.rasterizer.autograd_tiles import composite_tiles_autograd
from engines.rasterizer.cpu import BLOCK, bin_gaussians, composite_tiles
from engines.rasterizer.formation import render
from engines.rasterizer.projection import project
from engines.rasterizer.reference import rasterize_reference
from engines.rasterizer.sh import sh_colors
from scene import Camera

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def make_scene(n: int = 60, dtype=torch.float64, seed: int = 0, size=(37, 29), sh_degree: int | None = None):
    """Overlapping anisotropic Gaussians in front of two cameras (odd image size: partial tiles)."""
    g = torch.Generator().manual_seed(seed)
    width, height = size
    cams = [
        Camera.look_at([0.3, 0.2, 3.0], [0, 0, 0], width=width, height=height, fov_y_deg=50),
        Camera.look_at([2.5, 1.0, 1.5], [0, 0, 0], width=width, height=height, fov_y_deg=40),
    ]
    viewmats, Ks, w, h = camera_to_tensors(cams, dtype=dtype)
    colors = (
        torch.rand(n, 3, generator=g, dtype=dtype)
        if sh_degree is None
        else 0.4 * torch.randn(n, (sh_degree + 1) ** 2, 3, generator=g, dtype=dtype)
    )
    params = dict(
        means=(torch.rand(n, 3, generator=g, dtype=dtype) - 0.5) * 1.6,
        quats=torch.randn(n, 4, generator=g, dtype=dtype),
        scales=torch.rand(n, 3, generator=g, dtype=dtype) ** 2 * 0.2 + 0.01,
        opacities=torch.rand(n, generator=g, dtype=dtype) * 0.95 + 0.04,
        colors=colors,
    )
    return params, dict(viewmats=viewmats, Ks=Ks, width=w, height=h, sh_degree=sh_degree)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean().clamp(min=1e-20)))


@pytest.mark.parametrize("sh_degree", [None, 0, 1, 2, 3])
def test_tiled_matches_dense_reference_float64(sh_degree):
    params, view = make_scene(sh_degree=sh_degree)
    background = torch.tensor([0.2, 0.1, 0.4], dtype=torch.float64)
    fast = rasterize(**params, **view, background=background, backend="torch")
    ref = rasterize_reference(**params, **view, background=background)
    assert fast.alpha.max() > 0.9 and (fast.alpha > 0).float().mean() > 0.3  # a busy scene
    for name in ("rgb", "alpha", "depth"):
        torch.testing.assert_close(getattr(fast, name), getattr(ref, name), rtol=0, atol=1e-9)
    assert torch.equal(fast.radii, ref.radii)


def test_tiled_matches_dense_reference_float32_large_gaussians():
    params, view = make_scene(n=200, dtype=torch.float32, seed=3, size=(70, 50))
    params["scales"] = params["scales"] * 2  # blobs spanning many tiles
    fast = rasterize(**params, **view, backend="torch")
    ref = rasterize_reference(**params, **view)
    assert psnr(fast.rgb, ref.rgb) > 60 and psnr(fast.alpha, ref.alpha) > 60


def test_projection_matches_gsplat_torch_impl():
    params, view = make_scene(n=300, seed=1)
    params["means"] = params["means"] * 4  # some behind the camera or off screen
    w, h = view["width"], view["height"]
    ours = project(params["means"], params["quats"], params["scales"], view["viewmats"], view["Ks"], w, h)
    covars, _ = _quat_scale_to_covar_preci(params["quats"], params["scales"], compute_preci=False)
    radii, means2d, depths, conics, _ = _fully_fused_projection(params["means"], covars, view["viewmats"], view["Ks"], w, h)
    assert torch.equal(ours.radii, radii)
    visible = (radii > 0).all(dim=-1)
    assert 0 < visible.sum() < visible.numel()
    torch.testing.assert_close(ours.means2d[visible], means2d[visible])
    torch.testing.assert_close(ours.conics[visible], conics[visible])
    torch.testing.assert_close(ours.depths, depths)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_sh_colors_match_gsplat(degree):
    params, view = make_scene(sh_degree=3)
    centres = torch.linalg.inv(view["viewmats"])[:, :3, 3]
    ours = sh_colors(params["colors"], params["means"], centres, degree)
    dirs = params["means"][None] - centres[:, None]
    coeffs = params["colors"][None].expand(len(centres), -1, -1, -1)
    theirs = torch.clamp_min(_spherical_harmonics(degree, dirs, coeffs) + 0.5, 0.0)
    torch.testing.assert_close(ours, theirs)


def test_transmittance_stop_is_exclusive():
    """Two stacked near-opaque Gaussians: the second would leave T = 1e-6 <= 1e-4, so it is dropped."""
    dtype = torch.float64
    viewmats, Ks, w, h = camera_to_tensors([Camera.look_at([0, 0, 5], [0, 0, 0], width=9, height=9)], dtype)
    means = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, -1.0]], dtype=dtype)
    out = rasterize(
        means,
        torch.tensor([[1.0, 0, 0, 0]] * 2, dtype=dtype),
        torch.full((2, 3), 1.0, dtype=dtype),
        torch.ones(2, dtype=dtype),
        torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], dtype=dtype),
        viewmats,
        Ks,
        w,
        h,
        background=torch.tensor([0, 0, 1.0], dtype=dtype),
        backend="torch",
    )
    centre = out.rgb[0, 4, 4]
    torch.testing.assert_close(centre, torch.tensor([0.999, 0.0, 0.001], dtype=dtype))
    torch.testing.assert_close(out.depth[0, 4, 4, 0], torch.tensor(5.0, dtype=dtype))


def _tiny(sh_degree: int | None):
    params, view = make_scene(n=5, seed=7, size=(8, 8), sh_degree=sh_degree)
    params["scales"] = params["scales"] + 0.05
    return params, view


@pytest.mark.parametrize("sh_degree", [None, 2])
def test_gradcheck(sh_degree):
    params, view = _tiny(sh_degree)
    names = list(params)
    background = torch.tensor([0.3, 0.5, 0.1], dtype=torch.float64)

    def fn(*tensors):
        out = rasterize(**dict(zip(names, tensors)), **view, background=background, backend="torch")
        return out.rgb, out.alpha, out.depth

    inputs = [p.clone().requires_grad_() for p in params.values()]
    assert fn(*inputs)[1].max() > 0.3
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("sh_degree, opaque", [(None, False), (3, False), (None, True)])
def test_gradients_match_dense_reference(sh_degree, opaque):
    """``opaque``: opacities of 1, so every core's alpha hits the clamp, where its gradient is 0."""
    params, view = make_scene(sh_degree=sh_degree)
    if opaque:
        params["opacities"] = torch.ones_like(params["opacities"])
    grads = []
    for fn in (lambda **kw: rasterize(**kw, backend="torch"), rasterize_reference):
        leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
        out = fn(**leaves, **view, background=torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64))
        weights = torch.Generator().manual_seed(0)
        loss = sum((t * torch.rand(t.shape, generator=weights, dtype=t.dtype)).sum() for t in (out.rgb, out.alpha, out.depth))
        loss.backward()
        grads.append([leaves[k].grad for k in params] + [out.means2d.grad])
    for fast, ref in zip(*grads):
        torch.testing.assert_close(fast, ref, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "dtype, n, size, block, sh_degree",
    [
        (torch.float64, 60, (37, 29), BLOCK, None),
        (torch.float64, 300, (70, 50), 4096, 3),  # at most 64 tiles a block: many blocks
        (torch.float32, 3000, (160, 120), BLOCK, None),
    ],
)
def test_autograd_baseline_matches_tiled(dtype, n, size, block, sh_degree):
    """The bench's baseline computes what the hand-written kernel does: same images, same gradients."""
    params, view = make_scene(n=n, dtype=dtype, size=size, sh_degree=sh_degree)
    background = torch.tensor([0.5, 0.2, 0.7], dtype=dtype)
    results = []
    for compositor in (composite_tiles, composite_tiles_autograd):
        leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
        out = render(partial(compositor, block=block), **leaves, **view, background=background)
        weights = torch.Generator().manual_seed(0)
        loss = sum((t * torch.rand(t.shape, generator=weights, dtype=dtype)).sum() for t in (out.rgb, out.alpha, out.depth))
        loss.backward()
        results.append([out.rgb, out.alpha, out.depth, out.means2d.grad] + [leaves[k].grad for k in params])
    for ours, baseline in zip(*results):
        # float32 gradients sum thousands of terms in another order: compare at the tensor's scale
        tol = {} if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5 * baseline.abs().max().item())
        torch.testing.assert_close(ours, baseline, **tol)


def reference_tile_lists(means2d, radii, depths, width, height, tile):
    """Each tile's Gaussians (flat ``c * N + n``) front to back, equal depths in index order, by
    gsplat's tile range rule, written out with Python loops."""
    n_cams, n = depths.shape
    tiles_x, tiles_y = -(-width // tile), -(-height // tile)
    lists = {}
    for c in range(n_cams):
        visible = [g for g in range(n) if radii[c, g, 0] > 0 and radii[c, g, 1] > 0]
        for g in sorted(visible, key=lambda g: (float(depths[c, g]), g)):
            (x, y), (rx, ry) = means2d[c, g].tolist(), radii[c, g].tolist()
            x0, x1 = min(max(int(np.floor((x - rx) / tile)), 0), tiles_x), min(max(int(np.ceil((x + rx) / tile)), 0), tiles_x)
            y0, y1 = min(max(int(np.floor((y - ry) / tile)), 0), tiles_y), min(max(int(np.ceil((y + ry) / tile)), 0), tiles_y)
            for ty in range(y0, y1):
                for tx in range(x0, x1):
                    lists.setdefault((c * tiles_y + ty) * tiles_x + tx, []).append(c * n + g)
    return tiles_x, tiles_y, lists


@pytest.mark.parametrize("block", [BLOCK, 64 * 3, 64 * 5, 1])
def test_binning_lists_each_tile_front_to_back_and_plans_blocks_within_budget(block):
    """Tile lists against a loop version of the rule; blocks cover each busy tile once, pad to their
    longest list, stay within ``block`` pairs (a longer list gets a block of its own) and are full."""
    g = torch.Generator().manual_seed(5)
    n_cams, n, width, height, tile = 2, 40, 37, 29, 8
    means2d = torch.rand(n_cams, n, 2, generator=g) * torch.tensor([57.0, 49.0]) - 10  # some off screen
    radii = torch.randint(0, 13, (n_cams, n, 2), generator=g, dtype=torch.int32)
    radii[0, :3, 1] = 0  # culled along one axis: culled
    depths = torch.randint(1, 6, (n_cams, n), generator=g).double()  # many ties
    binning = bin_gaussians(means2d, radii, depths, width, height, tile, block)

    tiles_x, tiles_y, lists = reference_tile_lists(means2d, radii, depths, width, height, tile)
    assert (binning.tiles_x, binning.tiles_y) == (tiles_x, tiles_y) == (5, 4)
    assert binning.counts.shape == binning.offsets.shape == (n_cams * tiles_x * tiles_y,)
    got = {
        t: binning.gaussian[binning.offsets[t] : binning.offsets[t] + binning.counts[t]].tolist()
        for t in binning.counts.nonzero().squeeze(1).tolist()
    }
    assert got == lists and len(lists) > 10
    assert torch.equal(binning.tile_id, torch.tensor([t for t in sorted(lists) for _ in lists[t]]))

    planned = torch.cat([tiles for tiles, _ in binning.blocks]).tolist()
    assert sorted(planned) == sorted(lists)
    counts = binning.counts
    for i, (tiles, length) in enumerate(binning.blocks):
        assert length == int(counts[tiles].max()) == int(counts[tiles[0]])
        pairs = len(tiles) * tile * tile * length
        assert pairs <= block or len(tiles) == 1
        if i + 1 < len(binning.blocks):  # full: one tile more would not fit
            assert pairs + tile * tile * length > block


def test_culled_gaussians_have_zero_radius_and_finite_zero_grads():
    params, view = make_scene(n=40, seed=2)
    params["means"][:5] = torch.tensor([0.3, 0.2, 9.0], dtype=torch.float64)  # behind camera 0
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    out = rasterize(**leaves, **view, backend="torch")
    out.rgb.sum().backward()
    assert (out.radii[0, :5] == 0).all() and out.visible.shape == (2, 40)
    assert all(torch.isfinite(leaf.grad).all() for leaf in leaves.values())
    assert out.means2d.grad.shape == (2, 40, 2) and (out.means2d.grad[0, :5] == 0).all()
    assert out.screen_grad_norms().shape == (2, 40)


def test_camera_conversion_matches_scene_camera_project():
    cam = Camera.look_at([1.0, 2.0, 4.0], [0.1, -0.2, 0.3], width=64, height=48, fov_y_deg=55)
    cam = Camera(cam.c2w, 64, 48, 55.0, cx=30.0, cy=20.0)
    points = np.random.default_rng(0).normal(size=(50, 3))
    uv, depth = cam.project(points)
    viewmats, Ks, w, h = camera_to_tensors([cam], dtype=torch.float64)
    proj = project(
        torch.as_tensor(points), torch.tensor([[1.0, 0, 0, 0]]).repeat(50, 1).double(), torch.full((50, 3), 0.01).double(),
        viewmats, Ks, w, h,
    )  # fmt: skip
    assert (w, h) == (64, 48)
    np.testing.assert_allclose(proj.means2d[0].numpy(), uv, atol=1e-9)
    np.testing.assert_allclose(proj.depths[0].numpy(), depth, atol=1e-12)


def test_auto_backend_on_cpu_is_torch_and_shapes():
    params, view = make_scene(dtype=torch.float32)
    out = rasterize(**params, **view)
    h, w = view["height"], view["width"]
    assert out.rgb.shape == (2, h, w, 3) and out.alpha.shape == (2, h, w, 1) and out.depth.shape == (2, h, w, 1)
    assert out.radii.dtype == torch.int32 and out.radii.shape == (2, 60)
    with pytest.raises(ValueError):
        rasterize(**{**params, "opacities": params["opacities"][:, None]}, **view)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("sh_degree", [None, 3])
def test_torch_backend_matches_gsplat(sh_degree):
    params, view = make_scene(n=2000, dtype=torch.float32, size=(160, 120), sh_degree=sh_degree)
    background = torch.tensor([0.1, 0.2, 0.3])
    results = []
    for backend, device in (("torch", "cpu"), ("gsplat", "cuda")):
        leaves = {k: v.to(device).requires_grad_() for k, v in params.items()}
        dev_view = {k: v.to(device) if torch.is_tensor(v) else v for k, v in view.items()}
        out = rasterize(**leaves, **dev_view, background=background.to(device), backend=backend)
        (out.rgb.sum() + out.alpha.sum()).backward()
        results.append((out, {k: leaf.grad.cpu() for k, leaf in leaves.items()}))
    (cpu_out, cpu_grads), (gpu_out, gpu_grads) = results
    assert psnr(cpu_out.rgb, gpu_out.rgb.cpu()) >= 40
    assert psnr(cpu_out.alpha, gpu_out.alpha.cpu()) >= 40
    assert torch.equal(cpu_out.radii, gpu_out.radii.cpu())
    for name, grad in cpu_grads.items():
        cos = torch.nn.functional.cosine_similarity(grad.flatten(), gpu_grads[name].flatten(), dim=0)
        assert cos > 0.99, name
