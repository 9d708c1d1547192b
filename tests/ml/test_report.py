"""The Table 2 report: hand-computed counts, AUROCs, thresholds and the dog-level summary."""

import json

import numpy as np
import pytest

from ml.report import (
    auroc,
    calls,
    dog_thresholds,
    roc_curve,
    table2,
    wilson_interval,
    youden_thresholds,
)

LESIONS = ["ivde", "syringomyelia"]
THRESHOLDS = np.array([0.5, 0.5])
# 12 slices of 3 dogs, three per plane x sequence. Columns: dog, plane, sequence,
# true findings, (p_ivde, p_syringomyelia), and (in the comment) what is called at 0.5.
COHORT = [
    ("A", "sagittal", "T1W", {"ivde"}, (0.9, 0.1)),  # 0  called ivde
    ("A", "sagittal", "T1W", set(), (0.6, 0.2)),  # 1  called ivde (false positive)
    ("C", "sagittal", "T1W", set(), (0.2, 0.1)),  # 2  nothing called
    ("A", "sagittal", "T2W", {"ivde", "syringomyelia"}, (0.4, 0.7)),  # 3  called syrinx
    ("B", "sagittal", "T2W", set(), (0.1, 0.3)),  # 4  nothing called
    ("B", "sagittal", "T2W", {"syringomyelia"}, (0.3, 0.45)),  # 5  missed syrinx
    ("A", "transverse", "T1W", set(), (0.1, 0.1)),  # 6
    ("B", "transverse", "T1W", {"ivde"}, (0.55, 0.6)),  # 7  called both, syrinx higher
    ("A", "transverse", "T1W", set(), (0.05, 0.2)),  # 8
    ("C", "transverse", "T2W", set(), (0.3, 0.1)),  # 9
    ("A", "transverse", "T2W", {"ivde"}, (0.7, 0.05)),  # 10 called ivde
    ("C", "transverse", "T2W", set(), (0.2, 0.05)),  # 11
]


def cohort_arrays():
    dogs = [row[0] for row in COHORT]
    planes = [row[1] for row in COHORT]
    sequences = np.array([row[2] for row in COHORT])
    truth = np.array([[name in row[3] for name in LESIONS] for row in COHORT])
    probs = np.array([row[4] for row in COHORT], dtype=np.float32)
    return probs, truth, planes, sequences, dogs


@pytest.fixture(scope="module")
def report() -> dict:
    probs, truth, planes, sequences, dogs = cohort_arrays()
    return table2(probs, truth, THRESHOLDS, LESIONS, planes, sequences, dogs)


def cell(rep: dict, finding: str, plane: str, sequence: str) -> dict:
    (found,) = [
        c
        for c in rep["cells"]
        if (c["finding"], c["plane"], c["sequence"]) == (finding, plane, sequence)
    ]
    return found


def counts(row: dict) -> tuple[int, int, int, int]:
    return row["tp"], row["fn"], row["tn"], row["fp"]


def brute_auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = scores[positive], scores[~positive]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


# --- auroc and roc_curve ------------------------------------------------------------------


def test_auroc_small_known_case_ties_and_single_class():
    # pairs: 0.35 beats 0.1 not 0.4; 0.8 beats both -> 3 of 4
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert auroc(np.full(6, 0.3), np.array([0, 1, 0, 1, 1, 0])) == pytest.approx(0.5)
    # a tie between a positive and a negative counts one half: (1 + 0.5) / 2
    assert auroc(np.array([0.2, 0.5, 0.5]), np.array([0, 0, 1])) == pytest.approx(0.75)
    assert auroc(np.array([0.2, 0.5]), np.array([1, 1])) is None
    assert auroc(np.array([0.2, 0.5]), np.array([False, False])) is None
    assert auroc(np.array([]), np.array([], dtype=bool)) is None


def test_auroc_matches_a_pairwise_count_on_random_data_with_ties():
    rng = np.random.default_rng(7)
    for _ in range(5):
        positive = rng.random(200) < 0.3
        scores = np.round(rng.random(200) + 0.3 * positive, 1)  # rounding makes many ties
        assert auroc(scores, positive) == pytest.approx(brute_auroc(scores, positive), abs=1e-12)


def test_roc_curve_hand_case_and_empty_class():
    roc = roc_curve(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    assert roc["thresholds"] == [None, 0.8, 0.4, 0.35, 0.1]
    assert roc["tpr"] == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert roc["fpr"] == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert roc_curve(np.array([0.1, 0.2]), np.array([1, 1])) == {
        "fpr": [],
        "tpr": [],
        "thresholds": [],
    }


def test_roc_curve_is_thinned_but_keeps_its_ends():
    rng = np.random.default_rng(3)
    positive = rng.random(2000) < 0.2
    scores = rng.random(2000) + positive
    roc = roc_curve(scores, positive, max_points=11)
    assert 2 < len(roc["fpr"]) <= 11
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])
    assert (roc["fpr"][0], roc["tpr"][0], roc["thresholds"][0]) == (0.0, 0.0, None)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert roc["thresholds"][-1] == pytest.approx(scores.min())
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    with pytest.raises(ValueError):
        roc_curve(scores, positive, max_points=1)


# --- thresholds ---------------------------------------------------------------------------


def test_youden_separates_a_separable_column_and_defaults_to_one_half():
    probs = np.array(
        [
            # separable, no positives, no negatives
            [0.1, 0.9, 0.2],
            [0.3, 0.8, 0.4],
            [0.2, 0.7, 0.6],
            [0.6, 0.1, 0.8],
            [0.8, 0.2, 0.9],
        ]
    )
    truth = np.zeros((5, 3), dtype=bool)
    truth[3:, 0] = True
    truth[:, 2] = True
    th = youden_thresholds(probs, truth)
    assert th.shape == (3,)
    # the winning score is 0.6; the midpoint to the next lower score 0.3 is returned
    assert th[0] == pytest.approx(0.45)
    assert calls(probs, th)[:, 0].tolist() == truth[:, 0].tolist()
    assert th[1] == 0.5 and th[2] == 0.5


def test_youden_reaches_the_best_j_on_random_data():
    rng = np.random.default_rng(11)
    truth = rng.random((300, 2)) < 0.3
    probs = np.clip(rng.normal(0.4, 0.15, (300, 2)) + 0.2 * truth, 0, 1)
    th = youden_thresholds(probs, truth)
    for k in range(2):
        s, y = probs[:, k], truth[:, k]
        best = max((s[y] >= t).mean() - (s[~y] >= t).mean() for t in np.unique(s))
        got = (s[y] >= th[k]).mean() - (s[~y] >= th[k]).mean()
        assert got == pytest.approx(best)


# --- table2 -------------------------------------------------------------------------------


def test_cells_have_hand_computed_counts(report):
    assert report["n_images"] == 12
    assert report["thresholds"] == {"ivde": 0.5, "syringomyelia": 0.5}
    # 3 findings x 2 planes x 2 sequences, finding-major; every cell holds its 3 slices
    assert len(report["cells"]) == 12
    assert [c["finding"] for c in report["cells"][:5]] == ["unremarkable"] * 4 + ["ivde"]
    assert all(c["n"] == 3 for c in report["cells"])

    ivde = cell(report, "ivde", "sagittal", "T1W")  # slices 0, 1, 2
    assert counts(ivde) == (1, 0, 1, 1)
    assert ivde["sensitivity"] == 1.0 and ivde["specificity"] == pytest.approx(0.5)

    unrem = cell(report, "unremarkable", "sagittal", "T1W")  # 1 wrongly called ivde
    assert counts(unrem) == (1, 1, 1, 0)
    assert unrem["sensitivity"] == pytest.approx(0.5) and unrem["specificity"] == 1.0
    assert unrem["sensitivity_ci"] == pytest.approx(list(wilson_interval(1, 2)))
    assert unrem["specificity_ci"] == pytest.approx(list(wilson_interval(1, 1)))

    # slice 5 has a missed syrinx: nothing called, so unremarkable is a false positive there
    assert counts(cell(report, "unremarkable", "sagittal", "T2W")) == (1, 0, 1, 1)
    assert counts(cell(report, "ivde", "sagittal", "T2W")) == (0, 1, 2, 0)
    assert counts(cell(report, "syringomyelia", "sagittal", "T2W")) == (1, 1, 1, 0)
    assert counts(cell(report, "unremarkable", "transverse", "T1W")) == (2, 0, 1, 0)

    # no syrinx on transverse T1W: sensitivity and its interval are None, not NaN
    syr = cell(report, "syringomyelia", "transverse", "T1W")
    assert counts(syr) == (0, 0, 2, 1)
    assert syr["sensitivity"] is None and syr["sensitivity_ci"] is None
    assert syr["specificity"] == pytest.approx(2 / 3)
    assert syr["specificity_ci"] == pytest.approx(list(wilson_interval(2, 3)))


def test_aurocs_over_all_images(report):
    # ivde: positives 0.9, 0.4, 0.55, 0.7 against 8 negatives; 0.4 and 0.55 lose to 0.6
    assert report["auroc"]["ivde"] == pytest.approx(30 / 32)
    # syrinx: 0.7 and 0.45 against 10 negatives; 0.45 loses to slice 7's 0.6
    assert report["auroc"]["syringomyelia"] == pytest.approx(19 / 20)
    # unremarkable scored 1 - max prob: slice 1 (0.4) ties slice 7 (0.4), loses to slice 5
    assert report["auroc"]["unremarkable"] == pytest.approx(33.5 / 35)
    assert report["macro_auroc"] == pytest.approx((30 / 32 + 19 / 20 + 33.5 / 35) / 3)


def test_within_dog_auroc_compares_only_with_the_same_dogs_slices(report):
    # ivde, dog A: 0.9, 0.4, 0.7 vs unremarkable 0.6, 0.1, 0.05 -> 8 of 9 pairs;
    # dog B: 0.55 vs 0.1 -> 1 of 1; dog C has no ivde and contributes nothing
    per = report["within_dog_auroc_per_finding"]
    assert per["ivde"] == pytest.approx(9 / 10)
    # all unremarkable slices of all dogs would give 26/28, those of dogs A and B pooled 14/16
    assert per["ivde"] != pytest.approx(26 / 28) and per["ivde"] != pytest.approx(14 / 16)
    assert per["syringomyelia"] == pytest.approx(1.0)
    assert report["within_dog_auroc"] == pytest.approx((0.9 + 1.0) / 2)
    assert report["within_dog_n_dogs"] == {"ivde": 2, "syringomyelia": 2}


def test_within_dog_auroc_ignores_a_dog_level_shift():
    # dog A's scanner makes everything score high, dog B's low, dog C is unremarkable and high:
    # across dogs the lesion looks no better than chance, within each dog it is always higher
    probs = np.array([[0.9], [0.8], [0.3], [0.2], [0.95]])
    truth = np.array([[1], [0], [1], [0], [0]], dtype=bool)
    dogs = np.array([1, 1, 2, 2, 3])
    planes = ["sagittal"] * 5
    rep = table2(probs, truth, [0.5], ["ivde"], planes, ["T2W"] * 5, dogs)
    assert rep["auroc"]["ivde"] == pytest.approx(0.5)
    assert rep["within_dog_auroc_per_finding"]["ivde"] == 1.0
    assert rep["within_dog_n_dogs"]["ivde"] == 2


def test_dog_level_summary_uses_the_highest_slice_probability(report):
    dogs = report["dogs"]
    assert dogs["n_dogs"] == 3
    per = dogs["per_finding"]
    # dogs A and B have both findings, C none. Dog B's only syrinx slice scores 0.45, but its
    # ivde slice scores 0.6 for syrinx: the max (0.6) calls the dog, a mean (0.45) would not
    assert counts(per["syringomyelia"]) == (2, 0, 1, 0)
    assert counts(per["ivde"]) == (2, 0, 1, 0)
    assert counts(per["unremarkable"]) == (1, 0, 2, 0)
    assert per["ivde"]["sensitivity"] == 1.0 and per["ivde"]["specificity"] == 1.0
    assert per["ivde"]["sensitivity_ci"] == pytest.approx(list(wilson_interval(2, 2)))


def test_dog_level_call_flips_with_the_max_not_the_mean():
    probs = np.array([[0.1], [0.1], [0.9]])
    truth = np.array([[0], [0], [0]], dtype=bool)
    rep = table2(probs, truth, [0.5], ["ivde"], ["sagittal"] * 3, ["T1W"] * 3, ["x", "x", "x"])
    assert counts(rep["dogs"]["per_finding"]["ivde"]) == (0, 0, 0, 1)
    assert counts(rep["dogs"]["per_finding"]["unremarkable"]) == (0, 1, 0, 0)


def many_slices_per_dog() -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Six dogs of 40 slices. Healthy slices score up to 0.3, a lesion slice 0.5; dogs 0-1
    have one lesion slice each, dogs 2-5 none."""
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.0, 0.3, size=(240, 1))
    truth = np.zeros((240, 1), dtype=bool)
    for dog in (0, 1):
        probs[dog * 40, 0], truth[dog * 40, 0] = 0.5, True
    probs[80:200:7, 0] = 0.29  # a few high healthy slices in the healthy dogs
    return probs, truth, [i // 40 for i in range(240)]


def test_dog_level_cut_is_chosen_on_the_dogs_highest_slices():
    probs, truth, dogs = many_slices_per_dog()
    slice_cut = np.array([0.05])  # a low slice cut: Youden-optimal when sensitivity counts
    dog_cut = dog_thresholds(probs, truth, dogs, slice_cut)
    assert 0.29 < dog_cut[0] <= 0.5  # between the healthy dogs' highest slice and a lesion
    with_slice_cut = table2(probs, truth, slice_cut, ["ivde"], ["sagittal"] * 240,
                            ["T2W"] * 240, dogs)  # fmt: skip
    with_dog_cut = table2(probs, truth, slice_cut, ["ivde"], ["sagittal"] * 240,
                          ["T2W"] * 240, dogs, dog_thresholds=dog_cut)  # fmt: skip
    assert counts(with_slice_cut["dogs"]["per_finding"]["ivde"]) == (2, 0, 0, 4)  # all called
    assert counts(with_dog_cut["dogs"]["per_finding"]["ivde"]) == (2, 0, 4, 0)
    assert with_dog_cut["dogs"]["thresholds"] == {"ivde": pytest.approx(dog_cut[0])}
    # the slice-level cells keep the slice cut
    assert with_dog_cut["cells"] == with_slice_cut["cells"]


def test_dog_level_cut_falls_back_to_the_slice_cut_without_positive_dogs():
    probs, truth, dogs = many_slices_per_dog()
    two = np.hstack([probs, probs])  # a second finding that no dog has
    truth2 = np.hstack([truth, np.zeros_like(truth)])
    cuts = dog_thresholds(two, truth2, dogs, np.array([0.05, 0.2]))
    assert 0.29 < cuts[0] <= 0.5 and cuts[1] == 0.2
    np.testing.assert_array_equal(dog_thresholds(two[:0], truth2[:0], [], [0.1, 0.2]), [0.1, 0.2])


def test_confusion_counts_each_true_finding_and_the_highest_called_lesion(report):
    assert report["classes"] == ["unremarkable", "ivde", "syringomyelia"]
    # slice 3 (ivde + syrinx, called syrinx) counts in two rows; slice 7 (ivde, both called,
    # syrinx higher) is ivde -> syrinx; slice 5 (missed syrinx) is syrinx -> unremarkable
    assert report["confusion"] == [[6, 1, 0], [0, 2, 2], [1, 0, 1]]


def test_roc_per_finding_and_json(report):
    assert set(report["roc"]) == {"unremarkable", "ivde", "syringomyelia"}
    roc = report["roc"]["ivde"]
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0
    json.dumps(report, allow_nan=False)  # raises on NaN, inf or numpy integers


def test_plane_and_sequence_outside_the_cells_count_only_in_the_totals():
    probs = np.array([[0.9], [0.1], [0.8]])
    truth = np.array([[1], [0], [1]], dtype=bool)
    rep = table2(probs, truth, [0.5], ["ivde"], ["sagittal", "sagittal", "dorsal"],
                 ["T2W", "T2W", "STIR"], [1, 1, 1])  # fmt: skip
    assert counts(cell(rep, "ivde", "sagittal", "T2W")) == (1, 0, 1, 0)
    assert cell(rep, "ivde", "transverse", "T1W")["n"] == 0
    assert cell(rep, "ivde", "transverse", "T1W")["sensitivity"] is None
    assert rep["n_images"] == 3 and rep["auroc"]["ivde"] == 1.0
    json.dumps(rep, allow_nan=False)


def test_shape_mismatches_raise_value_error():
    probs, truth, planes, sequences, dogs = cohort_arrays()
    bad_calls = [
        lambda: table2(probs, truth[:-1], THRESHOLDS, LESIONS, planes, sequences, dogs),
        lambda: table2(probs, truth, THRESHOLDS[:1], LESIONS, planes, sequences, dogs),
        lambda: table2(probs, truth, THRESHOLDS, LESIONS[:1], planes, sequences, dogs),
        lambda: table2(probs, truth, THRESHOLDS, LESIONS, planes[:-1], sequences, dogs),
        lambda: table2(probs, truth, THRESHOLDS, LESIONS, planes, sequences, dogs[:-1]),
        lambda: table2(probs[:, 0], truth, THRESHOLDS, LESIONS, planes, sequences, dogs),
        lambda: table2(probs, truth, THRESHOLDS, ["ivde", "unremarkable"], planes, sequences, dogs),
        lambda: auroc(np.array([0.1, 0.2]), np.array([0, 1, 1])),
        lambda: auroc(np.array([0.1, np.nan]), np.array([0, 1])),
        lambda: youden_thresholds(probs, truth[:, :1]),
        lambda: calls(probs, np.array([0.5, 0.5, 0.5])),
    ]
    for bad in bad_calls:
        with pytest.raises(ValueError):
            bad()


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
