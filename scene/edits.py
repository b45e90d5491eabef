"""Splat editing, SuperSplat-style: select by screen rectangle, brush or 3D box; delete, invert,
separate into a new layer, crop to a box, and move the selection.

A box drawn in the viewport selects in the layer it is drawn over (:func:`box_select`): the
current one when the box holds any of its splats, otherwise the visible splat layer it holds most
splats of, which becomes the current layer.

Pure mask functions (``mask_in_rect`` ...) work on world-space centres and a camera; the
document operations wrap them as undoable steps (one step per user action, via undo macros), so
the viewport only turns mouse gestures into rectangles, circles and matrices.

Clip layers are edited the same way: their splats are selected where they are at the document's
time; delete, separate and crop remove splats from every frame; moving the selection moves those
splats in every frame (:mod:`scene.clip_edits` has the clip versions).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from scene.camera import Camera
from scene.clip import GaussianClip
from scene.clip_edits import clip_subset, moved_splats, splat_centres, with_splats
from scene.document import Document, Layer, LayerData

SelectMode = Literal["replace", "add", "subtract"]


# ----------------------------------------------------------------------------- masks
def world_centres(layer: Layer, time: float = 0.0) -> np.ndarray:
    """The layer's splat centres ``[N, 3]`` in world space (its transform applied); a clip's where
    they are at document second ``time`` (NaN for a flipbook's splats not shown then)."""
    m = layer.transform.matrix()
    data = layer.data
    centres = splat_centres(data, time) if isinstance(data, GaussianClip) else data.means.astype(np.float64)
    return centres @ m[:3, :3].T + m[:3, 3]


def mask_in_rect(points: np.ndarray, camera: Camera, rect: tuple[float, float, float, float]) -> np.ndarray:
    """Points in front of ``camera`` whose pixel lies in ``rect = (x0, y0, x1, y1)`` (any corner order)."""
    x0, x1 = sorted((rect[0], rect[2]))
    y0, y1 = sorted((rect[1], rect[3]))
    uv, depth = camera.project(points)
    return (depth > camera.near) & (uv[:, 0] >= x0) & (uv[:, 0] <= x1) & (uv[:, 1] >= y0) & (uv[:, 1] <= y1)


def mask_in_circle(points: np.ndarray, camera: Camera, centre: tuple[float, float], radius: float) -> np.ndarray:
    """Points in front of ``camera`` within ``radius`` pixels of ``centre`` (a brush dab)."""
    uv, depth = camera.project(points)
    return (depth > camera.near) & (np.sum((uv - np.asarray(centre)) ** 2, axis=1) <= radius * radius)


def mask_in_box(points: np.ndarray, box_min: np.ndarray, box_max: np.ndarray) -> np.ndarray:
    """Points inside the axis-aligned box (bounds included)."""
    lo, hi = np.minimum(box_min, box_max), np.maximum(box_min, box_max)
    return np.all((points >= lo) & (points <= hi), axis=1)


def combine(previous: np.ndarray | None, new: np.ndarray, mode: SelectMode) -> np.ndarray:
    """A new selection from the previous one: replace it, add to it, or subtract from it."""
    if mode == "replace" or previous is None:
        return new if mode != "subtract" else np.zeros_like(new)
    if mode == "add":
        return previous | new
    if mode == "subtract":
        return previous & ~new
    raise ValueError(f"unknown selection mode {mode!r}")


def splat_layer_in_rect(
    document: Document, camera: Camera, rect: tuple[float, float, float, float], preferred: str | None = None
) -> tuple[Layer, np.ndarray] | None:
    """The visible splat layer a box over ``rect`` (pixels) is drawn over, with the mask of its
    splats inside: ``preferred`` when the box holds any of its splat centres, otherwise the layer
    whose centres it holds most of; None when it holds no splat of a visible layer."""
    layers = sorted(
        (layer for layer in document.layers if layer.visible and layer.payload_kind.selectable),
        key=lambda layer: layer.id != preferred,  # the preferred layer first
    )
    best: tuple[Layer, np.ndarray] | None = None
    for layer in layers:
        mask = mask_in_rect(world_centres(layer, document.time), camera, rect)
        if mask.any() and layer.id == preferred:
            return layer, mask
        if mask.sum() > (0 if best is None else best[1].sum()):
            best = layer, mask
    return best


def selected_centres(document: Document, layer_id: str) -> np.ndarray:
    """World centres ``[M, 3]`` of the layer's selected splats shown at the document's time (for
    framing, cropping and the move tool); empty when none are."""
    mask = document.splat_selection(layer_id)
    if mask is None:
        return np.zeros((0, 3))
    centres = world_centres(document.layer(layer_id), document.time)[mask]
    return centres[np.isfinite(centres).all(axis=1)]


def selected_count(document: Document, layer_id: str) -> int:
    """How many of the layer's splats are selected (0 for a layer that holds no splats)."""
    mask = document.splat_selection(layer_id)
    return 0 if mask is None else int(mask.sum())


# ----------------------------------------------------------------------------- selection steps
def _splat_layer(document: Document, layer_id: str) -> Layer:
    layer = document.layer(layer_id)
    if not layer.payload_kind.selectable:
        raise TypeError(f"{layer.name} is a {layer.kind} layer; splat edits need a splat layer or a clip")
    return layer


def _subset(data: LayerData, keep: np.ndarray) -> LayerData:
    """The splats (of a cloud, or of a clip in every frame) picked by the mask ``keep``."""
    return clip_subset(data, keep) if isinstance(data, GaussianClip) else data.subset(keep)


def _select(document: Document, layer_id: str, new: np.ndarray, mode: SelectMode, text: str) -> int:
    mask = combine(document.splat_selection(layer_id), new, mode)
    document.select_splats(layer_id, mask, text)
    return int(mask.sum())


def select_rect(
    document: Document, layer_id: str, camera: Camera, rect: tuple[float, float, float, float],
    mode: SelectMode = "replace",
) -> int:
    """Box selection in the viewport; returns how many splats are selected afterwards."""
    layer = _splat_layer(document, layer_id)
    new = mask_in_rect(world_centres(layer, document.time), camera, rect)
    return _select(document, layer_id, new, mode, "Box select")


def box_select(
    document: Document, camera: Camera, rect: tuple[float, float, float, float], mode: SelectMode = "replace"
) -> Layer | None:
    """Box selection over whichever visible splat layer the box is drawn over (see
    :func:`splat_layer_in_rect`, preferring the current layer), which becomes the current layer;
    one undo step. A replacing box also clears the selections of the other layers, as a click on
    empty space clears them all.

    Returns the layer selected in, or None when the box holds no splats.
    """
    current = document.current
    hit = splat_layer_in_rect(document, camera, rect, None if current is None else current.id)
    with document.undo_stack.macro("Box select"):
        if mode == "replace":
            for layer in document.layers:
                if layer.payload_kind.selectable and (hit is None or layer is not hit[0]):
                    document.select_splats(layer.id, None)
        if hit is None:
            return None
        layer, mask = hit
        document.set_current(layer.id)
        _select(document, layer.id, mask, mode, "Box select")
    return layer


def select_circle(
    document: Document, layer_id: str, camera: Camera, centre: tuple[float, float], radius: float,
    mode: SelectMode = "add",
) -> int:
    """Brush selection: one dab of a brush of ``radius`` pixels."""
    layer = _splat_layer(document, layer_id)
    new = mask_in_circle(world_centres(layer, document.time), camera, centre, radius)
    return _select(document, layer_id, new, mode, "Brush select")


def select_box(
    document: Document, layer_id: str, box_min: np.ndarray, box_max: np.ndarray, mode: SelectMode = "replace"
) -> int:
    """Select the splats whose centres lie in a world-space box."""
    layer = _splat_layer(document, layer_id)
    new = mask_in_box(world_centres(layer, document.time), box_min, box_max)
    return _select(document, layer_id, new, mode, "Select in box")


def select_all(document: Document, layer_id: str) -> None:
    layer = _splat_layer(document, layer_id)
    document.select_splats(layer_id, np.ones(layer.data.count, bool), "Select all splats")


def invert_selection(document: Document, layer_id: str) -> None:
    layer = _splat_layer(document, layer_id)
    mask = document.splat_selection(layer_id)
    inverted = np.ones(layer.data.count, bool) if mask is None else ~mask
    document.select_splats(layer_id, inverted, "Invert selection")


# ----------------------------------------------------------------------------- edits
def _selected(document: Document, layer_id: str) -> tuple[Layer, np.ndarray]:
    layer = _splat_layer(document, layer_id)
    mask = document.splat_selection(layer_id)
    if mask is None:
        raise ValueError(f"no splats are selected in {layer.name}")
    return layer, mask


def delete_selected(document: Document, layer_id: str) -> int:
    """Remove the selected splats; returns how many were removed."""
    layer, mask = _selected(document, layer_id)
    removed = int(mask.sum())
    with document.undo_stack.macro(f"Delete {removed} splats"):
        document.select_splats(layer_id, None)
        document.set_layer(layer_id, data=_subset(layer.data, ~mask))
    return removed


def separate_selected(document: Document, layer_id: str) -> Layer:
    """Move the selected splats into a new layer (same transform) placed above the source."""
    layer, mask = _selected(document, layer_id)
    part = Layer(document.unique_name(f"{layer.name} part"), _subset(layer.data, mask), transform=layer.transform)
    with document.undo_stack.macro(f"Separate {int(mask.sum())} splats"):
        document.select_splats(layer_id, None)
        document.set_layer(layer_id, data=_subset(layer.data, ~mask))
        document.add_layer(part, index=document.index_of(layer_id) + 1)
    return part


def crop_to_box(document: Document, layer_id: str, box_min: np.ndarray, box_max: np.ndarray) -> int:
    """Keep only the splats whose centres lie in the world-space box (a flipbook's frames not
    shown are kept whole); returns how many were removed."""
    layer = _splat_layer(document, layer_id)
    centres = world_centres(layer, document.time)
    keep = mask_in_box(centres, box_min, box_max) | ~np.isfinite(centres).all(axis=1)
    removed = int((~keep).sum())
    if removed:
        with document.undo_stack.macro(f"Crop away {removed} splats"):
            document.select_splats(layer_id, None)
            document.set_layer(layer_id, data=_subset(layer.data, keep))
    return removed


def crop_to_selection(document: Document, layer_id: str) -> int:
    """Keep only the splats inside the bounding box of the selected ones; returns how many were removed."""
    centres = selected_centres(document, layer_id)
    if not len(centres):
        raise ValueError(f"no splats are selected in {document.layer(layer_id).name}")
    return crop_to_box(document, layer_id, centres.min(axis=0), centres.max(axis=0))


def transform_selected(document: Document, layer_id: str, world_matrix: np.ndarray) -> None:
    """Move the selected splats by a world-space affine matrix (what the gizmo produces).

    The layer keeps its transform; the selected splats are changed in the layer's own space by
    ``T^-1 @ M @ T``, so the edit looks the same from the world whatever the layer's placement.
    A clip's selected splats move so in every frame (to animate them, group and key them instead).
    """
    layer, mask = _selected(document, layer_id)
    t = layer.transform.matrix()
    local = np.linalg.inv(t) @ np.asarray(world_matrix, dtype=np.float64) @ t
    data = layer.data
    if isinstance(data, GaussianClip):
        moved = moved_splats(data, mask, local)
    else:
        moved = with_splats(data, mask, data.subset(mask).transformed(local))
    document.set_layer(layer_id, text=f"Transform {int(mask.sum())} splats", data=moved)
