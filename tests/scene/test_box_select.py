"""A box drawn in the viewport selects in the splat layer it is drawn over (``edits.box_select``):
the current layer first, otherwise the visible splat layer it holds most splats of."""

from __future__ import annotations

import numpy as np

from scene import Camera, Document, GaussianCloud, Layer, MeshAsset
from scene.edits import box_select, selected_count, splat_layer_in_rect

W, H = 200, 100
CAMERA = Camera.look_at([0.0, 0.0, 6.0], [0.0, 0.0, 0.0], width=W, height=H)
LEFT_HALF, RIGHT_HALF, EVERYTHING = (0, 0, W / 2, H), (W / 2, 0, W, H), (0, 0, W, H)
EMPTY_CORNER = (0, 0, 5, 5)


def _cloud(x: float, count: int) -> GaussianCloud:
    means = np.column_stack([np.full(count, x), np.linspace(-0.5, 0.5, count), np.zeros(count)])
    return GaussianCloud.create(means, 0.05, (0.5, 0.5, 0.5))


def _document() -> tuple[Document, Layer, Layer, Layer]:
    """A mesh (current), 10 splats on the left and 30 on the right."""
    document = Document()
    left = document.add_layer(Layer("left", _cloud(-1.5, 10)))
    right = document.add_layer(Layer("right", _cloud(1.5, 30)))
    triangle = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    mesh = document.add_layer(Layer("mesh", MeshAsset(triangle, np.array([[0, 1, 2]], np.int32))))
    document.set_current(mesh.id)
    return document, left, right, mesh


def test_a_box_over_splats_selects_there_though_a_mesh_is_current() -> None:
    document, left, right, _ = _document()
    assert box_select(document, CAMERA, LEFT_HALF) is left
    assert document.current_id == left.id and selected_count(document, left.id) == 10
    assert document.undo_stack.undo_text == "Box select"


def test_the_current_layer_comes_first_then_the_layer_with_most_splats_in_the_box() -> None:
    document, left, right, _ = _document()
    assert splat_layer_in_rect(document, CAMERA, EVERYTHING)[0] is right  # 30 beat 10
    document.set_current(left.id)
    layer, mask = splat_layer_in_rect(document, CAMERA, EVERYTHING, preferred=left.id)
    assert layer is left and mask.sum() == 10
    assert splat_layer_in_rect(document, CAMERA, RIGHT_HALF, preferred=left.id)[0] is right


def test_a_replacing_box_over_another_layer_moves_the_selection_there_in_one_undo_step() -> None:
    document, left, right, _ = _document()
    box_select(document, CAMERA, LEFT_HALF)
    assert box_select(document, CAMERA, RIGHT_HALF) is right
    assert document.current_id == right.id
    assert selected_count(document, right.id) == 30 and selected_count(document, left.id) == 0
    document.undo()
    assert selected_count(document, right.id) == 0 and selected_count(document, left.id) == 10


def test_an_adding_box_keeps_the_other_layers_selection() -> None:
    document, left, right, _ = _document()
    box_select(document, CAMERA, LEFT_HALF)
    box_select(document, CAMERA, RIGHT_HALF, mode="add")
    assert selected_count(document, right.id) == 30 and selected_count(document, left.id) == 10


def test_hidden_layers_are_not_selected_in() -> None:
    document, left, right, mesh = _document()
    document.set_layer(right.id, visible=False)
    assert box_select(document, CAMERA, RIGHT_HALF) is None
    assert document.current_id == mesh.id and selected_count(document, right.id) == 0
    assert box_select(document, CAMERA, EVERYTHING) is left


def test_a_box_over_no_splats_selects_nothing_and_a_replacing_one_clears() -> None:
    document, left, right, _ = _document()
    box_select(document, CAMERA, LEFT_HALF)
    assert box_select(document, CAMERA, EMPTY_CORNER, mode="add") is None
    assert selected_count(document, left.id) == 10
    assert box_select(document, CAMERA, EMPTY_CORNER) is None
    assert selected_count(document, left.id) == 0 and document.current_id == left.id
