import math

import numpy as np
import pytest

from ml.uncertainty import MEASURES, least_confidence, margin, predictive_entropy


@pytest.mark.parametrize("c", [2, 3, 6])
def test_entropy_of_uniform_is_ln_c_and_of_one_hot_is_zero(c):
    uniform = np.full((1, c), 1.0 / c)
    one_hot = np.eye(c)
    assert predictive_entropy(uniform)[0] == pytest.approx(math.log(c))
    np.testing.assert_array_equal(predictive_entropy(one_hot), np.zeros(c))


def test_entropy_matches_hand_computation_and_is_safe_with_zeros():
    p = np.array([[0.5, 0.5, 0.0], [0.7, 0.2, 0.1]], dtype=np.float32)
    h = predictive_entropy(p)
    assert np.isfinite(h).all()
    assert h[0] == pytest.approx(math.log(2))
    assert h[1] == pytest.approx(-(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)))


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_every_measure_ranks_less_sure_higher(name):
    probs = np.array(
        [
            [1.0, 0.0, 0.0],  # certain
            [0.8, 0.1, 0.1],
            [0.5, 0.3, 0.2],
            [1 / 3, 1 / 3, 1 / 3],  # clueless
        ]
    )
    scores = MEASURES[name](probs)
    assert scores.shape == (4,)
    assert list(np.argsort(scores)) == [0, 1, 2, 3]
    assert scores[0] == pytest.approx(0.0)


def test_margin_and_least_confidence_values():
    p = np.array([[0.6, 0.3, 0.1], [0.45, 0.45, 0.1]])
    np.testing.assert_allclose(margin(p), [0.7, 1.0])
    np.testing.assert_allclose(least_confidence(p), [0.4, 0.55])


def test_rejects_a_flat_vector():
    with pytest.raises(ValueError):
        predictive_entropy(np.array([0.5, 0.5]))
