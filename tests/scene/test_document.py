import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer, MeshAsset, Transform
from scene.document import LayerDisplay
from scene.events import (
    CurrentLayerChanged,
    LayerAdded,
    LayerChanged,
    LayerRemoved,
    LayersReordered,
    SplatsSelected,
    TimeChanged,
    UndoChanged,
)


def splats(n=4):
    return GaussianCloud.create(np.arange(n * 3).reshape(n, 3), 0.1, [0.5, 0.5, 0.5])


@pytest.fixture
def doc():
    document = Document()
    events = []
    document.events.connect(events.append)
    document.recorded = events
    return document


def test_add_undo_redo(doc):
    layer = doc.add_layer(Layer("a", splats()))
    assert doc.layers == (layer,) and doc.current is layer and doc.is_modified
    assert doc.undo_stack.undo_text == "Add a"
    doc.undo()
    assert doc.layers == () and doc.current is None
    doc.redo()
    assert doc.layers == (layer,) and doc.current is layer
    kinds = [type(e) for e in doc.recorded]
    assert kinds.count(LayerAdded) == 2 and kinds.count(LayerRemoved) == 1


def test_every_field_edit_is_one_undo_step(doc):
    layer = doc.add_layer(Layer("a", splats()))
    moved = Transform([1, 2, 3])
    doc.set_layer(layer.id, name="b", visible=False, transform=moved, display=LayerDisplay(2.0, 0.5))
    assert (layer.name, layer.visible, layer.transform, layer.display.splat_scale) == ("b", False, moved, 2.0)
    doc.undo()
    assert (layer.name, layer.visible, layer.transform) == ("a", True, Transform())
    fields = {e.field for e in doc.recorded if isinstance(e, LayerChanged)}
    assert fields == {"name", "visible", "transform", "display"}


def test_no_op_edit_adds_no_undo_step(doc):
    layer = doc.add_layer(Layer("a", splats()))
    doc.undo_stack.mark_clean()
    doc.set_layer(layer.id, name="a")
    assert not doc.is_modified


def test_remove_and_reorder(doc):
    a, b, c = (doc.add_layer(Layer(n, splats())) for n in "abc")
    doc.move_layer(c.id, 0)
    assert [layer.name for layer in doc.layers] == ["c", "a", "b"]
    doc.remove_layer(a.id)
    assert [layer.name for layer in doc.layers] == ["c", "b"]
    doc.undo()
    doc.undo()
    assert [layer.name for layer in doc.layers] == ["a", "b", "c"]


def test_removing_current_layer_selects_a_neighbour(doc):
    a, b = doc.add_layer(Layer("a", splats())), doc.add_layer(Layer("b", splats()))
    doc.remove_layer(b.id)
    assert doc.current is a


def test_undoing_a_delete_makes_the_layer_current_again_only_if_it_was(doc):
    a, b = doc.add_layer(Layer("a", splats())), doc.add_layer(Layer("b", splats()))
    doc.remove_layer(b.id)
    doc.undo()
    assert doc.current is b and [layer.name for layer in doc.layers] == ["a", "b"]
    doc.set_current(a.id)
    doc.remove_layer(b.id)  # not the current one: undo leaves the current layer alone
    doc.undo()
    assert doc.current is a


def test_clean_state_tracks_saves_through_undo(doc):
    layer = doc.add_layer(Layer("a", splats()))
    doc.undo_stack.mark_clean()
    doc.set_layer(layer.id, name="b")
    assert doc.is_modified
    doc.undo()
    assert not doc.is_modified
    doc.set_layer(layer.id, name="c")  # a new branch: the saved state is gone for good
    doc.undo()
    doc.set_layer(layer.id, name="d")
    assert doc.is_modified


def test_invalid_edits_are_refused(doc):
    layer = doc.add_layer(Layer("a", splats()))
    with pytest.raises(ValueError, match="non-empty"):
        doc.set_layer(layer.id, name="  ")
    with pytest.raises(TypeError, match="no editable field"):
        doc.set_layer(layer.id, colour="red")
    with pytest.raises(TypeError, match="cannot hold"):
        doc.set_layer(layer.id, data="not a payload")
    with pytest.raises(KeyError):
        doc.layer("missing")


def test_live_replacement_is_not_an_undo_step(doc):
    layer = doc.add_layer(Layer("job", splats()))
    steps = doc.undo_stack.undo_text
    doc.replace_data_live(layer.id, splats(8))
    assert layer.data.count == 8 and doc.undo_stack.undo_text == steps
    assert LayerChanged(layer.id, "data", live=True) in doc.recorded


def test_bounds_and_unique_names(doc):
    mesh = MeshAsset([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])
    doc.add_layer(Layer("m", mesh, transform=Transform([10, 0, 0])))
    lo, hi = doc.bounds()
    np.testing.assert_allclose(lo, [10, 0, 0])
    np.testing.assert_allclose(hi, [11, 1, 0])
    assert doc.unique_name("m") == "m 2"
    assert Document().bounds() is None


def test_undo_limit_drops_the_oldest(doc):
    doc.undo_stack.limit = 3
    layer = doc.add_layer(Layer("a", splats()))
    for i in range(5):
        doc.set_layer(layer.id, name=f"n{i}")
    undone = 0
    while doc.undo():
        undone += 1
    assert undone == 3 and layer.name == "n1"


def test_current_layer_is_valid_whenever_an_event_arrives(doc):
    seen = []
    doc.events.connect(lambda event: seen.append(doc.current.name if doc.current else None))
    a = doc.add_layer(Layer("a", splats()))
    b = doc.add_layer(Layer("b", splats()))
    doc.undo()  # removes b while it is current
    doc.remove_layer(a.id)
    doc.undo()
    assert seen and b not in doc.layers  # no listener call raised on a stale current id


# ----------------------------------------------------------------------------- exact events and texts
def record(document):
    """Every event ``document`` emits from now on."""
    events = []
    document.events.connect(events.append)
    return events


def layer_events(events):
    return [e for e in events if not isinstance(e, UndoChanged)]


def test_add_layer_events_in_order(doc):
    events = record(doc)
    a = doc.add_layer(Layer("a", splats()))
    assert events == [CurrentLayerChanged(a.id), LayerAdded(a.id, 0), UndoChanged()]
    b = doc.add_layer(Layer("b", splats()), index=0)
    assert doc.layers == (b, a) and doc.current is b
    assert layer_events(events[3:]) == [CurrentLayerChanged(b.id), LayerAdded(b.id, 0)]
    del events[:]
    doc.undo()
    assert doc.current is a and doc.layers == (a,)
    assert events == [CurrentLayerChanged(a.id), LayerRemoved(b.id), UndoChanged()]


def test_add_layer_appends_by_default_and_takes_a_custom_undo_text(doc):
    a = doc.add_layer(Layer("a", splats()))
    b = doc.add_layer(Layer("b", splats()), text="Import b.ply")
    assert doc.layers == (a, b) and doc.index_of(b.id) == 1
    assert doc.undo_stack.undo_text == "Import b.ply"
    doc.undo()
    assert doc.undo_stack.redo_text == "Import b.ply" and doc.undo_stack.undo_text == "Add a"


def test_undoing_a_replace_step_restores_the_old_current_layer(doc):
    """Remove + add in one macro: undo brings back the removed layer as current, not the added one."""
    a = doc.add_layer(Layer("a", splats()))
    with doc.undo_stack.macro("Replace"):
        doc.remove_layer(a.id)
        b = doc.add_layer(Layer("b", splats()))
    doc.set_current(None)
    doc.set_current(b.id)
    doc.undo()
    assert doc.layers == (a,) and doc.current is a


def test_remove_layer_events_text_and_neighbour(doc):
    a, b, c = (doc.add_layer(Layer(n, splats())) for n in "abc")
    doc.set_current(b.id)
    events = record(doc)
    doc.remove_layer(b.id)
    assert doc.current is c  # the layer that took its place
    assert events == [CurrentLayerChanged(c.id), LayerRemoved(b.id), UndoChanged()]
    assert doc.undo_stack.undo_text == "Delete b"
    del events[:]
    doc.undo()
    assert doc.layers == (a, b, c) and doc.current is b
    assert events == [LayerAdded(b.id, 1), CurrentLayerChanged(b.id), UndoChanged()]


def test_removing_the_last_layer_leaves_nothing_current(doc):
    a = doc.add_layer(Layer("a", splats()))
    doc.remove_layer(a.id)
    assert doc.layers == () and doc.current_id is None


def test_removing_a_layer_that_is_not_current_keeps_the_current_one(doc):
    a, b = doc.add_layer(Layer("a", splats())), doc.add_layer(Layer("b", splats()))
    events = record(doc)
    doc.remove_layer(a.id)
    assert doc.current is b
    assert layer_events(events) == [LayerRemoved(a.id)]
    del events[:]
    doc.undo()
    assert doc.layers == (a, b) and doc.current is b
    assert layer_events(events) == [LayerAdded(a.id, 0)]


def test_move_layer_events_text_and_clamping(doc):
    a, b, c = (doc.add_layer(Layer(n, splats())) for n in "abc")
    events = record(doc)
    doc.move_layer(a.id, 99)  # clamped to the top
    assert doc.layers == (b, c, a)
    assert events == [LayersReordered(a.id, 2), UndoChanged()]
    assert doc.undo_stack.undo_text == "Move a"
    del events[:]
    doc.undo()
    assert doc.layers == (a, b, c)
    assert layer_events(events) == [LayersReordered(a.id, 0)]
    doc.move_layer(c.id, -5)  # clamped to the bottom
    assert doc.layers == (c, a, b)


def test_moving_a_layer_to_where_it_is_adds_no_step(doc):
    a, b = doc.add_layer(Layer("a", splats())), doc.add_layer(Layer("b", splats()))
    doc.undo_stack.mark_clean()
    events = record(doc)
    doc.move_layer(b.id, 1)
    doc.move_layer(b.id, 7)  # clamps to where it already is
    assert events == [] and not doc.is_modified and doc.layers == (a, b)


def test_set_layer_events_and_default_text(doc):
    layer = doc.add_layer(Layer("a", splats()))
    events = record(doc)
    doc.set_layer(layer.id, name="b", visible=False)
    assert events == [
        LayerChanged(layer.id, "name"),
        LayerChanged(layer.id, "visible"),
        UndoChanged(),
    ]
    assert doc.undo_stack.undo_text == "Change name, visible of a"
    doc.set_layer(layer.id, text="Hide", visible=True)
    assert doc.undo_stack.undo_text == "Hide"
    doc.undo()
    doc.undo()
    assert (layer.name, layer.visible) == ("a", True)


def test_set_layer_with_the_same_payload_object_is_no_step(doc):
    cloud = splats()
    layer = doc.add_layer(Layer("a", cloud))
    doc.undo_stack.mark_clean()
    doc.set_layer(layer.id, data=cloud)
    assert not doc.is_modified
    twin = splats()  # equal arrays, but a new payload: views must re-upload, so it is a step
    doc.set_layer(layer.id, data=twin)
    assert layer.data is twin and doc.is_modified
    doc.undo()
    assert layer.data is cloud


def test_set_layer_refuses_wrong_types_with_clear_messages(doc):
    layer = doc.add_layer(Layer("a", splats()))
    with pytest.raises(ValueError, match="^a layer name must be a non-empty string$"):
        doc.set_layer(layer.id, name=3)
    with pytest.raises(TypeError, match="^visible must be a bool$"):
        doc.set_layer(layer.id, visible=1)
    with pytest.raises(TypeError, match=r"^transform must be a scene\.Transform$"):
        doc.set_layer(layer.id, transform=np.eye(4))
    with pytest.raises(TypeError, match=r"^display must be a scene\.document\.LayerDisplay$"):
        doc.set_layer(layer.id, display=2.0)
    with pytest.raises(TypeError, match="cannot hold str"):
        doc.set_layer(layer.id, data="x")
    with pytest.raises(TypeError, match=r"no editable field\(s\) \['colour', 'id'\]"):
        doc.set_layer(layer.id, colour="red", id="x", name="b")
    assert layer.name == "a" and not doc.undo_stack.can_redo


def test_every_payload_kind_is_accepted(doc):
    from scene import PointCloud

    layer = doc.add_layer(Layer("a", splats()))
    mesh = MeshAsset(np.eye(3), [[0, 1, 2]])
    points = PointCloud(np.zeros((2, 3)))
    doc.set_layer(layer.id, data=mesh)
    assert layer.data is mesh
    doc.set_layer(layer.id, data=points)
    assert layer.data is points
    doc.replace_data_live(layer.id, mesh)
    assert layer.data is mesh


def test_live_replacement_event_and_validation(doc):
    layer = doc.add_layer(Layer("job", splats()))
    events = record(doc)
    new = splats(8)
    doc.replace_data_live(layer.id, new)
    assert layer.data is new
    assert events == [LayerChanged(layer.id, "data", live=True)]
    with pytest.raises(TypeError, match="cannot hold"):
        doc.replace_data_live(layer.id, None)
    assert layer.data is new


def test_set_current_checks_the_id_and_emits_only_on_change(doc):
    a, b = doc.add_layer(Layer("a", splats())), doc.add_layer(Layer("b", splats()))
    events = record(doc)
    doc.set_current(b.id)
    assert events == []
    doc.set_current(a.id)
    doc.set_current(None)
    assert events == [CurrentLayerChanged(a.id), CurrentLayerChanged(None)]
    assert doc.current is None
    with pytest.raises(KeyError, match="no layer with id 'nope'"):
        doc.set_current("nope")
    assert doc.current is None and not doc.undo_stack.can_redo


def test_undo_and_redo_report_whether_anything_happened(doc):
    assert doc.undo() is False and doc.redo() is False
    doc.add_layer(Layer("a", splats()))
    assert doc.redo() is False
    assert doc.undo() is True and doc.redo() is True


def test_undo_changed_is_emitted_for_each_stack_change(doc):
    events = record(doc)
    doc.undo_stack.mark_clean()
    assert events == [UndoChanged()]


def test_a_new_document_is_empty_and_clean():
    document = Document()
    assert document.layers == () and document.current is None and document.current_id is None
    assert document.view is None and not document.is_modified
    assert document.time == 0.0


# ----------------------------------------------------------------------------- time
def test_set_time_emits_only_on_change_and_is_no_undo_step(doc):
    doc.add_layer(Layer("a", splats()))
    doc.undo_stack.mark_clean()
    events = record(doc)
    doc.set_time(1.25)
    doc.set_time(1.25)
    doc.set_time(np.float32(2))
    assert events == [TimeChanged(1.25), TimeChanged(2.0)]
    assert doc.time == 2.0 and type(doc.time) is float
    assert not doc.is_modified and doc.undo_stack.undo_text == "Add a"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_set_time_refuses_non_finite_values(doc, bad):
    doc.set_time(0.5)
    events = record(doc)
    with pytest.raises(ValueError, match="finite number of seconds"):
        doc.set_time(bad)
    assert doc.time == 0.5 and events == []


def test_layers_get_distinct_hex_ids():
    a, b = Layer("a", splats()), Layer("a", splats())
    assert a.id != b.id and len(a.id) == 32 and int(a.id, 16) >= 0
    assert a.visible is True and a.display == LayerDisplay(1.0, 1.0) and a.transform == Transform()


def test_layer_lookup(doc):
    a, b = doc.add_layer(Layer("a", splats())), doc.add_layer(Layer("b", splats()))
    assert doc.layer(b.id) is b and doc.index_of(a.id) == 0 and doc.index_of(b.id) == 1
    with pytest.raises(KeyError, match="no layer with id"):
        doc.index_of("x")


def test_unique_name_counts_up(doc):
    assert doc.unique_name("a") == "a"
    doc.add_layer(Layer("a", splats()))
    assert doc.unique_name("a") == "a 2"
    doc.add_layer(Layer("a 2", splats()))
    doc.add_layer(Layer("a 3", splats()))
    assert doc.unique_name("a") == "a 4" and doc.unique_name("a 2") == "a 2 2"
    doc.remove_layer(doc.layers[2].id)  # "a 3": the first free number is taken again
    assert doc.unique_name("a") == "a 3"


def test_layer_display_limits():
    assert LayerDisplay(10.0, 10.0) == LayerDisplay(10.0, 10.0)
    assert LayerDisplay(0.01, 0.0).opacity_scale == 0.0
    message = r"^LayerDisplay: splat_scale must be in \(0, 10\], opacity_scale in \[0, 10\]$"
    for bad in [(0.0, 1.0), (10.5, 1.0), (1.0, -0.1), (1.0, 10.5)]:
        with pytest.raises(ValueError, match=message):
            LayerDisplay(*bad)


def test_world_bounds_follow_rotation_scale_and_translation():
    from scene.rotation import axis_angle_to_quat

    mesh = MeshAsset([[0, 0, 0], [2, 0, 0], [0, 1, 0]], [[0, 1, 2]])
    turned = Transform([10, 0, 5], axis_angle_to_quat([0, 0, 1], np.pi / 2), [1, 3, 1])  # x -> y, y*3 -> -x
    lo, hi = Layer("m", mesh, transform=turned).world_bounds()
    np.testing.assert_allclose(lo, [7, 0, 5], atol=1e-9)
    np.testing.assert_allclose(hi, [10, 2, 5], atol=1e-9)


def test_document_bounds_skip_hidden_layers_unless_asked(doc):
    def mesh_at(x, y):
        return MeshAsset([[x, y, 0], [x + 1, y, 0], [x, y + 1, 1]], [[0, 1, 2]])

    doc.add_layer(Layer("a", mesh_at(0, 5)))
    doc.add_layer(Layer("b", mesh_at(3, -2)))
    hidden = doc.add_layer(Layer("c", mesh_at(-9, 0), visible=False))
    lo, hi = doc.bounds()
    np.testing.assert_allclose(lo, [0, -2, 0])
    np.testing.assert_allclose(hi, [4, 6, 1])
    lo, hi = doc.bounds(visible_only=False)
    np.testing.assert_allclose(lo, [-9, -2, 0])
    np.testing.assert_allclose(hi, [4, 6, 1])
    doc.set_layer(hidden.id, visible=True)
    doc.set_layer(doc.layers[0].id, visible=False)
    doc.set_layer(doc.layers[1].id, visible=False)
    lo, hi = doc.bounds()
    np.testing.assert_allclose(lo, [-9, 0, 0])
    np.testing.assert_allclose(hi, [-8, 1, 1])


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_document_bounds_leave_out_layers_whose_bounds_overflow(doc):
    """A layer scaled past float range has infinite bounds, which would make framing the view useless."""
    doc.add_layer(Layer("huge", MeshAsset([[-1e30, 0, 0], [1e30, 0, 0], [0, 1, 0]], [[0, 1, 2]]),
                        transform=Transform(scale=[1e300, 1, 1])))
    assert doc.bounds() is None
    doc.add_layer(Layer("one-sided", MeshAsset([[0, 0, 0], [1e30, 0, 0], [0, 1, 0]], [[0, 1, 2]]),
                        transform=Transform(scale=[1e300, 1, 1])))  # only the upper bound overflows
    assert doc.bounds() is None
    doc.add_layer(Layer("small", MeshAsset(np.eye(3), [[0, 1, 2]])))
    lo, hi = doc.bounds()
    np.testing.assert_allclose(lo, [0, 0, 0])
    np.testing.assert_allclose(hi, [1, 1, 1])


# ----------------------------------------------------------------------------- splat selection
def test_select_splats_events_text_and_undo(doc):
    layer = doc.add_layer(Layer("a", splats()))
    events = record(doc)
    doc.select_splats(layer.id, [True, False, True, False])
    assert events == [SplatsSelected(layer.id, 2), UndoChanged()]
    assert doc.undo_stack.undo_text == "Select splats"
    np.testing.assert_array_equal(doc.splat_selection(layer.id), [True, False, True, False])
    doc.select_splats(layer.id, None, text="Deselect")
    assert doc.splat_selection(layer.id) is None and doc.undo_stack.undo_text == "Deselect"
    assert events[-2] == SplatsSelected(layer.id, 0)
    doc.undo()
    np.testing.assert_array_equal(doc.splat_selection(layer.id), [True, False, True, False])
    doc.undo()
    assert doc.splat_selection(layer.id) is None
    assert events[-2] == SplatsSelected(layer.id, 0)


def test_selection_mask_is_a_read_only_copy(doc):
    layer = doc.add_layer(Layer("a", splats()))
    mask = np.array([1, 0, 0, 1])
    doc.select_splats(layer.id, mask)
    mask[:] = 0
    selected = doc.splat_selection(layer.id)
    assert selected.dtype == bool and selected.tolist() == [True, False, False, True]
    with pytest.raises(ValueError):
        selected[0] = False


def test_unchanged_or_empty_selection_is_no_step(doc):
    layer = doc.add_layer(Layer("a", splats()))
    doc.undo_stack.mark_clean()
    events = record(doc)
    doc.select_splats(layer.id, None)
    doc.select_splats(layer.id, np.zeros(4, bool))  # all-false counts as no selection
    assert events == [] and not doc.is_modified
    doc.select_splats(layer.id, [True, True, False, False])
    del events[:]
    doc.select_splats(layer.id, [True, True, False, False])
    assert events == []
    doc.select_splats(layer.id, [True, False, False, False])
    assert events[0] == SplatsSelected(layer.id, 1)
    doc.select_splats(layer.id, np.zeros(4, bool))
    assert doc.splat_selection(layer.id) is None
    assert events[-2] == SplatsSelected(layer.id, 0)


def test_select_splats_refuses_bad_masks_and_other_layers(doc):
    layer = doc.add_layer(Layer("a", splats()))
    mesh = doc.add_layer(Layer("m", MeshAsset(np.eye(3), [[0, 1, 2]])))
    with pytest.raises(ValueError, match=r"selection mask has shape \(3,\), expected \(4,\)"):
        doc.select_splats(layer.id, [True, False, True])
    with pytest.raises(TypeError, match="m holds no splats to select"):
        doc.select_splats(mesh.id, None)
    assert doc.splat_selection(layer.id) is None


def test_selections_are_kept_per_layer(doc):
    a, b = doc.add_layer(Layer("a", splats())), doc.add_layer(Layer("b", splats(2)))
    doc.select_splats(a.id, [True, False, False, False])
    doc.select_splats(b.id, [False, True])
    doc.select_splats(a.id, None)
    assert doc.splat_selection(a.id) is None
    assert doc.splat_selection(b.id).tolist() == [False, True]


def test_non_splat_layers_have_no_selection(doc):
    layer = doc.add_layer(Layer("a", splats()))
    doc.select_splats(layer.id, [True, False, False, False])
    doc.set_layer(layer.id, data=MeshAsset(np.eye(3), [[0, 1, 2]]))
    assert doc.splat_selection(layer.id) is None
    doc.undo()
    assert doc.splat_selection(layer.id).tolist() == [True, False, False, False]


def test_undoing_selections_across_a_live_data_swap(doc):
    """A selection made stale by streamed data, then a new one: undoing both leaves none, without error."""
    layer = doc.add_layer(Layer("job", splats()))
    doc.select_splats(layer.id, [True, False, False, False])
    doc.replace_data_live(layer.id, splats(2))
    assert doc.splat_selection(layer.id) is None
    doc.select_splats(layer.id, [False, True])
    assert doc.undo() and doc.splat_selection(layer.id) is None
    assert doc.undo() and doc.splat_selection(layer.id) is None
