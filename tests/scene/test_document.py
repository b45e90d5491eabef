import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer, MeshAsset, Transform
from scene.document import LayerDisplay


def splats(n=4):
    return GaussianCloud.create(np.arange(n * 3).reshape(n, 3), 0.1, [0.5, 0.5, 0.5])


@pytest.fixture
def doc():
    document = Document()
    events = []
    document.events.connect(lambda e: events.append((e.kind, e.layer_id, e.detail.get("field"))))
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
    kinds = [k for k, *_ in doc.recorded]
    assert kinds.count("layer_added") == 2 and kinds.count("layer_removed") == 1


def test_every_field_edit_is_one_undo_step(doc):
    layer = doc.add_layer(Layer("a", splats()))
    moved = Transform([1, 2, 3])
    doc.set_layer(layer.id, name="b", visible=False, transform=moved, display=LayerDisplay(2.0, 0.5))
    assert (layer.name, layer.visible, layer.transform, layer.display.splat_scale) == ("b", False, moved, 2.0)
    doc.undo()
    assert (layer.name, layer.visible, layer.transform) == ("a", True, Transform())
    fields = {f for k, _, f in doc.recorded if k == "layer_changed"}
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
    assert ("layer_changed", layer.id, "data") in doc.recorded


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
