"""A generated layer's provenance (engine, settings, models) is plain data that survives a project's
save and reopen; projects written without it still open; a damaged one is refused by name."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from scene import Document, GaussianCloud, Layer
from scene.document import Provenance
from scene.io import FormatError
from scene.io.project import load_project, save_project

MADE = Provenance(
    "text-to-3d",
    {"prompt": "a red chair", "seed": 7, "timesteps": (0.02, 0.98, 0.5), "densify": {"max_splats": 1000}},
    {"text": "/models/tiny-text"},
)


def generated_document() -> Document:
    document = Document()
    document.add_layer(Layer("made", GaussianCloud.create(np.zeros((2, 3)), 0.1, [1, 0, 0]), provenance=MADE))
    document.add_layer(Layer("imported", GaussianCloud.create(np.ones((2, 3)), 0.1, [0, 1, 0])))
    return document


def test_provenance_is_a_json_copy_of_the_settings():
    config = {"seed": 3, "box": (0.0, 1.0), "nested": {"a": [1, 2]}}
    made = Provenance("refine-region", config, {"text": "x"})
    config["seed"] = 4
    assert made.config == {"seed": 3, "box": [0.0, 1.0], "nested": {"a": [1, 2]}} and made.seed == 3
    assert Provenance.from_dict(json.loads(json.dumps(made.to_dict()))) == made
    with pytest.raises(TypeError):
        Provenance("x", {"path": object()})
    with pytest.raises(ValueError, match="must name an engine"):
        Provenance("", {})


def test_provenance_round_trips_through_a_project(tmp_path):
    document = generated_document()
    save_project(document, tmp_path / "p.a4d")
    made, imported = load_project(tmp_path / "p.a4d").layers
    assert made.provenance == MADE and made.provenance.seed == 7
    assert made.provenance.config["timesteps"] == [0.02, 0.98, 0.5]
    assert imported.provenance is None


def saved_with(tmp_path, change) -> Path:
    """The generated document saved, then its manifest's layer entries changed by ``change``."""
    save_project(generated_document(), tmp_path / "p.a4d")
    with zipfile.ZipFile(tmp_path / "p.a4d") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    change(manifest["layers"])
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "changed.a4d", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return tmp_path / "changed.a4d"


def test_a_project_without_provenance_opens(tmp_path):
    old = saved_with(tmp_path, lambda entries: [entry.pop("provenance", None) for entry in entries])
    assert [layer.provenance for layer in load_project(old).layers] == [None, None]


def test_a_damaged_provenance_is_refused_naming_the_layer(tmp_path):
    bad = saved_with(tmp_path, lambda entries: entries[0].update(provenance={"engine": "text-to-3d", "config": "no"}))
    with pytest.raises(FormatError, match="layer 'made' has invalid settings"):
        load_project(bad)


def test_provenance_is_an_undoable_layer_field():
    document = generated_document()
    layer = document.layers[1]
    document.set_layer(layer.id, provenance=MADE)
    assert layer.provenance == MADE
    document.undo()
    assert layer.provenance is None
