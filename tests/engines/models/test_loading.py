import shutil
import time

import pytest

from engines.models import ROLES, ModelError, ModelSource, role_named
from engines.models.cache import ModelCache, model_bytes
from engines.models.hub import fetch, locate
from engines.models.loading import DepthModel, NovelViewModel, load_model
from engines.models.placement import choose_placement

EXPECTED = {
    "text": "StableDiffusionPipeline",
    "inpaint": "StableDiffusionInpaintPipeline",
    "refiner": "StableDiffusionImg2ImgPipeline",
    "video": "StableVideoDiffusionPipeline",
    "novel-view": "NovelViewModel",
    "depth": "DepthModel",
}


@pytest.mark.parametrize("name", list(ROLES))
def test_every_role_loads_its_real_classes_from_a_folder(tiny_models, name):
    role = role_named(name)
    folder = fetch(role, ModelSource.parse(str(tiny_models(name))))
    model = load_model(role, folder, choose_placement("cpu"))
    assert type(model).__name__ == EXPECTED[name]
    assert model_bytes(model) > 100_000
    modules = [c for c in model.components.values() if hasattr(c, "training")]
    assert modules and not any(m.training for m in modules)
    assert not any(p.requires_grad for m in modules for p in m.parameters())


def test_the_novel_view_model_has_its_published_parts(tiny_models):
    role = role_named("novel-view")
    model = load_model(role, fetch(role, ModelSource.parse(str(tiny_models("novel-view")))), choose_placement("cpu"))
    assert isinstance(model, NovelViewModel)
    assert model.unet.config.in_channels == 8  # noisy latents + reference latents
    projection = model.camera_projection
    assert projection.config.embedding_dim + projection.config.additional_embeddings == projection.proj.in_features


def test_the_depth_model_says_what_its_numbers_are(tiny_models):
    role = role_named("depth")
    model = load_model(role, fetch(role, ModelSource.parse(str(tiny_models("depth")))), choose_placement("cpu"))
    assert isinstance(model, DepthModel) and model.kind == "relative"


@pytest.mark.parametrize(
    "name, remove, message",
    [
        ("text", "unet", "its unet is missing"),
        ("novel-view", "clip_camera_projection", "its clip_camera_projection is missing"),
        ("video", "vae/diffusion_pytorch_model.safetensors", "its vae has no weights"),
        ("inpaint", "model_index.json", "no model_index.json"),
        ("depth", "preprocessor_config.json", "no image processor"),
    ],
)
def test_a_folder_with_a_part_missing_says_which(tiny_models, tmp_path, name, remove, message):
    folder = tmp_path / "model"
    shutil.copytree(tiny_models(name), folder)
    target = folder / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(ModelError, match=f"the {name} model folder .*{message}"):
        fetch(role_named(name), ModelSource.parse(str(folder)))


def test_pickle_weights_are_refused_unless_allowed(tiny_models, tmp_path):
    import torch
    from transformers import AutoModelForDepthEstimation

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_models("depth"), folder)
    model = AutoModelForDepthEstimation.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    role = role_named("depth")
    with pytest.raises(ModelError, match=r"only pickle weights \(pytorch_model.bin\).*--allow-pickle-weights"):
        fetch(role, ModelSource.parse(str(folder)))
    loaded = load_model(role, fetch(role, ModelSource.parse(str(folder)), allow_pickle=True), choose_placement("cpu"), allow_pickle=True)
    assert isinstance(loaded, DepthModel)


def test_an_uncached_hub_model_fails_fast_offline_naming_model_and_role(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    role = role_named("text")
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        fetch(role, ModelSource.parse(role.default), cache_dir=tmp_path / "cache")
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "the text model stabilityai/stable-diffusion-2-1-base is not on this machine" in message
    assert "atelier4d models download text" in message and "Traceback" not in message


def test_the_offline_setting_alone_stops_downloads(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", _no_network_expected)
    with pytest.raises(ModelError, match="downloads are off"):
        fetch(role_named("depth"), ModelSource.parse("depth-anything/Depth-Anything-V2-Small-hf"), cache_dir=tmp_path, offline=True)


def _no_network_expected(*args, local_files_only=False, **kwargs):
    from huggingface_hub.errors import LocalEntryNotFoundError

    assert local_files_only, "downloads are off: only the cache may be looked at"
    raise LocalEntryNotFoundError("not cached")


def test_a_download_goes_through_the_hub_and_reports_progress(tiny_models, tmp_path, monkeypatch):
    """The hub call is replaced at its boundary: a snapshot of the tiny model 'arrives' with its progress bar."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    calls = []

    def snapshot_download(repo_id, *, revision=None, cache_dir=None, local_files_only=False, allow_patterns=None, ignore_patterns=None, tqdm_class=None, **_):
        calls.append((repo_id, revision, local_files_only, allow_patterns))
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        target = tmp_path / "snapshot"
        shutil.copytree(tiny_models("depth"), target)
        bar = tqdm_class(total=4, disable=True)
        for _ in range(4):
            bar.update(1)
        return str(target)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    seen = []
    folder = fetch(role_named("depth"), ModelSource.parse("depth-anything/Depth-Anything-V2-Small-hf@v2"), progress=lambda f, text: seen.append(f))
    assert folder == tmp_path / "snapshot"
    assert calls[-1][:3] == ("depth-anything/Depth-Anything-V2-Small-hf", "v2", False)
    assert "*.safetensors" in calls[-1][3] and "*.bin" not in calls[-1][3]  # pickle weights only where allowed
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_a_hub_id_is_found_in_the_users_model_folders(tiny_models, tmp_path):
    shutil.copytree(tiny_models("depth"), tmp_path / "depth-anything" / "Depth-Anything-V2-Small-hf")
    role = role_named("depth")
    assert locate(role, ModelSource.parse(role.default), [str(tmp_path)]) == tmp_path / "depth-anything" / "Depth-Anything-V2-Small-hf"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("org/name", ModelSource("org/name")),
        ("org/name@v1.0", ModelSource("org/name", "v1.0")),
    ],
)
def test_sources_parse(text, expected):
    assert ModelSource.parse(text) == expected
    assert str(ModelSource.parse(text)) == text


@pytest.mark.parametrize("text", ["name-only", "org/name@", "a/b/c", "org/na me"])
def test_a_source_that_is_neither_says_so(text):
    with pytest.raises(ValueError, match="neither a hub id"):
        ModelSource.parse(text)


def test_a_folder_source_is_a_folder(tmp_path):
    assert ModelSource.parse(str(tmp_path)).folder == tmp_path
    assert ModelSource.parse("./missing").is_folder


def test_the_cache_keeps_recent_models_within_its_budget():
    import torch

    loads = []

    def loader(name, size):
        return lambda: loads.append(name) or torch.nn.Linear(size, 1, bias=False)

    cache = ModelCache(budget_bytes=4 * 250)
    a = cache.get("a", loader("a", 100))
    assert cache.get("a", loader("a", 100)) is a and loads == ["a"]  # warm: not loaded again
    cache.get("b", loader("b", 100))
    cache.get("a", loader("a", 100))  # a is now the most recent
    cache.get("c", loader("c", 100))  # 3 x 400 bytes > 1000: the least recent (b) goes
    assert "a" in cache and "c" in cache and "b" not in cache
    assert cache.held_bytes == 800 and loads == ["a", "b", "c"]


def test_a_model_loads_in_the_placements_precision(tiny_models):
    from engines.models.placement import Placement

    import torch

    role = role_named("novel-view")
    model = load_model(role, fetch(role, ModelSource.parse(str(tiny_models("novel-view")))), Placement("cpu", "bfloat16"))
    dtypes = {p.dtype for c in model.components.values() if isinstance(c, torch.nn.Module) for p in c.parameters()}
    assert dtypes == {torch.bfloat16}


def test_auto_placement_on_a_machine_without_a_gpu_is_the_cpu_in_float32(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    placement = choose_placement()
    assert (placement.device, placement.dtype) == ("cpu", "float32")
    assert choose_placement("cuda").dtype == "float16"


def test_memory_savers_reach_the_pipeline(tiny_models):
    from engines.models.placement import MemorySavers

    role = role_named("text")
    savers = MemorySavers.preset("8gb")
    assert (savers.attention_slicing, savers.vae_tiling, savers.cpu_offload) == (True, True, False)
    assert MemorySavers.preset("4gb").cpu_offload and MemorySavers.preset("none") == MemorySavers()
    pipe = load_model(role, fetch(role, ModelSource.parse(str(tiny_models("text")))), choose_placement("cpu"), savers=savers)
    assert pipe.vae.use_tiling
    plain = load_model(role, fetch(role, ModelSource.parse(str(tiny_models("text")))), choose_placement("cpu"))
    assert not plain.vae.use_tiling


def test_a_run_gets_its_model_with_the_users_memory_savers(tiny_models):
    from engines.models.warm import warm_cache
    from engines.runtime import RunContext, WorkerSettings

    settings = WorkerSettings(model_choices=(("text", str(tiny_models("text"))),), memory_savers="8gb")
    seen = []
    ctx = RunContext(device="cpu", settings=settings, on_preparing=lambda fraction, text: seen.append(text))
    pipe = ctx.model("text")
    assert pipe.vae.use_tiling and any("loading the text model" in text for text in seen)
    assert ctx.model("text") is pipe  # warm: the same object, nothing loaded again
    warm_cache().clear()
