import pytest

from engines.models import ModelSource, role_named
from engines.models.hub import fetch
from engines.models.loading import load_model
from engines.models.placement import Placement
from tests.tiny_models import tiny_model


@pytest.fixture(scope="session")
def load_tiny(tmp_path_factory):
    """``load_tiny(role)``: the tiny random-weight model of ``role``, through the real fetch and load."""
    root = tmp_path_factory.mktemp("tiny-models")
    loaded = {}

    def load(name):
        if name not in loaded:
            role = role_named(name)
            loaded[name] = load_model(role, fetch(role, ModelSource.parse(str(tiny_model(name, root)))), Placement("cpu", "float32"))
        return loaded[name]

    return load
