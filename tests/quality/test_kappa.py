"""Kappa and agreement against examples worked by hand, and the fast bootstrap against
statsmodels resample by resample."""

import json

import numpy as np
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

from annotator.quality import kappa
from annotator.quality.agreement import Read, report
from annotator.vocab import FINDINGS


def two_readers(both: int, only_first: int, only_second: int, neither: int):
    first = [True] * both + [True] * only_first + [False] * only_second + [False] * neither
    second = [True] * both + [False] * only_first + [True] * only_second + [False] * neither
    return np.array(first), np.array(second)


def test_cohen_kappa_of_a_two_by_two_table_matches_the_hand_computation():
    # 50 slices: both 20, only the first 5, only the second 10, neither 15.
    # po = (20 + 15) / 50 = 0.70
    # first says present 25/50 = 0.5, second 30/50 = 0.6
    # pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.50
    # kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40
    first, second = two_readers(20, 5, 10, 15)
    estimate = kappa.cohen_kappa(first, second, kappa.resample_weights(50))
    assert estimate.value == pytest.approx(0.40)
    assert estimate.undefined is None
    low, high = estimate.ci
    assert low < 0.40 < high
    assert low >= -1
    assert high <= 1


def test_fleiss_kappa_of_three_raters_matches_the_hand_computation():
    # 4 slices, 3 raters, categories A (0) and B (1):
    #   AAA -> P = (9 + 0 - 3) / (3 * 2) = 1;  AAB -> (4 + 1 - 3) / 6 = 1/3
    #   BBB -> 1;                              ABB -> 1/3
    # P_bar = (1 + 1/3 + 1 + 1/3) / 4 = 2/3; p_A = 6/12 = 0.5, p_B = 0.5; Pe = 0.5
    # kappa = (2/3 - 1/2) / (1 - 1/2) = 1/3
    ratings = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [0, 1, 1]])
    estimate = kappa.fleiss_kappa(ratings, 2, kappa.resample_weights(4))
    assert estimate.value == pytest.approx(1 / 3)


def test_overall_fleiss_kappa_over_single_finding_slices_matches_the_hand_computation():
    # Two reads per slice: (ivde, ivde), (ivde, ivdp), (ivdp, ivdp), (unremarkable, unremarkable)
    # and one slice whose first read names two findings, which overall Fleiss leaves out.
    # P_i = 1, 0, 1, 1 -> P_bar = 3/4
    # of 8 ratings: ivde 3, ivdp 3, unremarkable 2 -> Pe = (9 + 9 + 4) / 64 = 11/32
    # kappa = (3/4 - 11/32) / (1 - 11/32) = (13/32) / (21/32) = 13/21
    pairs = [
        ({"ivde"}, {"ivde"}),
        ({"ivde"}, {"ivdp"}),
        ({"ivdp"}, {"ivdp"}),
        ({"unremarkable"}, {"unremarkable"}),
        ({"ivde", "syringomyelia"}, {"ivde"}),
    ]
    reads = []
    for slice_id, (a, b) in enumerate(pairs, start=1):
        reads.append(Read(slice_id, "alice", 2 * slice_id, frozenset(a)))
        reads.append(Read(slice_id, "bob", 2 * slice_id + 1, frozenset(b)))
    overall = report(reads, [], FINDINGS, resamples=200)["overall"]
    assert overall["fleiss_kappa"] == pytest.approx(13 / 21, abs=1e-4)
    assert overall["fleiss_slices"] == 4
    assert overall["slices"] == 5
    assert overall["raw_agreement"] == pytest.approx(3 / 5)


def test_kappa_is_null_with_a_reason_when_every_rating_is_the_same():
    # Nobody ever saw neoplasia: po = 1, pe = 1, kappa = 0/0.
    first, second = two_readers(0, 0, 0, 12)
    weights = kappa.resample_weights(12)
    cohen = kappa.cohen_kappa(first, second, weights)
    fleiss = kappa.fleiss_kappa(np.stack([first, second], axis=1), 2, weights)
    for estimate in (cohen, fleiss):
        assert estimate.value is None
        assert estimate.ci is None
        assert "undefined" in estimate.undefined
    assert kappa.raw_agreement(first == second, weights).value == 1.0


def test_no_slices_gives_nulls_and_the_report_has_no_nan():
    reads = [Read(1, "alice", 1, frozenset({"ivde"})), Read(1, "bob", 2, None)]
    body = report(reads, [], FINDINGS)
    text = json.dumps(body, allow_nan=False)  # raises on NaN or Infinity
    assert body["overall"]["slices"] == 0
    assert body["overall"]["left_out_cant_tell"] == 1
    assert body["overall"]["fleiss_kappa"] is None
    assert body["overall"]["fleiss_kappa_undefined"] == kappa.NO_SLICES
    assert "NaN" not in text


def test_the_fast_bootstrap_equals_statsmodels_on_every_resample():
    rng = np.random.default_rng(3)
    first = rng.random(40) < 0.4
    second = np.where(rng.random(40) < 0.8, first, ~first)
    weights = kappa.resample_weights(40, resamples=60, seed=5)

    fast_cohen = kappa.cohen_from_counts(weights @ kappa.cells(first, second))
    ratings = np.stack([first, second], axis=1).astype(int)
    counts = kappa.category_counts(ratings, 2)
    per_slice = ((counts**2).sum(axis=1) - 2) / 2
    fast_fleiss = kappa.fleiss_from_counts(weights @ per_slice, weights @ counts, 40, 2)

    for row, cohen, fleiss in zip(weights, fast_cohen, fast_fleiss, strict=True):
        picked = np.repeat(np.arange(40), row.astype(int))  # the resample as explicit slices
        a, b = first[picked], second[picked]
        table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
        assert cohen == pytest.approx(cohens_kappa(table, return_results=False))
        aggregated, _ = aggregate_raters(ratings[picked], n_cat=2)
        assert fleiss == pytest.approx(fleiss_kappa(aggregated))


def test_a_resample_is_drawing_slices_with_replacement():
    weights = kappa.resample_weights(30, resamples=500, seed=1)
    assert weights.shape == (500, 30)
    assert (weights.sum(axis=1) == 30).all()
    # each slice is left out of about (1 - 1/30)^30 = 36% of resamples
    assert np.mean(weights == 0) == pytest.approx((29 / 30) ** 30, abs=0.02)


def test_intervals_are_the_same_on_every_call_so_the_page_is_stable():
    first, second = two_readers(20, 5, 10, 15)
    one = kappa.cohen_kappa(first, second, kappa.resample_weights(50))
    two = kappa.cohen_kappa(first, second, kappa.resample_weights(50))
    assert one == two
    other_seed = kappa.cohen_kappa(first, second, kappa.resample_weights(50, seed=99))
    assert other_seed.ci != one.ci
