import numpy as np
import pytest

from scene import Transform
from scene.rotation import axis_angle_to_quat, matrix_to_quat, quat_multiply, quat_to_matrix


def test_matrix_round_trip():
    t = Transform([1, -2, 3], axis_angle_to_quat([1, 2, 3], 1.1), [0.5, 2.0, 3.0])
    again = Transform.from_matrix(t.matrix())
    assert again == t
    np.testing.assert_allclose(again.scale, [0.5, 2.0, 3.0])


def test_identity_and_dict():
    assert Transform().is_identity()
    t = Transform([1, 2, 3])
    assert Transform.from_dict(t.to_dict()) == t
    assert hash(Transform.from_dict(t.to_dict())) == hash(t)


def test_zero_scale_rejected():
    with pytest.raises(ValueError, match="zero"):
        Transform(scale=[1, 0, 1])


def test_quaternion_helpers_agree_with_matrices():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 4))
    product = quat_to_matrix(quat_multiply(a / np.linalg.norm(a), b / np.linalg.norm(b)))
    np.testing.assert_allclose(product, quat_to_matrix(a) @ quat_to_matrix(b), atol=1e-12)
    many = rng.normal(size=(500, 4))
    back = matrix_to_quat(quat_to_matrix(many))
    np.testing.assert_allclose(quat_to_matrix(back), quat_to_matrix(many), atol=1e-12)
    assert np.all(back[:, 0] >= 0)
