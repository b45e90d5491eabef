"""Where a model runs and in what precision, and the memory savers a small GPU needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DeviceChoice = Literal["auto", "cuda", "mps", "cpu"]
DtypeChoice = Literal["auto", "float16", "bfloat16", "float32"]


@dataclass(frozen=True)
class Placement:
    """A torch device and dtype by name."""

    device: str
    dtype: str

    def torch_dtype(self) -> Any:
        import torch

        return getattr(torch, self.dtype)


def choose_placement(device: DeviceChoice | str = "auto", dtype: DtypeChoice | str = "auto") -> Placement:
    """"auto" picks CUDA, then Apple MPS, then the CPU; half precision on a GPU, float32 on the CPU
    (where half precision is slow or unsupported)."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if dtype == "auto":
        dtype = "float32" if device == "cpu" else "float16"
    return Placement(device, dtype)


@dataclass(frozen=True)
class MemorySavers:
    """Ways to fit a model in less GPU memory, at some cost in speed."""

    attention_slicing: bool = False
    """Compute attention in slices (less peak memory, a little slower)."""
    vae_tiling: bool = False
    """Encode and decode images in tiles (large images in little memory)."""
    cpu_offload: bool = False
    """Keep a pipeline's parts in CPU memory and move each to the GPU only while it runs (much
    less GPU memory, slower; GPU pipelines only)."""

    @classmethod
    def preset(cls, name: Literal["none", "8gb", "4gb"]) -> "MemorySavers":
        """"none"; "8gb": what fits the generators on an 8 GB GPU (fp16 weights plus slicing and
        tiling); "4gb": that plus model CPU offload."""
        if name == "none":
            return cls()
        return cls(attention_slicing=True, vae_tiling=True, cpu_offload=name == "4gb")

    def apply(self, model: Any) -> None:
        """Turn the savers on where ``model`` (a diffusers pipeline or a component set) offers them."""
        if self.attention_slicing and hasattr(model, "enable_attention_slicing"):
            model.enable_attention_slicing()
        vae = getattr(model, "vae", None)
        if self.vae_tiling and vae is not None and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
        device = getattr(model, "device", None)
        if self.cpu_offload and getattr(device, "type", "cpu") == "cuda" and hasattr(model, "enable_model_cpu_offload"):
            model.enable_model_cpu_offload(device=device)
