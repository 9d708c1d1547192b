"""Uncertainty of a multi-label call: entropy and BALD grow as it gets less sure, margin shrinks."""

import math

import numpy as np
import pytest

from ml.uncertainty import MEASURES, bald, binary_entropy, margin


def h(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def test_entropy_is_zero_when_sure_and_k_ln2_when_every_finding_is_a_coin_flip():
    sure = np.array([[0.0, 1.0, 0.0]])
    coin = np.full((1, 3), 0.5)
    assert binary_entropy(sure)[0] == 0.0
    assert binary_entropy(coin)[0] == pytest.approx(3 * math.log(2))


def test_entropy_adds_the_findings_and_grows_towards_one_half():
    p = np.array([[0.9, 0.1], [0.6, 0.1]])
    ent = binary_entropy(p)
    assert ent[0] == pytest.approx(2 * h(0.9))
    assert ent[1] > ent[0]


def test_margin_is_the_distance_of_the_most_borderline_finding_to_its_threshold():
    p = np.array([[0.9, 0.05], [0.32, 0.0]])
    m = margin(p, thresholds=np.array([0.3, 0.5]))
    assert m.dtype == np.float64
    assert m[0] == pytest.approx(0.45)  # 0.05 is 0.45 from 0.5; 0.9 is 0.6 from 0.3
    assert m[1] == pytest.approx(0.02)  # 0.32 sits next to its threshold 0.3
    assert m[1] < m[0]  # the borderline row is the less sure one
    assert margin(np.array([[0.5, 1.0]]))[0] == 0.0  # default thresholds are 0.5


def test_margin_takes_a_threshold_per_row():
    p = np.array([[0.4, 0.9], [0.4, 0.9]])
    t = np.array([[0.5, 0.5], [0.4, 0.5]])
    np.testing.assert_allclose(margin(p, t), [0.1, 0.0])


def test_bald_is_zero_when_the_passes_agree_even_on_a_coin_flip():
    agree = np.full((5, 2, 3), 0.5)
    np.testing.assert_array_equal(bald(agree), [0.0, 0.0])
    assert binary_entropy(agree[0])[0] == pytest.approx(3 * math.log(2))


def test_bald_is_positive_when_passes_disagree_with_the_same_mean():
    # row 0: passes say 0.1 and 0.9; row 1: both say 0.5; both average 0.5
    samples = np.array([[[0.1], [0.5]], [[0.9], [0.5]]])  # (T=2, N=2, K=1)
    b = bald(samples)
    assert b[0] == pytest.approx(math.log(2) - h(0.1))
    assert b[0] > 0.0 and b[1] == 0.0


def test_bald_matches_a_hand_computed_two_pass_value_summed_over_findings():
    samples = np.array([[[0.2, 0.7]], [[0.6, 0.7]]])  # (T=2, N=1, K=2); finding 1 agrees
    want = h(0.4) - (h(0.2) + h(0.6)) / 2
    assert bald(samples)[0] == pytest.approx(want)
    assert bald(samples).dtype == np.float64


def test_measures_are_registered_by_name_and_refuse_bad_shapes():
    assert set(MEASURES) == {"entropy", "margin"}
    with pytest.raises(ValueError):
        binary_entropy(np.zeros(3))
    with pytest.raises(ValueError, match="thresholds"):
        margin(np.zeros((2, 3)), thresholds=np.zeros(2))
    with pytest.raises(ValueError, match="T, N, K"):
        bald(np.zeros((4, 3)))
    with pytest.raises(ValueError):
        bald(np.zeros((0, 4, 3)))
