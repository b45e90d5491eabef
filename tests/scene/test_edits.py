import numpy as np
import pytest

from scene import Camera, Document, GaussianCloud, Layer, MeshAsset, Transform
from scene import edits
from scene.events import CurrentLayerChanged, LayerAdded, LayerChanged, SplatsSelected, UndoChanged
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


# ----------------------------------------------------------------------------- masks at their edges
def record(document):
    """Every event ``document`` emits from now on."""
    events = []
    document.events.connect(events.append)
    return events


ORIGIN = np.zeros((1, 3))  # projects to pixel (200, 200) of CAMERA


def test_rect_bounds_are_inclusive_in_any_corner_order():
    for rect in [(200, 200, 300, 300), (100, 100, 200, 200), (300, 300, 200, 200), (200, 100, 100, 200)]:
        assert edits.mask_in_rect(ORIGIN, CAMERA, rect).tolist() == [True], rect
    for rect in [(201, 0, 400, 400), (0, 0, 199, 400), (0, 201, 400, 400), (0, 0, 400, 199), (400, 400, 201, 0)]:
        assert edits.mask_in_rect(ORIGIN, CAMERA, rect).tolist() == [False], rect


def test_masks_leave_out_points_on_or_before_the_near_plane():
    camera = Camera.look_at([0, 0, 10], [0, 0, 0], width=400, height=400, fov_y_deg=30, near=1.0)
    points = np.array([[0, 0, 9.0], [0, 0, 9.5], [0, 0, 8.9]])  # depths 1 (the near plane), 0.5, 1.1
    assert edits.mask_in_rect(points, camera, (0, 0, 400, 400)).tolist() == [False, False, True]
    assert edits.mask_in_circle(points, camera, (200, 200), 5).tolist() == [False, False, True]


def test_circle_includes_its_rim():
    assert edits.mask_in_circle(ORIGIN, CAMERA, (203, 204), 5.0).tolist() == [True]
    assert edits.mask_in_circle(ORIGIN, CAMERA, (203, 204), 4.99).tolist() == [False]
    assert edits.mask_in_circle(ORIGIN, CAMERA, (196, 197), 5.0).tolist() == [True]
    behind = np.array([[0, 0, 20]])
    assert edits.mask_in_circle(behind, CAMERA, (200, 200), 50).tolist() == [False]


def test_box_mask_includes_its_faces_and_takes_corners_in_any_order():
    points = np.array([[0, 0, 0], [1, 1, 1], [1.01, 0, 0], [0, -0.01, 0], [0.5, 0.5, 1.5]])
    expected = [True, True, False, False, False]
    assert edits.mask_in_box(points, np.zeros(3), np.ones(3)).tolist() == expected
    assert edits.mask_in_box(points, np.ones(3), np.zeros(3)).tolist() == expected
    assert edits.mask_in_box(points, [1, 0, 1], [0, 1, 0]).tolist() == expected


def test_combine_modes():
    previous, new = np.array([True, True, False, False]), np.array([True, False, True, False])
    assert edits.combine(previous, new, "replace").tolist() == [True, False, True, False]
    assert edits.combine(previous, new, "add").tolist() == [True, True, True, False]
    assert edits.combine(previous, new, "subtract").tolist() == [False, True, False, False]
    assert edits.combine(None, new, "add").tolist() == [True, False, True, False]
    assert edits.combine(None, new, "replace").tolist() == [True, False, True, False]
    nothing = edits.combine(None, new, "subtract")
    assert nothing.dtype == bool and nothing.tolist() == [False] * 4
    with pytest.raises(ValueError, match="unknown selection mode 'xor'"):
        edits.combine(previous, new, "xor")


def test_world_centres_apply_the_layer_transform():
    cloud = GaussianCloud.create([[1, 0, 0], [0, 2, 0]], 0.1, [0.5, 0.5, 0.5])
    turned = Transform([0, 0, 5], axis_angle_to_quat([0, 0, 1], np.pi / 2), [2, 2, 2])
    centres = edits.world_centres(Layer("l", cloud, transform=turned))
    assert centres.dtype == np.float64
    np.testing.assert_allclose(centres, [[0, 2, 5], [-4, 0, 5]], atol=1e-9)


# ----------------------------------------------------------------------------- selection steps
def test_selection_steps_name_their_undo_entries(doc_layer):
    document, layer = doc_layer
    uv = centre_pixels(layer.data.means)
    steps = [
        (lambda: edits.select_rect(document, layer.id, CAMERA, (0, 0, 400, 400)), "Box select"),
        (lambda: edits.select_circle(document, layer.id, CAMERA, uv[0], 1.0, mode="replace"), "Brush select"),
        (lambda: edits.select_box(document, layer.id, [-2, -2, 0], [2, -2, 0]), "Select in box"),
        (lambda: edits.select_all(document, layer.id), "Select all splats"),
        (lambda: edits.select_circle(document, layer.id, CAMERA, uv[0], 1.0, mode="subtract"), "Brush select"),
        (lambda: edits.invert_selection(document, layer.id), "Invert selection"),
    ]
    for step, text in steps:
        step()
        assert document.undo_stack.undo_text == text
    assert np.flatnonzero(document.splat_selection(layer.id)).tolist() == [0]


def test_select_rect_and_box_replace_by_default_and_brush_adds(doc_layer):
    document, layer = doc_layer
    uv = centre_pixels(layer.data.means)
    assert edits.select_box(document, layer.id, [-2, -2, -1], [-2, 2, 1]) == 5  # x = -2 column
    assert edits.select_box(document, layer.id, [2, -2, -1], [2, 2, 1]) == 5  # replaced by the x = 2 column
    x0, x1 = uv[:, 0].min() - 1, uv[:, 0].min() + 1
    assert edits.select_rect(document, layer.id, CAMERA, (x0, 0, x1, 400)) == 5  # x = -2 again
    assert np.all(layer.data.means[document.splat_selection(layer.id), 0] == -2)
    assert edits.select_circle(document, layer.id, CAMERA, uv[12], 2.0) == 6  # the centre splat added
    assert edits.select_box(document, layer.id, [-2, -2, -1], [-2, -2, 1], mode="subtract") == 5


def test_selection_steps_count_what_is_selected_afterwards(doc_layer):
    document, layer = doc_layer
    uv = centre_pixels(layer.data.means)
    assert edits.select_circle(document, layer.id, CAMERA, uv[6], 1.0) == 1
    assert edits.select_circle(document, layer.id, CAMERA, uv[6], 1.0, mode="subtract") == 0
    assert document.splat_selection(layer.id) is None
    assert edits.select_rect(document, layer.id, CAMERA, (0, 0, 1, 1)) == 0


def test_select_all_and_invert(doc_layer):
    document, layer = doc_layer
    edits.invert_selection(document, layer.id)  # nothing selected: invert selects everything
    assert int(document.splat_selection(layer.id).sum()) == 25
    edits.select_box(document, layer.id, [-2, -2, -1], [-1, 2, 1])
    edits.invert_selection(document, layer.id)
    np.testing.assert_array_equal(document.splat_selection(layer.id), layer.data.means[:, 0] >= 0)
    edits.select_all(document, layer.id)
    assert document.splat_selection(layer.id).all()
    edits.invert_selection(document, layer.id)
    assert document.splat_selection(layer.id) is None


def test_selection_steps_refuse_non_splat_layers(doc_layer):
    document, _ = doc_layer
    mesh = document.add_layer(Layer("m", MeshAsset(np.eye(3), [[0, 1, 2]])))
    calls = [
        lambda: edits.select_rect(document, mesh.id, CAMERA, (0, 0, 1, 1)),
        lambda: edits.select_circle(document, mesh.id, CAMERA, (0, 0), 1),
        lambda: edits.select_box(document, mesh.id, np.zeros(3), np.ones(3)),
        lambda: edits.invert_selection(document, mesh.id),
        lambda: edits.delete_selected(document, mesh.id),
        lambda: edits.crop_to_box(document, mesh.id, np.zeros(3), np.ones(3)),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="m is a mesh layer; splat edits need a splat layer"):
            call()


# ----------------------------------------------------------------------------- edits: contents, events, undo
def test_delete_keeps_the_unselected_splats_and_their_order(doc_layer):
    document, layer = doc_layer
    original = layer.data
    edits.select_box(document, layer.id, [-2, -2, -1], [2, -1, 1])  # rows y = -2, -1: splats 0-9
    events = record(document)
    assert edits.delete_selected(document, layer.id) == 10
    np.testing.assert_array_equal(layer.data.sh, original.sh[10:])
    np.testing.assert_array_equal(layer.data.means, original.means[10:])
    assert [type(e) for e in events] == [SplatsSelected, LayerChanged, UndoChanged]
    assert events[0] == SplatsSelected(layer.id, 0)
    assert events[1] == LayerChanged(layer.id, "data")
    document.undo()
    assert layer.data is original
    document.redo()
    assert layer.data.count == 15 and document.splat_selection(layer.id) is None


def test_edits_without_a_selection_name_the_layer(doc_layer):
    document, layer = doc_layer
    for edit in (edits.delete_selected, edits.separate_selected):
        with pytest.raises(ValueError, match="no splats are selected in grid"):
            edit(document, layer.id)
    with pytest.raises(ValueError, match="no splats are selected in grid"):
        edits.transform_selected(document, layer.id, np.eye(4))
    assert not document.undo_stack.can_undo


def test_separate_moves_the_selected_splats_above_the_source(doc_layer):
    document, layer = doc_layer
    below = document.add_layer(Layer("below", grid_cloud()), index=0)
    above = document.add_layer(Layer("above", grid_cloud()))
    document.add_layer(Layer("grid part", grid_cloud()))
    document.undo_stack.clear()
    document.set_current(layer.id)
    original = layer.data
    edits.select_box(document, layer.id, [-2, 2, -1], [2, 2, 1])  # the top row: splats 20-24
    part = edits.separate_selected(document, layer.id)
    assert part.name == "grid part 2" and part.visible
    assert [x.name for x in document.layers] == ["below", "grid", "grid part 2", "above", "grid part"]
    assert document.current is part and below.data.count == 25 and above.data.count == 25
    np.testing.assert_array_equal(part.data.sh, original.sh[20:])
    np.testing.assert_array_equal(layer.data.means, original.means[:20])
    assert document.splat_selection(layer.id) is None
    assert document.undo_stack.undo_text == "Separate 5 splats"
    document.undo()
    assert layer.data is original and part not in document.layers and document.current is layer
    assert int(document.splat_selection(layer.id).sum()) == 5


def test_separate_emits_the_events_views_need(doc_layer):
    document, layer = doc_layer
    edits.select_box(document, layer.id, [-2, 2, -1], [2, 2, 1])
    events = record(document)
    part = edits.separate_selected(document, layer.id)
    assert events == [
        SplatsSelected(layer.id, 0),
        LayerChanged(layer.id, "data"),
        CurrentLayerChanged(part.id),
        LayerAdded(part.id, 1),
        UndoChanged(),
    ]


def test_crop_removes_the_outside_and_clears_the_selection(doc_layer):
    document, layer = doc_layer
    document.set_layer(layer.id, transform=Transform([10, 0, 0]))
    document.undo_stack.clear()
    original = layer.data
    edits.select_all(document, layer.id)
    events = record(document)
    assert edits.crop_to_box(document, layer.id, [12, 2, -1], [10, 0, 1]) == 16  # world box, corners swapped
    np.testing.assert_array_equal(layer.data.means[:, :2], [[x, y] for y in (0, 1, 2) for x in (0, 1, 2)])
    assert document.splat_selection(layer.id) is None
    assert document.undo_stack.undo_text == "Crop away 16 splats"
    assert [type(e) for e in events] == [SplatsSelected, LayerChanged, UndoChanged]
    document.undo()
    assert layer.data is original and document.splat_selection(layer.id).all()


def test_crop_keeping_everything_is_no_step(doc_layer):
    document, layer = doc_layer
    events = record(document)
    assert edits.crop_to_box(document, layer.id, [-2, -2, 0], [2, 2, 0]) == 0
    assert events == [] and not document.undo_stack.can_undo


def test_transform_selected_changes_only_the_selected_splats(doc_layer):
    document, layer = doc_layer
    cloud = GaussianCloud.create(layer.data.means, 0.05, [0.2, 0.4, 0.6], sh_degree=1)
    sh = np.array(cloud.sh)
    sh[:, 1:] = 0.1
    document.set_layer(layer.id, data=cloud.replace(sh=sh))
    original = layer.data
    edits.select_box(document, layer.id, [-2, -2, -1], [2, -2, 1])  # the bottom row: splats 0-4
    turn = np.eye(4)
    turn[:3, :3] = 2.0 * np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])  # double size, turn 90 degrees about z
    events = record(document)
    edits.transform_selected(document, layer.id, turn)
    assert document.undo_stack.undo_text == "Transform 5 splats"
    assert events == [LayerChanged(layer.id, "data"), UndoChanged()]
    moved = original.subset(np.arange(5)).transformed(turn)
    data = layer.data
    for name in ("means", "log_scales", "quats", "opacity_logits", "sh"):
        np.testing.assert_allclose(getattr(data, name)[:5], getattr(moved, name), atol=1e-6, err_msg=name)
        np.testing.assert_array_equal(getattr(data, name)[5:], getattr(original, name)[5:], err_msg=name)
    np.testing.assert_allclose(data.log_scales[:5], original.log_scales[:5] + np.log(2), atol=1e-6)
    assert not np.allclose(data.sh[:5, 1:], original.sh[:5, 1:])  # view-dependent colour turns too
    assert int(document.splat_selection(layer.id).sum()) == 5
    document.undo()
    assert layer.data is original
