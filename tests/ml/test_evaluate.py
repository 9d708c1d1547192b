import json

import numpy as np
import pytest
import torch

from ml.evaluate import evaluate, metrics_from_predictions, wilson_interval
from ml.model import NetConfig, SliceNet

NAMES = ["normal", "disc_herniation", "tumour"]
# 7 slices, no tumour in the labels; one herniation called normal, one normal called herniation
LABELS = np.array([0, 0, 0, 1, 1, 1, 1])
PREDICTIONS = np.array([0, 1, 0, 1, 1, 0, 1])


def counts(row: dict) -> tuple[int, int, int, int]:
    return row["tp"], row["fn"], row["tn"], row["fp"]


def test_one_vs_rest_counts_on_a_hand_built_case():
    m = metrics_from_predictions(LABELS, PREDICTIONS, NAMES)
    assert m["n"] == 7
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["confusion"] == [[2, 1, 0], [1, 3, 0], [0, 0, 0]]
    normal, disc, tumour = (m["per_class"][n] for n in NAMES)
    assert counts(normal) == (2, 1, 3, 1)
    assert counts(disc) == (3, 1, 2, 1)
    assert (normal["n_pos"], normal["n_neg"]) == (3, 4)
    assert normal["sensitivity"] == pytest.approx(2 / 3)
    assert normal["specificity"] == pytest.approx(3 / 4)
    assert disc["sensitivity"] == pytest.approx(3 / 4)
    assert disc["specificity"] == pytest.approx(2 / 3)
    # an absent class: nothing to detect, so sensitivity is None, not NaN or 0
    assert tumour["n_pos"] == 0 and counts(tumour) == (0, 0, 7, 0)
    assert tumour["sensitivity"] is None
    assert tumour["sensitivity_ci95"] is None
    assert tumour["specificity"] == 1.0
    assert tumour["f1"] is None
    # F1 normal = 4/6, disc = 6/8; tumour is left out of the average
    assert m["macro_f1"] == pytest.approx((4 / 6 + 6 / 8) / 2)
    json.dumps(m, allow_nan=False)  # raises on NaN or numpy types


def test_predicted_but_absent_class_counts_as_false_positive():
    m = metrics_from_predictions(np.array([0, 0]), np.array([0, 2]), NAMES)
    tumour = m["per_class"]["tumour"]
    assert (tumour["fp"], tumour["tn"], tumour["sensitivity"]) == (1, 1, None)
    assert tumour["specificity"] == pytest.approx(0.5)
    assert tumour["f1"] == 0.0


def test_empty_set_gives_none_everywhere():
    m = metrics_from_predictions(np.array([], dtype=int), np.array([], dtype=int), NAMES)
    assert m["n"] == 0 and m["accuracy"] is None and m["macro_f1"] is None
    json.dumps(m, allow_nan=False)


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (8, 10, (0.4902, 0.9433)),
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
        (50, 100, (0.4038, 0.5962)),
    ],
)
def test_wilson_interval_known_values(k, n, expected):
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected[0], abs=1e-4)
    assert high == pytest.approx(expected[1], abs=1e-4)


def test_wilson_interval_edge_cases():
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    narrow, wide = wilson_interval(8, 10, z=1.0), wilson_interval(8, 10, z=2.576)
    assert wide[0] < narrow[0] and narrow[1] < wide[1]


class ReadsItsAnswer(SliceNet):
    """A stand-in model that predicts the class index written in pixel (0, 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), self.config.n_classes).float()


def test_evaluate_runs_the_model_and_compares():
    model = ReadsItsAnswer(NetConfig(n_classes=3, width=2))
    images = np.zeros((7, 1, 8, 8), dtype=np.float32)
    images[:, 0, 0, 0] = PREDICTIONS
    assert evaluate(model, images, LABELS, NAMES) == metrics_from_predictions(
        LABELS, PREDICTIONS, NAMES
    )
    with pytest.raises(ValueError):
        evaluate(model, images, LABELS, NAMES[:2])
