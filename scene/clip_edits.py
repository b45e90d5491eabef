"""Animating a layer, as undo steps: named groups of splats keyed over time, and a clip's timing.

Every operation here is one undo step that swaps the layer's payload for a new
:class:`~scene.clip.GaussianClip` sharing the old one's arrays (clips are immutable, so undo only
swaps references back): the motion itself is never rewritten, except by :func:`bake_edits`, which
the artist asks for. :func:`group_selection` turns a static splat layer into a still clip in the
same step, so a static layer can be animated by keyframes alone.

The pure helpers at the end (:func:`splat_centres`, :func:`clip_subset`, :func:`moved_splats`,
:func:`with_splats`)
let the selection tools of :mod:`scene.edits` work on clips as they do on clouds.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from scene.clip import MOTION_CHANNELS, ClipTiming, GaussianClip, Group, Interpolation, Key
from scene.document import Document, Layer
from scene.gaussians import GaussianCloud
from scene.transform import Transform

TIMING_FIELDS = tuple(f.name for f in dataclasses.fields(ClipTiming))


# ----------------------------------------------------------------------------- groups
def group_selection(document: Document, layer_id: str, name: str) -> Group:
    """Put the layer's selected splats into a new group ``name`` whose pivot is their centroid at
    the playhead (layer space); a splat layer becomes a still clip in the same undo step."""
    layer = document.layer(layer_id)
    if isinstance(layer.data, GaussianCloud):
        clip = GaussianClip.still(layer.data)
    elif isinstance(layer.data, GaussianClip):
        clip = layer.data
    else:
        raise TypeError(f"{layer.name} is a {layer.kind} layer; only splats and clips can be animated")
    mask = document.splat_selection(layer_id)
    if mask is None:
        raise ValueError(f"no splats are selected in {layer.name}")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValueError("a group needs a name")
    if any(g.name == name for g in clip.groups):
        raise ValueError(f"{layer.name} already has a group named {name!r}")
    centres = splat_centres(clip, document.time)[mask]
    shown = centres[np.isfinite(centres).all(axis=1)]
    pivot = (shown if len(shown) else clip.canonical.means[mask]).mean(axis=0)
    group = Group(name, np.flatnonzero(mask), pivot)
    text = f"Group {len(group.indices):,} splats as {name}"
    document.set_layer(layer_id, text=text, data=clip.replace(groups=clip.groups + (group,)))
    return group


def remove_group(document: Document, layer_id: str, group_name: str) -> None:
    """Delete a group and its keys (its splats stay, following the motion alone)."""
    layer, clip, index, _ = _find_group(document, layer_id, group_name)
    groups = clip.groups[:index] + clip.groups[index + 1 :]
    document.set_layer(layer_id, text=f"Remove group {group_name}", data=clip.replace(groups=groups))


def set_group_pivot(document: Document, layer_id: str, group_name: str, pivot: np.ndarray) -> None:
    """Move the point a group turns and scales about (layer space)."""
    group = _find_group(document, layer_id, group_name)[3]
    _replace_group(document, layer_id, dataclasses.replace(group, pivot=pivot), f"Move pivot of {group_name}")


# ----------------------------------------------------------------------------- keys
def set_key(
    document: Document,
    layer_id: str,
    group_name: str,
    transform: Transform,
    time: float | None = None,
    interpolation: Interpolation = "smooth",
) -> Key:
    """Key the group's ``transform`` (about its pivot) at ``time`` (default: the playhead),
    replacing a key there."""
    group = _find_group(document, layer_id, group_name)[3]
    key = Key(float(document.time if time is None else time), transform, interpolation)
    _replace_group(document, layer_id, group.with_key(key), f"Key {group_name} at {key.time:g} s")
    return key


def move_key(document: Document, layer_id: str, group_name: str, time: float, new_time: float) -> None:
    """Move the group's key at ``time`` to ``new_time`` (replacing a key there)."""
    group = _find_group(document, layer_id, group_name)[3]
    _key_at(group, time)
    moved = group.moved_key(time, float(new_time))
    _replace_group(document, layer_id, moved, f"Move key of {group_name} to {float(new_time):g} s")


def delete_key(document: Document, layer_id: str, group_name: str, time: float) -> None:
    """Delete the group's key at ``time``."""
    group = _find_group(document, layer_id, group_name)[3]
    _key_at(group, time)
    _replace_group(document, layer_id, group.without_key(time), f"Delete key of {group_name} at {time:g} s")


def set_key_interpolation(
    document: Document, layer_id: str, group_name: str, time: float, interpolation: Interpolation
) -> None:
    """How the group's key at ``time`` eases towards the next one: "linear" or "smooth"."""
    group = _find_group(document, layer_id, group_name)[3]
    key = dataclasses.replace(_key_at(group, time), interpolation=interpolation)
    _replace_group(document, layer_id, group.with_key(key), f"Make key of {group_name} {interpolation}")


# ----------------------------------------------------------------------------- timing and bake
def set_timing(document: Document, layer_id: str, **changes: object) -> ClipTiming:
    """Change the clip's timing (``offset``, ``trim_in``, ``trim_out``, ``speed``, ``reverse``,
    ``loop``: see :class:`~scene.clip.ClipTiming`) as one undo step; returns the new timing."""
    unknown = sorted(set(changes) - set(TIMING_FIELDS))
    if unknown:
        raise TypeError(f"a clip's timing has no {', '.join(unknown)} (it has {', '.join(TIMING_FIELDS)})")
    layer, clip = _clip_layer(document, layer_id)
    timing = dataclasses.replace(clip.timing, **changes)
    if timing == clip.timing:
        return timing
    what = ", ".join(f"{name} {value}" for name, value in changes.items())
    document.set_layer(layer_id, text=f"Set {what} of {layer.name}", data=clip.replace(timing=timing))
    return timing


def bake_edits(document: Document, layer_id: str) -> GaussianClip:
    """Write the clip's timing and group keys into new motion (:meth:`GaussianClip.bake`), up to
    its last key when that comes after the clip's end (a still layer animated by keys alone)."""
    layer, clip = _clip_layer(document, layer_id)
    if clip.timing == ClipTiming(offset=clip.timing.offset) and not any(group.keys for group in clip.groups):
        raise ValueError(f"{layer.name} has no keys or timing changes to bake")
    baked = clip.bake()
    document.set_layer(layer_id, text=f"Bake edits of {layer.name}", data=baked)
    return baked


# ----------------------------------------------------------------------------- lookups
def _clip_layer(document: Document, layer_id: str) -> tuple[Layer, GaussianClip]:
    layer = document.layer(layer_id)
    if not isinstance(layer.data, GaussianClip):
        raise TypeError(f"{layer.name} is a {layer.kind} layer, not a clip; group some of its splats first")
    return layer, layer.data


def _find_group(document: Document, layer_id: str, name: str) -> tuple[Layer, GaussianClip, int, Group]:
    layer, clip = _clip_layer(document, layer_id)
    for index, group in enumerate(clip.groups):
        if group.name == name:
            return layer, clip, index, group
    raise ValueError(f"{layer.name} has no group named {name!r}")


def _key_at(group: Group, time: float) -> Key:
    key = group.key_at(time)
    if key is None:
        raise ValueError(f"group {group.name!r} has no key at {time:g} s")
    return key


def _replace_group(document: Document, layer_id: str, group: Group, text: str) -> None:
    """Swap the layer's group of the same name for ``group``, as one undo step."""
    _, clip, index, _ = _find_group(document, layer_id, group.name)
    groups = clip.groups[:index] + (group,) + clip.groups[index + 1 :]
    document.set_layer(layer_id, text=text, data=clip.replace(groups=groups))


# ----------------------------------------------------------------------------- pure helpers
def splat_centres(clip: GaussianClip, time: float) -> np.ndarray:
    """Every splat's centre ``[N, 3]`` (layer space) at document ``time``, motion, timing and keys
    applied; NaN for a flipbook's splats of frames not shown then (nothing selects them)."""
    shown = clip.at(time).means.astype(np.float64)
    if not clip.is_flipbook:
        return shown
    centres = np.full((clip.count, 3), np.nan)
    k = clip.frame_at(time)[0]
    centres[clip.frame_starts[k] : clip.frame_starts[k + 1]] = shown
    return centres


def clip_subset(clip: GaussianClip, keep: np.ndarray) -> GaussianClip:
    """The clip with only the splats of the mask ``keep [N]``, in every frame; groups keep their
    remaining splats (and their keys and pivots), a flipbook its frames."""
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != (clip.count,):
        raise ValueError(f"clip_subset: mask has shape {keep.shape}, expected ({clip.count},)")
    before = np.concatenate([[0], np.cumsum(keep)])  # kept splats before each index
    motion = {name: getattr(clip, name)[:, keep] for name in MOTION_CHANNELS if getattr(clip, name) is not None}
    starts = None if clip.frame_starts is None else before[clip.frame_starts]
    groups = tuple(
        dataclasses.replace(g, indices=before[g.indices[keep[g.indices]]]) for g in clip.groups
    )
    return clip.replace(canonical=clip.canonical.subset(keep), frame_starts=starts, groups=groups, **motion)


def moved_splats(clip: GaussianClip, mask: np.ndarray, matrix: np.ndarray) -> GaussianClip:
    """The clip with the splats of ``mask [N]`` moved by the affine ``matrix`` (layer space) in
    every frame: the motion goes on, offset. Channels the clip does not animate stay the canonical's."""
    index = np.flatnonzero(mask)
    canonical = with_splats(clip.canonical, index, clip.canonical.subset(index).transformed(matrix))
    motion = {}
    for name in MOTION_CHANNELS:
        channel = getattr(clip, name)
        if channel is None:
            continue
        array = np.array(channel)
        for k in range(clip.frame_count):
            array[k, index] = getattr(clip.frame(k).subset(index).transformed(matrix), name)
        motion[name] = array
    return clip.replace(canonical=canonical, **motion)


def with_splats(cloud: GaussianCloud, index: np.ndarray, part: GaussianCloud) -> GaussianCloud:
    """``cloud`` with its splats at ``index`` (indices or a mask) replaced by ``part``'s."""
    fields = {}
    for name in ("means", "log_scales", "quats", "opacity_logits", "sh"):
        array = np.array(getattr(cloud, name))
        array[index] = getattr(part, name)
        fields[name] = array
    return cloud.replace(**fields)
