import numpy as np
import pytest

from scene import Camera, Document, GaussianCloud, Layer, MeshAsset, Transform
from scene import edits
from scene.io import load, save
from scene.rotation import axis_angle_to_quat


def grid_cloud() -> GaussianCloud:
    """25 splats on a 5x5 grid in the z=0 plane, x and y in -2..2."""
    xs, ys = np.meshgrid(np.arange(-2, 3), np.arange(-2, 3))
    means = np.column_stack([xs.ravel(), ys.ravel(), np.zeros(25)])
    colors = np.linspace(0, 1, 75).reshape(25, 3)
    return GaussianCloud.create(means, 0.05, colors, quats=np.tile(axis_angle_to_quat([0, 0, 1], 0.3), (25, 1)))


@pytest.fixture
def doc_layer():
    document = Document()
    layer = document.add_layer(Layer("grid", grid_cloud()))
    document.undo_stack.clear()
    return document, layer


CAMERA = Camera.look_at([0, 0, 10], [0, 0, 0], width=400, height=400, fov_y_deg=30)


def centre_pixels(points):
    return CAMERA.project(points)[0]


def test_box_select_replace_add_subtract(doc_layer):
    document, layer = doc_layer
    uv = centre_pixels(layer.data.means)
    right_half = (uv[:, 0].mean() + 1, 0, 400, 400)
    assert edits.select_rect(document, layer.id, CAMERA, right_half) == 10  # x = 1, 2
    np.testing.assert_array_equal(document.splat_selection(layer.id), layer.data.means[:, 0] > 0)
    top_row = (0, 0, 400, uv[:, 1].min() + 1)  # y = 2 (row 0 is the top)
    assert edits.select_rect(document, layer.id, CAMERA, top_row, mode="add") == 13
    assert edits.select_rect(document, layer.id, CAMERA, top_row, mode="subtract") == 8
    document.undo()
    assert int(document.splat_selection(layer.id).sum()) == 13


def test_rect_ignores_points_behind_the_camera():
    points = np.array([[0, 0, 0], [0, 0, 20]])  # the second is behind the camera at z=10
    rect = (0, 0, 400, 400)
    np.testing.assert_array_equal(edits.mask_in_rect(points, CAMERA, rect), [True, False])


def test_brush_dabs_accumulate(doc_layer):
    document, layer = doc_layer
    uv = centre_pixels(layer.data.means)
    edits.select_circle(document, layer.id, CAMERA, uv[0], 3.0)
    edits.select_circle(document, layer.id, CAMERA, uv[24], 3.0)
    assert np.flatnonzero(document.splat_selection(layer.id)).tolist() == [0, 24]


def test_invert_and_delete_then_export(doc_layer, tmp_path):
    document, layer = doc_layer
    edits.select_box(document, layer.id, [-0.5, -0.5, -1], [0.5, 0.5, 1])  # the centre splat
    edits.invert_selection(document, layer.id)
    assert edits.delete_selected(document, layer.id) == 24
    assert layer.data.count == 1 and document.splat_selection(layer.id) is None
    np.testing.assert_array_equal(layer.data.means, [[0, 0, 0]])
    save(tmp_path / "edited.ply", layer.data)
    assert load(tmp_path / "edited.ply").count == 1  # the edit is carried through to export
    assert document.undo_stack.undo_text == "Delete 24 splats"
    document.undo()  # one step brings back both the splats and the selection
    assert layer.data.count == 25 and int(document.splat_selection(layer.id).sum()) == 24


def test_separate_into_a_new_layer(doc_layer):
    document, layer = doc_layer
    document.set_layer(layer.id, transform=Transform([5, 0, 0]))
    edits.select_box(document, layer.id, [4.5, -3, -1], [5.5, 3, 1])  # the x = 0 column, in world space
    part = edits.separate_selected(document, layer.id)
    assert (layer.data.count, part.data.count) == (20, 5)
    assert part.transform == layer.transform and document.index_of(part.id) == 1
    document.undo()
    assert layer.data.count == 25 and len(document.layers) == 1


def test_crop_to_box(doc_layer):
    document, layer = doc_layer
    assert edits.crop_to_box(document, layer.id, [-1, -1, -1], [1, 1, 1]) == 16
    assert layer.data.count == 9
    assert edits.crop_to_box(document, layer.id, [-1, -1, -1], [1, 1, 1]) == 0  # nothing more: no step
    document.undo()
    assert layer.data.count == 25


def test_transform_selection_in_world_space(doc_layer):
    document, layer = doc_layer
    document.set_layer(layer.id, transform=Transform([0, 0, 0], axis_angle_to_quat([0, 1, 0], np.pi / 2)))
    edits.select_box(document, layer.id, [-1, 1.5, -3], [1, 2.5, 3])  # the top row (y = 2)
    lift = np.eye(4)
    lift[1, 3] = 10.0
    edits.transform_selected(document, layer.id, lift)
    world = edits.world_centres(layer)
    selected = document.splat_selection(layer.id)
    assert selected is not None and int(selected.sum()) == 5  # the selection survives the move
    np.testing.assert_allclose(world[selected][:, 1], 12.0)
    np.testing.assert_allclose(world[~selected][:, 1].max(), 1.0)
    document.undo()
    np.testing.assert_allclose(edits.world_centres(layer)[:, 1].max(), 2.0)


def test_edits_need_a_selection_and_a_splat_layer(doc_layer):
    document, layer = doc_layer
    with pytest.raises(ValueError, match="no splats are selected"):
        edits.delete_selected(document, layer.id)
    mesh = document.add_layer(Layer("m", MeshAsset(np.eye(3), [[0, 1, 2]])))
    with pytest.raises(TypeError, match="mesh layer"):
        edits.select_all(document, mesh.id)


def test_a_stale_mask_counts_as_no_selection(doc_layer):
    document, layer = doc_layer
    edits.select_all(document, layer.id)
    document.replace_data_live(layer.id, grid_cloud().subset(np.arange(3)))
    assert document.splat_selection(layer.id) is None


def test_failed_macro_is_rolled_back(doc_layer):
    document, layer = doc_layer
    with pytest.raises(RuntimeError):
        with document.undo_stack.macro("broken"):
            document.set_layer(layer.id, name="renamed")
            raise RuntimeError("half-way")
    assert layer.name == "grid" and not document.undo_stack.can_undo
