import pytest

from tests.tiny_models import tiny_model


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """``tiny_models(role)``: the folder of a tiny random-weight model of ``role``, built once a session."""
    root = tmp_path_factory.mktemp("tiny-models")
    return lambda role: tiny_model(role, root)
