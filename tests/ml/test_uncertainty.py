"""Uncertainty of a multi-label call: bigger always means less sure."""

import math

import numpy as np
import pytest

from ml.uncertainty import MEASURES, binary_entropy, margin


def test_entropy_is_zero_when_sure_and_k_ln2_when_every_finding_is_a_coin_flip():
    sure = np.array([[0.0, 1.0, 0.0]])
    coin = np.full((1, 3), 0.5)
    assert binary_entropy(sure)[0] == 0.0
    assert binary_entropy(coin)[0] == pytest.approx(3 * math.log(2))


def test_entropy_adds_the_findings_and_grows_towards_one_half():
    p = np.array([[0.9, 0.1], [0.6, 0.1]])
    h = binary_entropy(p)
    one = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert h[0] == pytest.approx(2 * one)
    assert h[1] > h[0]


def test_margin_is_highest_for_the_finding_closest_to_its_threshold():
    p = np.array([[0.9, 0.05], [0.32, 0.0]])
    m = margin(p, thresholds=np.array([0.3, 0.5]))
    assert m[0] == pytest.approx(1 - 0.45)  # 0.05 is 0.45 from 0.5; 0.9 is 0.6 from 0.3
    assert m[1] == pytest.approx(1 - 0.02)
    assert m[1] > m[0]


def test_measures_are_registered_by_name_and_refuse_bad_shapes():
    assert set(MEASURES) == {"entropy", "margin"}
    with pytest.raises(ValueError):
        binary_entropy(np.zeros(3))
