"""The optimization core: densification strategy, model schedules, checkpoints, SSIM."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch

from engines.optim import (
    DensifyStrategy,
    GaussianModel,
    load_training,
    photometric_loss,
    restore_training,
    save_training,
    ssim,
    training_state,
)
from engines.optim.strategy import grow, prune
from engines.rasterizer import RasterOutput, camera_to_tensors, rasterize
from scene import Camera, GaussianCloud


def toy_model(n: int = 8, sh_degree: int = 0, **kw) -> GaussianModel:
    """``n`` Gaussians on a line, scales growing along it (the first half small, the rest large)."""
    means = np.stack([np.linspace(-1, 1, n), np.zeros(n), np.zeros(n)], axis=1)
    scales = np.where(np.arange(n) < n // 2, 0.001, 0.05)[:, None]
    cloud = GaussianCloud.create(means, scales, np.full((n, 3), 0.5), opacities=0.5, sh_degree=sh_degree)
    return GaussianModel.from_cloud(cloud, sh_degree, **kw)


def fake_output(grads: np.ndarray, visible: np.ndarray | None = None) -> RasterOutput:
    """A one-view output whose projected centres have gradients of norm ``grads [N]`` (along x).

    With a 2x2 image the statistic (half-image units) equals the gradient itself.
    """
    n = len(grads)
    means2d = torch.zeros(1, n, 2, requires_grad=True)
    means2d.grad = torch.zeros(1, n, 2)
    means2d.grad[0, :, 0] = torch.as_tensor(grads, dtype=torch.float32)
    radii = torch.as_tensor(np.ones(n) if visible is None else visible, dtype=torch.int32)[None]
    empty = torch.zeros(1, 2, 2, 1)
    return RasterOutput(empty.expand(1, 2, 2, 3), empty, empty, means2d, radii, 2, 2)


def run_strategy(strategy: DensifyStrategy, model: GaussianModel, state: dict, step: int, grads: np.ndarray) -> None:
    """One step of the strategy's statistics (and refinement, when ``step`` is on its schedule)."""
    info = fake_output(grads)
    strategy.step_pre_backward(model.params, model.optimizers, state, step, info)
    strategy.step_post_backward(model.params, model.optimizers, state, step, info)


def adam_step(model: GaussianModel) -> None:
    """One Adam step with a loss touching every parameter, so every group has moments."""
    model.zero_grad()
    sum(p.square().sum() for p in model.params.values()).backward()
    model.step(1)


def check_adam_matches(model: GaussianModel) -> None:
    for name, param in model.params.items():
        opt = model.optimizers[name]
        assert opt.param_groups[0]["params"][0] is param
        assert opt.state[param]["exp_avg"].shape == param.shape


# --------------------------------------------------------------------- strategy
STRATEGY = DensifyStrategy(refine_start=0, refine_every=2, reset_every=0, grow_grad2d=0.5, grow_scale3d=0.01)


def test_clones_small_and_splits_large_where_gradients_are_high():
    model = toy_model(8)
    adam_step(model)
    state = STRATEGY.initialize_state(scene_scale=1.0)
    grads = np.array([1.0, 0, 0, 0, 1.0, 0, 0, 0])  # Gaussian 0 is small (clone), 4 large (split)
    before = {k: v.detach().clone() for k, v in model.params.items()}
    run_strategy(STRATEGY, model, state, 1, grads)
    assert len(model) == 8 and state["count"].tolist() == [1] * 8  # step 1: statistics only
    run_strategy(STRATEGY, model, state, 2, grads)
    assert len(model) == 10  # +1 clone, split replaces one by two
    means = model.params["means"].detach()
    torch.testing.assert_close(means[7], before["means"][0])  # the clone, appended after the 7 kept
    torch.testing.assert_close(means[:7], before["means"][[0, 1, 2, 3, 5, 6, 7]])
    children_scales = model.params["log_scales"][8:].detach().exp()
    torch.testing.assert_close(children_scales, before["log_scales"][4].exp().expand(2, 3) / 1.6)
    assert bool((means[8:] != before["means"][4]).any(dim=1).all())  # sampled around the parent
    check_adam_matches(model)
    assert float(model.optimizers["means"].state[model.params["means"]]["exp_avg"][7:].abs().sum()) == 0
    assert state["grad2d"].shape == (10,) and float(state["grad2d"].sum()) == 0  # reset after refining


def test_prunes_transparent_and_averages_over_views_seen():
    model = toy_model(6)
    with torch.no_grad():
        model.params["opacity_logits"][[1, 3]] = -10.0
    state = STRATEGY.initialize_state()
    info = fake_output(np.array([0.9, 0, 0, 0, 0, 0]), visible=np.array([1, 1, 1, 1, 1, 0]))
    STRATEGY.step_post_backward(model.params, model.optimizers, state, 1, info)
    STRATEGY.step_post_backward(model.params, model.optimizers, state, 1, fake_output(np.zeros(6)))
    assert state["count"].tolist() == [2, 2, 2, 2, 2, 1]
    run_strategy(STRATEGY, model, state, 2, np.zeros(6))  # mean gradient of 0: 0.3, below 0.5
    assert len(model) == 4
    np.testing.assert_allclose(model.params["means"][:, 0].detach(), np.linspace(-1, 1, 6)[[0, 2, 4, 5]], atol=1e-6)


def test_prunes_huge_ones_too_once_opacities_were_reset():
    """Before the first reset only transparent Gaussians go; after it, transparent *or* huge ones."""
    model = toy_model(6)
    adam_step(model)
    with torch.no_grad():
        model.params["opacity_logits"][:] = 2.0
        model.params["opacity_logits"][1] = -10.0  # transparent (and small)
        model.params["log_scales"][4] = np.log(0.5)  # huge (> prune_scale3d x scene scale) and opaque
    strategy = DensifyStrategy(refine_start=0, refine_every=2, reset_every=3, grow_grad2d=10.0, prune_scale3d=0.1)
    state = strategy.initialize_state(scene_scale=1.0)
    run_strategy(strategy, model, state, 2, np.zeros(6))  # step 2: no reset yet, the huge one stays
    x = np.linspace(-1, 1, 6)  # spaced 0.4 apart; the Adam step moved them by 2e-4
    np.testing.assert_allclose(model.params["means"][:, 0].detach(), x[[0, 2, 3, 4, 5]], atol=1e-3)
    run_strategy(strategy, model, state, 4, np.zeros(5))  # step 4, after the reset at 3: it goes
    np.testing.assert_allclose(model.params["means"][:, 0].detach(), x[[0, 2, 3, 5]], atol=1e-3)
    check_adam_matches(model)


def test_cap_keeps_the_highest_gradients():
    model = toy_model(8)
    strategy = dataclasses.replace(STRATEGY, max_splats=11)
    state = strategy.initialize_state()
    grads = np.array([0.6, 0.7, 0.8, 0.9, 1.0, 2.0, 3.0, 4.0])
    run_strategy(strategy, model, state, 2, grads)
    assert len(model) == 11  # 3 grew (split in two), of the 8 that wanted to
    kept = model.params["means"][:5, 0].detach()  # the 3 split ones (highest gradients) left the front
    np.testing.assert_allclose(kept, np.linspace(-1, 1, 8)[:5], atol=1e-6)
    run_strategy(strategy, model, state, 4, np.ones(11))
    assert len(model) == 11


def test_opacity_reset():
    model = toy_model(4)
    with torch.no_grad():
        model.params["opacity_logits"][:] = torch.tensor([3.0, 0.0, -3.0, -5.0])
    adam_step(model)
    strategy = DensifyStrategy(refine_start=100, reset_every=3, prune_opa=0.005)
    state = strategy.initialize_state()
    run_strategy(strategy, model, state, 2, np.zeros(4))
    assert float(model.opacities.detach().min()) < 0.01 < float(model.opacities.detach().max())
    run_strategy(strategy, model, state, 3, np.zeros(4))
    opacities = model.opacities.detach()
    assert bool((opacities <= 0.01 + 1e-6).all()) and opacities[3] < 0.01  # clamped, the low one kept
    adam = model.optimizers["opacity_logits"].state[model.params["opacity_logits"]]
    assert float(adam["exp_avg"].abs().sum()) == 0 and float(adam["exp_avg_sq"].abs().sum()) == 0
    check_adam_matches(model)


def test_state_lives_outside_the_strategy():
    strategy = dataclasses.replace(STRATEGY)
    frozen = dataclasses.asdict(strategy)
    models = [toy_model(8), toy_model(8)]
    states = [strategy.initialize_state(), strategy.initialize_state()]
    run_strategy(strategy, models[0], states[0], 1, np.ones(8))
    run_strategy(strategy, models[1], states[1], 1, np.zeros(8))
    assert dataclasses.asdict(strategy) == frozen and list(vars(strategy)) == list(frozen)
    assert float(states[0]["grad2d"].sum()) == 8 and float(states[1]["grad2d"].sum()) == 0


def test_densifies_a_real_render_where_the_image_is_wrong():
    """A single blurry Gaussian fitted to a two-blob target gets large screen gradients and grows."""
    camera = Camera.from_fov_x(Camera.look_at([0, 0, 4], [0, 0, 0]).c2w, 32, 32, 0.7)
    viewmats, Ks, w, h = camera_to_tensors([camera])
    target_cloud = GaussianCloud.create([[-0.4, 0, 0], [0.4, 0, 0]], 0.12, [[1, 0, 0], [0, 0, 1]], opacities=0.95)
    target = rasterize(*(torch.tensor(a) for a in (target_cloud.means, target_cloud.quats, target_cloud.scales,
                                                       target_cloud.opacities, target_cloud.base_colors)),
                       viewmats, Ks, w, h, background=torch.ones(3)).rgb
    model = GaussianModel.from_cloud(GaussianCloud.create([[0.2, 0.1, 0]], 0.3, [[0.5, 0.5, 0.5]], 0.6), 0)
    strategy = DensifyStrategy(refine_start=0, refine_every=1, reset_every=0, grow_grad2d=1e-4, grow_scale3d=0.01)
    state = strategy.initialize_state(scene_scale=1.0)
    for step in (1, 2):
        out = rasterize(model.params["means"], model.params["quats"], model.scales, model.opacities, model.sh,
                        viewmats, Ks, w, h, sh_degree=0, background=torch.ones(3))
        strategy.step_pre_backward(model.params, model.optimizers, state, step, out)
        model.zero_grad()
        photometric_loss(out.rgb, target).backward()
        model.step(step)
        strategy.step_post_backward(model.params, model.optimizers, state, step, out)
    assert len(model) > 1


def test_initial_state_is_empty_with_the_given_scene_scale():
    assert DensifyStrategy().initialize_state() == {"grad2d": None, "count": None, "scene_scale": 1.0}
    assert DensifyStrategy().initialize_state(3)["scene_scale"] == 3.0


def test_pre_backward_keeps_the_gradient_of_projected_centres():
    """means2d is not a leaf in a real render: without retain_grad its gradient would be dropped."""
    leaf = torch.zeros(1, 2, 2, requires_grad=True)
    means2d = leaf * 1.0
    empty = torch.zeros(1, 2, 2, 1)
    info = RasterOutput(empty.expand(1, 2, 2, 3), empty, empty, means2d, torch.ones(1, 2, dtype=torch.int32), 2, 2)
    STRATEGY.step_pre_backward({}, {}, {}, 1, info)
    (means2d[0, :, 0] * torch.tensor([0.25, 0.0])).sum().backward()
    torch.testing.assert_close(info.screen_grad_norms(), torch.tensor([[0.25, 0.0]]))
    with torch.no_grad():  # an output rendered without gradients is left alone
        frozen = RasterOutput(empty, empty, empty, leaf * 1.0, info.radii, 2, 2)
    STRATEGY.step_pre_backward({}, {}, {}, 1, frozen)


def test_refines_after_refine_start_on_every_refine_every_step_until_refine_stop():
    strategy = dataclasses.replace(STRATEGY, refine_start=2, refine_every=2, refine_stop=6)
    model = toy_model(4)
    state = strategy.initialize_state()
    grads = np.array([1.0, 0, 0, 0])  # Gaussian 0 is small: it is cloned when refining
    sizes = []
    for step in (2, 3, 4, 5):
        run_strategy(strategy, model, state, step, np.resize(grads, len(model)))
        sizes.append(len(model))
    assert sizes == [4, 4, 5, 5]  # step 2 is refine_start itself, 3 is off the schedule
    assert state["count"].tolist() == [1, 1, 1, 1, 1]  # step 5 counted (after the reset at 4)
    run_strategy(strategy, model, state, 6, np.ones(5))  # refine_stop: nothing more, not even statistics
    assert len(model) == 5 and state["count"].tolist() == [1, 1, 1, 1, 1]


def test_grows_above_the_mean_gradient_threshold_only():
    """Gradients are averaged over the views that saw each Gaussian; the threshold itself stays."""
    model = toy_model(4)  # all small: growing clones
    state = STRATEGY.initialize_state()
    run_strategy(STRATEGY, model, state, 2, np.array([0.5, 0.9, 0.49, 0.0]))
    assert len(model) == 5
    np.testing.assert_allclose(model.params["means"][4].detach(), model.params["means"][1].detach())


def test_the_cap_picks_among_high_gradients_only():
    model = toy_model(8)  # 0-3 small, 4-7 large
    strategy = dataclasses.replace(STRATEGY, max_splats=10)  # room for two more
    state = strategy.initialize_state()
    run_strategy(strategy, model, state, 2, np.array([0, 0, 0, 0, 0.6, 0.7, 0.8, 0]))
    x = np.linspace(-1, 1, 8)
    assert len(model) == 10  # 5 and 6 split, 4 (the lowest of the three) did not grow
    np.testing.assert_allclose(model.params["means"][:6, 0].detach(), x[[0, 1, 2, 3, 4, 7]], atol=1e-6)


@pytest.mark.parametrize("max_splats", [8, 5])
def test_nothing_grows_at_or_over_the_cap(max_splats):
    model = toy_model(8)
    strategy = dataclasses.replace(STRATEGY, max_splats=max_splats)
    state = strategy.initialize_state()
    run_strategy(strategy, model, state, 2, np.ones(8))
    assert len(model) == 8


def test_size_thresholds_scale_with_the_scene():
    """In a scene 10 units across, a 0.05 splat is small (cloned) and a 0.5 one is not huge."""
    model = toy_model(4)  # scales 0.001, 0.001, 0.05, 0.05
    with torch.no_grad():
        model.params["log_scales"][3] = np.log(0.5)
    strategy = dataclasses.replace(STRATEGY, reset_every=1, prune_scale3d=0.1)
    state = strategy.initialize_state(scene_scale=10.0)
    run_strategy(strategy, model, state, 2, np.array([0, 0, 1.0, 0]))
    assert len(model) == 5  # nothing pruned, 2 cloned rather than split
    np.testing.assert_allclose(model.params["means"][4].detach(), model.params["means"][2].detach())
    np.testing.assert_allclose(model.scales[4].detach(), [0.05] * 3, rtol=1e-5)


def test_huge_ones_go_only_after_the_first_reset_with_the_transparent_ones():
    model = toy_model(5)
    with torch.no_grad():
        model.params["opacity_logits"][:] = 2.0
        model.params["log_scales"][3] = np.log(0.5)  # huge, opaque
    strategy = DensifyStrategy(refine_start=0, refine_every=3, reset_every=3, grow_grad2d=10.0, prune_scale3d=0.1)
    state = strategy.initialize_state()
    run_strategy(strategy, model, state, 3, np.zeros(5))  # refining at the reset step: not yet
    assert len(model) == 5
    with torch.no_grad():
        model.params["opacity_logits"][0] = -10.0  # transparent, small
    run_strategy(strategy, model, state, 6, np.zeros(5))
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(model.params["means"][:, 0].detach(), x[[1, 2, 4]], atol=1e-6)


@pytest.mark.parametrize(("reset_every", "kept"), [(0, 4), (1, 3)])
def test_huge_ones_stay_without_resets(reset_every, kept):
    """With resets off huge splats are never pruned; resetting every step prunes them from step 2."""
    model = toy_model(4)
    with torch.no_grad():
        model.params["log_scales"][3] = np.log(0.5)
    strategy = dataclasses.replace(STRATEGY, reset_every=reset_every, grow_grad2d=10.0, prune_scale3d=0.1)
    state = strategy.initialize_state()
    run_strategy(strategy, model, state, 2, np.zeros(4))
    assert len(model) == kept


@pytest.mark.parametrize(("reset_every", "step", "reset"), [(3, 0, False), (3, 6, True), (1, 1, True), (3, 4, False)])
def test_opacity_reset_schedule_and_value(reset_every, step, reset):
    """Every ``reset_every`` steps (never at step 0) opacities are clamped to twice ``prune_opa``."""
    model = toy_model(3)
    with torch.no_grad():
        model.params["opacity_logits"][:] = torch.tensor([3.0, -1.0, -4.0])
    adam_step(model)
    before = {k: v.detach().clone() for k, v in model.params.items()}
    means_adam = {k: v.clone() for k, v in model.optimizers["means"].state[model.params["means"]].items()}
    strategy = DensifyStrategy(refine_start=100, reset_every=reset_every, prune_opa=0.05)
    run_strategy(strategy, model, strategy.initialize_state(), step, np.zeros(3))
    expected = torch.sigmoid(before["opacity_logits"])
    if reset:
        expected = expected.clamp(max=0.1)
    torch.testing.assert_close(model.opacities.detach(), expected)
    for name in ("means", "log_scales", "quats", "sh_dc"):  # only opacities are touched
        torch.testing.assert_close(model.params[name].detach(), before[name], rtol=0, atol=0)
    for key, value in model.optimizers["means"].state[model.params["means"]].items():
        torch.testing.assert_close(value, means_adam[key], rtol=0, atol=0)


def test_split_children_spread_along_the_parents_rotated_axes():
    """Children of a split sit at parent + R(q) diag(scale) noise: along each parent's long axis."""
    model = toy_model(2, sh_degree=1)
    adam_step(model)
    s = float(np.sqrt(0.5))
    with torch.no_grad():
        model.params["log_scales"][:] = torch.log(torch.tensor([0.3, 1e-6, 1e-6]))  # long along local x
        model.params["quats"][0] = 2.0 * torch.tensor([s, 0, 0, s])  # 90 deg about z: x -> y (not normalized)
        model.params["quats"][1] = 0.5 * torch.tensor([s, 0, s, 0])  # 90 deg about y: x -> -z
    parents = model.params["means"].detach().clone()
    state = STRATEGY.initialize_state()
    grow(model.params, model.optimizers, state, (torch.zeros(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)))
    assert {name: len(p) for name, p in model.params.items()} == dict.fromkeys(model.params, 4)
    offsets = (model.params["means"].detach() - parents[[0, 1, 0, 1]]).abs()  # children of 0, 1, then again
    assert bool((offsets[[0, 2]][:, [0, 2]] < 1e-5).all()) and bool((offsets[[0, 2], 1] > 1e-4).all())
    assert bool((offsets[[1, 3]][:, [0, 1]] < 1e-5).all()) and bool((offsets[[1, 3], 2] > 1e-4).all())
    torch.testing.assert_close(model.scales.detach(), torch.tensor([0.3, 1e-6, 1e-6]).expand(4, 3) / 1.6)
    check_adam_matches(model)


def test_grow_and_prune_keep_frozen_parameters_frozen():
    params = {"means": torch.nn.Parameter(torch.arange(6.0).reshape(3, 2)),
              "colors": torch.nn.Parameter(torch.ones(3, 2), requires_grad=False)}
    optimizers = {name: torch.optim.Adam([p]) for name, p in params.items()}
    state = {"grad2d": torch.tensor([1.0, 2.0, 3.0]), "scene_scale": 1.0}
    prune(params, optimizers, state, torch.tensor([False, True, False]))
    assert not params["colors"].requires_grad and params["means"].requires_grad
    assert params["means"].tolist() == [[0, 1], [4, 5]] and state == {"grad2d": state["grad2d"], "scene_scale": 1.0}
    assert state["grad2d"].tolist() == [1.0, 3.0]
    assert optimizers["colors"].param_groups[0]["params"][0] is params["colors"]


def test_size_and_opacity_thresholds_match_gsplat_at_their_boundaries():
    """At exactly ``grow_scale3d`` a splat is small (cloned); at exactly ``prune_opa`` or
    ``prune_scale3d`` it stays (gsplat: ``<=`` to clone, ``<`` and ``>`` to prune)."""
    model = toy_model(4)  # scales 0.001, 0.001, 0.05, 0.05
    edge = float(model.scales[2].detach().max())  # the float32 value itself, so the comparison is exact
    strategy = dataclasses.replace(STRATEGY, grow_scale3d=edge)
    run_strategy(strategy, model, strategy.initialize_state(), 2, np.array([0, 0, 1.0, 0]))
    assert len(model) == 5
    torch.testing.assert_close(model.params["log_scales"][4], model.params["log_scales"][2], rtol=0, atol=0)

    model = toy_model(4)
    with torch.no_grad():
        model.params["opacity_logits"][:] = torch.tensor([2.0, 0.0, 2.0, 2.0])  # 1 at opacity 0.5 exactly
    strategy = dataclasses.replace(STRATEGY, reset_every=1, prune_opa=0.5, prune_scale3d=edge, grow_grad2d=10.0)
    run_strategy(strategy, model, strategy.initialize_state(), 2, np.zeros(4))
    assert len(model) == 4


def test_grow_copies_state_rows_of_any_shape():
    """Statistics with more than one value per Gaussian follow clones and split children too."""
    params = {"means": torch.nn.Parameter(torch.zeros(3, 3)),
              "log_scales": torch.nn.Parameter(torch.full((3, 3), -2.0)),
              "quats": torch.nn.Parameter(torch.tensor([[1.0, 0, 0, 0]]).repeat(3, 1))}
    optimizers = {name: torch.optim.Adam([p]) for name, p in params.items()}
    state = {"per_view": torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), "scene_scale": 1.0}
    grow(params, optimizers, state, (torch.tensor([False, True, False]), torch.tensor([False, False, True])))
    assert state["per_view"].tolist() == [[0, 1], [2, 3], [2, 3], [4, 5], [4, 5]]
    assert [len(p) for p in params.values()] == [5, 5, 5]


# --------------------------------------------------------------------- model schedules
def test_means_lr_decays_and_sh_bands_warm_up():
    model = toy_model(4, sh_degree=3, scene_scale=2.0, steps=100, sh_interval=10)
    assert model.means_lr(0) == pytest.approx(1.6e-4 * 2) and model.means_lr(100) == pytest.approx(1.6e-6 * 2)
    assert model.means_lr(50) == pytest.approx(2 * np.sqrt(1.6e-4 * 1.6e-6))
    assert [model.active_sh_degree(s) for s in (0, 9, 10, 25, 30, 1000)] == [0, 0, 1, 2, 3, 3]
    model.step(100)
    assert model.optimizers["means"].param_groups[0]["lr"] == pytest.approx(3.2e-6)


def test_to_cloud_is_a_copy():
    model = toy_model(4)
    cloud = model.to_cloud()
    with torch.no_grad():
        model.params["means"] += 1.0
    np.testing.assert_allclose(cloud.means[:, 0], np.linspace(-1, 1, 4), atol=1e-6)


# --------------------------------------------------------------------- checkpoints
def _train(model: GaussianModel, strategy: DensifyStrategy, state: dict, steps: range, target, cams) -> None:
    viewmats, Ks, w, h = cams
    for step in steps:
        out = rasterize(model.params["means"], model.params["quats"], model.scales, model.opacities, model.sh,
                        viewmats, Ks, w, h, sh_degree=model.active_sh_degree(step), background=torch.ones(3))
        strategy.step_pre_backward(model.params, model.optimizers, state, step, out)
        model.zero_grad()
        photometric_loss(out.rgb, target).backward()
        model.step(step)
        strategy.step_post_backward(model.params, model.optimizers, state, step, out)


def test_checkpoint_round_trip_matches_a_continuous_run(tmp_path):
    cams = camera_to_tensors([Camera.from_fov_x(Camera.look_at([0, 0.5, 3], [0, 0, 0]).c2w, 16, 16, 0.8)])
    target = torch.linspace(0, 1, 16)[None, :, None, None].expand(1, 16, 16, 3) ** 2
    rng = np.random.default_rng(0)
    cloud = GaussianCloud.create(rng.uniform(-0.5, 0.5, (40, 3)), 0.1, rng.uniform(size=(40, 3)), 0.5, sh_degree=1)
    strategy = DensifyStrategy(refine_start=1, refine_every=3, reset_every=5, grow_grad2d=1e-5, max_splats=300)

    def fresh() -> tuple[GaussianModel, dict]:
        return GaussianModel.from_cloud(cloud, 1, steps=12, sh_interval=4), strategy.initialize_state(2.0)

    torch.manual_seed(0)
    continuous, continuous_state = fresh()
    _train(continuous, strategy, continuous_state, range(1, 13), target, cams)

    torch.manual_seed(0)
    first, state = fresh()
    _train(first, strategy, state, range(1, 7), target, cams)
    save_training(tmp_path / "ckpt.pt", training_state(first, state, 6))
    torch.manual_seed(123)  # the checkpoint's RNG state must win
    resumed = GaussianModel.from_cloud(cloud.subset([0]), 1, steps=12, sh_interval=4)
    state, done = restore_training(resumed, load_training(tmp_path / "ckpt.pt"))
    assert done == 6 and len(resumed) == len(first)
    _train(resumed, strategy, state, range(7, 13), target, cams)

    # Splats grew before and after the resume point; every one is larger than grow_scale3d, so all
    # growth is splitting, whose offsets come from the RNG the checkpoint must carry.
    assert 40 < len(first) < len(continuous)
    for name, param in continuous.params.items():
        torch.testing.assert_close(resumed.params[name], param, rtol=0, atol=0)
    torch.testing.assert_close(state["grad2d"], continuous_state["grad2d"], rtol=0, atol=0)


def test_checkpoint_file_holds_tensors_only(tmp_path):
    model = toy_model(4)
    adam_step(model)
    save_training(tmp_path / "c.pt", training_state(model, DensifyStrategy().initialize_state(), 1))
    loaded = torch.load(tmp_path / "c.pt", weights_only=True)  # raises on pickled objects
    assert loaded["step"] == 1 and loaded["model"]["means.exp_avg"].shape == (4, 3)
    other = toy_model(4, sh_degree=1)
    with pytest.raises(ValueError, match="SH degree"):
        restore_training(other, loaded)


def test_training_state_is_a_snapshot_and_restores_the_strategy_and_rng(tmp_path):
    model = toy_model(3)
    strategy_state = {"grad2d": torch.ones(3), "count": None, "scene_scale": 2.0}
    torch.manual_seed(5)
    state = training_state(model, strategy_state, np.int64(4))
    expected_draw = torch.rand(3)
    strategy_state["grad2d"] += 1.0  # training goes on; the snapshot does not change
    save_training(tmp_path / "c.pt", state)
    strategy, step = restore_training(toy_model(3), load_training(tmp_path / "c.pt"))
    assert step == 4 and type(state["step"]) is int
    assert strategy["count"] is None and strategy["scene_scale"] == 2.0
    assert strategy["grad2d"].tolist() == [1.0, 1.0, 1.0]
    torch.testing.assert_close(torch.rand(3), expected_draw, rtol=0, atol=0)


class _Payload:
    pass


def test_loading_a_training_file_with_pickled_objects_fails(tmp_path, monkeypatch):
    """weights_only is asked for explicitly: it holds even where the environment turns torch's default off."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    torch.save({"step": 1, "payload": _Payload()}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError):
        load_training(tmp_path / "evil.pt")


def test_a_training_file_written_on_a_gpu_loads_on_the_cpu(tmp_path, monkeypatch):
    """A run trained on CUDA saves CUDA tensors; they are mapped to the CPU when read."""
    import torch.serialization

    with monkeypatch.context() as patch:  # write the file as a CUDA machine would
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        save_training(tmp_path / "gpu.pt", {"step": 3, "model": {"means": torch.ones(2, 3)}})
    loaded = load_training(tmp_path / "gpu.pt")
    assert loaded["step"] == 3 and loaded["model"]["means"].device == torch.device("cpu")
    assert loaded["model"]["means"].tolist() == [[1.0] * 3] * 2


def test_restored_strategy_state_follows_the_model_device():
    """Statistics are moved to the device of the model they are restored into (here the meta device,
    standing in for a GPU)."""
    state = training_state(toy_model(3), {"grad2d": torch.ones(3), "count": None, "scene_scale": 1.0}, 2)
    cloud = GaussianCloud.create(np.zeros((1, 3)), 0.1, np.full((1, 3), 0.5), opacities=0.5)
    model = GaussianModel.from_cloud(cloud, 0, device="meta")
    strategy, _ = restore_training(model, state)
    assert strategy["grad2d"].device.type == "meta" and model.params["means"].shape == (3, 3)


# --------------------------------------------------------------------- losses
def numpy_ssim(a: np.ndarray, b: np.ndarray, size: int = 11, sigma: float = 1.5) -> float:
    """SSIM of ``[H, W, C]`` images the textbook way: Gaussian-weighted moments of every window."""
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    pad = size // 2
    height, width, channels = a.shape
    pa, pb = (np.pad(img, ((pad, pad), (pad, pad), (0, 0))) for img in (a, b))
    c1, c2 = 0.01**2, 0.03**2
    total = 0.0
    for y in range(height):
        for x0 in range(width):
            wa, wb = pa[y : y + size, x0 : x0 + size], pb[y : y + size, x0 : x0 + size]  # [size, size, C]
            for c in range(channels):
                mu_a, mu_b = (window * wa[..., c]).sum(), (window * wb[..., c]).sum()
                var_a = (window * wa[..., c] ** 2).sum() - mu_a**2
                var_b = (window * wb[..., c] ** 2).sum() - mu_b**2
                cov = (window * wa[..., c] * wb[..., c]).sum() - mu_a * mu_b
                total += ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return total / (height * width * channels)


def test_ssim_of_identical_images_is_one():
    img = torch.rand(2, 20, 24, 3, generator=torch.Generator().manual_seed(0))
    assert float(ssim(img, img)) == pytest.approx(1.0, abs=1e-6)


def test_ssim_matches_an_independent_numpy_version():
    rng = np.random.default_rng(1)
    a = rng.uniform(size=(14, 18, 3))
    b = np.clip(a + rng.normal(scale=0.2, size=a.shape), 0, 1)
    expected = numpy_ssim(a, b)
    got = float(ssim(torch.tensor(a[None], dtype=torch.float32), torch.tensor(b[None], dtype=torch.float32)))
    assert got == pytest.approx(expected, abs=1e-4) and expected < 0.9


def test_photometric_loss_blends_l1_and_dssim():
    a, b = torch.zeros(1, 12, 12, 3), torch.full((1, 12, 12, 3), 0.5)
    l1 = 0.5
    d = 1 - float(ssim(a, b))
    assert float(photometric_loss(a, b)) == pytest.approx(0.8 * l1 + 0.2 * d)
    assert float(photometric_loss(a, b, 0.0)) == pytest.approx(l1)
