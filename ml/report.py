"""The evaluation report in the shape of the reference study's Table 2, over plain arrays.

Biercher et al. (2021) report, per class and per plane x sequence (sagittal/transverse x
T1W/T2W), one-vs-rest per-image sensitivity and specificity. This module builds that table
for a *multi-label* model: one sigmoid per lesion finding, and "unremarkable" meaning that no
finding is above its threshold. Beside the table it gives the counts behind every cell (so a
reader sees how many images a percentage rests on), 95% Wilson intervals, threshold-free
AUROCs, a within-dog AUROC (which a dog-level confounder such as the scanner cannot inflate),
a dog-level summary, a confusion matrix and ROC curves.

Everything is a pure function of numpy arrays; everything returned is JSON-serialisable
(plain ints, floats, lists, dicts, None). Undefined ratios are None, never NaN: NaN is not
valid JSON and "no positives to find" is not a number.

Conventions used throughout:

* a finding is *called* on an image when its probability is ``>=`` its threshold;
* "unremarkable" is true when an image has no true finding, and called when no finding is
  called; its continuous score (for AUROC and ROC) is ``1 - max lesion probability``, so
  thresholding that score at ``1 - t`` matches "no lesion above t" when all thresholds are t.
"""

import math
from collections.abc import Sequence

import numpy as np

UNREMARKABLE = "unremarkable"


# --- small helpers ------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (95% for z=1.96); None when n is 0.

    Preferred over the normal approximation because it stays inside 0..1 and behaves at
    small n and at 0% or 100%, which per-class counts in a small study often hit.
    """
    if n == 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..n, got {successes}/{n}")
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _ci(num: int, den: int) -> list[float] | None:
    ci = wilson_interval(num, den)
    return None if ci is None else [float(ci[0]), float(ci[1])]


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` with tied values sharing the mean of their ranks."""
    n = len(values)
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    # start index of each run of equal values, plus n as the end of the last run
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], n]
    # ranks start+1 .. end share the mean (start + 1 + end) / 2
    run_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(run_rank, ends - starts)
    return ranks


def _mann_whitney(scores: np.ndarray, positive: np.ndarray) -> tuple[float, int, int]:
    """(U, n_pos, n_neg): U counts the (positive, negative) pairs the positive outranks, a tie
    counting one half. U / (n_pos * n_neg) is the AUROC."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.0, n_pos, n_neg
    ranks = _average_ranks(scores)
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2.0
    return u, n_pos, n_neg


def _as_scores_and_labels(scores, positive) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(positive)
    if s.ndim != 1 or p.shape != s.shape:
        raise ValueError(f"scores {s.shape} and positive {p.shape} must be 1-D of equal length")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite (no NaN or inf)")
    return s, _as_bool(p, "positive")


def _as_bool(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == bool:
        return a
    if a.size and not np.all(np.isin(a, (0, 1))):
        raise ValueError(f"{name} must be boolean or 0/1")
    return a.astype(bool)


def _counts(truth: np.ndarray, called: np.ndarray) -> dict:
    """One-vs-rest counts, sensitivity and specificity with Wilson 95% intervals."""
    tp = int(np.sum(truth & called))
    fn = int(np.sum(truth & ~called))
    tn = int(np.sum(~truth & ~called))
    fp = int(np.sum(~truth & called))
    return {
        "tp": tp,
        "fn": fn,
        "tn": tn,
        "fp": fp,
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "sensitivity_ci": _ci(tp, tp + fn),
        "specificity_ci": _ci(tn, tn + fp),
    }


# --- threshold-free measures --------------------------------------------------------------


def auroc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve as the Mann-Whitney statistic, ties counting one half.

    Rank-based rather than integrated from a curve, so it is exact, needs no thresholds and
    treats tied scores the same way the trapezoid rule would. None when there are no
    positives or no negatives: the area is undefined then, and 0.5 would pretend otherwise.
    """
    s, p = _as_scores_and_labels(scores, positive)
    u, n_pos, n_neg = _mann_whitney(s, p)
    if n_pos == 0 or n_neg == 0:
        return None
    return float(u / (n_pos * n_neg))


def roc_curve(scores: np.ndarray, positive: np.ndarray, max_points: int = 101) -> dict:
    """ROC points ``{"fpr", "tpr", "thresholds"}`` for calling ``score >= threshold``.

    One point per distinct score, from (0, 0) to (1, 1). The first point (nothing called)
    has threshold None, because "above every score" has no finite value and inf is not JSON;
    the last point's threshold is the lowest score (everything called). Long curves are
    thinned to at most ``max_points`` points spread evenly along the curve's length
    (|d fpr| + |d tpr|, which is 2 end to end), so a plot of a 7,000-image test set stays
    small yet keeps its shape in both the steep and the flat parts; the two end points are
    always kept. All three lists are empty when either class is empty (no curve exists).
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 to keep (0,0) and (1,1), got {max_points}")
    s, p = _as_scores_and_labels(scores, positive)
    n_pos = int(p.sum())
    n_neg = len(p) - n_pos
    if n_pos == 0 or n_neg == 0:
        return {"fpr": [], "tpr": [], "thresholds": []}
    order = np.argsort(-s, kind="mergesort")
    s_desc, p_desc = s[order], p[order]
    # last index of each run of equal scores: the cumulative counts there include the whole tie
    last = np.flatnonzero(np.r_[s_desc[1:] != s_desc[:-1], True])
    tps = np.cumsum(p_desc)[last]
    fps = (last + 1) - tps
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    thresholds: list[float | None] = [None] + [float(t) for t in s_desc[last]]
    if len(fpr) > max_points:
        length = np.r_[0.0, np.cumsum(np.abs(np.diff(fpr)) + np.abs(np.diff(tpr)))]
        targets = np.linspace(0.0, length[-1], max_points)
        keep = np.unique(np.searchsorted(length, targets).clip(0, len(fpr) - 1))
        keep = np.unique(np.r_[0, keep, len(fpr) - 1])
        fpr, tpr = fpr[keep], tpr[keep]
        thresholds = [thresholds[i] for i in keep]
    return {
        "fpr": [float(x) for x in fpr],
        "tpr": [float(x) for x in tpr],
        "thresholds": thresholds,
    }


# --- thresholds and calls -----------------------------------------------------------------


def _check_probs(probs, name: str = "probs") -> np.ndarray:
    a = np.asarray(probs, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N images, K findings), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def youden_thresholds(probs: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per column, the threshold that maximises Youden's J = Se + Sp - 1 on these data.

    Candidates are the observed distinct scores, each meaning "call ``prob >= score``". The
    returned value is the *midpoint* between the winning score and the next lower distinct
    score (the winning score itself when it is the lowest), so ``probs >= threshold`` makes
    exactly the same calls on these data but the cut does not sit on one training image's
    score, which generalises better. When several scores tie for the best J the highest one
    wins (fewest calls, most specific). A column without positives or without negatives has
    no J to maximise and gets 0.5, the neutral sigmoid cut.
    """
    p = _check_probs(probs)
    t = _as_bool(np.asarray(truth), "truth")
    if t.shape != p.shape:
        raise ValueError(f"probs {p.shape} and truth {t.shape} must have the same shape")
    out = np.full(p.shape[1], 0.5, dtype=np.float64)
    for k in range(p.shape[1]):
        s, y = p[:, k], t[:, k]
        n_pos = int(y.sum())
        n_neg = len(y) - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        order = np.argsort(-s, kind="mergesort")
        s_desc, y_desc = s[order], y[order]
        last = np.flatnonzero(np.r_[s_desc[1:] != s_desc[:-1], True])
        tps = np.cumsum(y_desc)[last]
        fps = (last + 1) - tps
        j = tps / n_pos - fps / n_neg
        best = int(np.argmax(j))  # first maximum in descending order = highest score
        chosen = float(s_desc[last[best]])
        if best + 1 < len(last):
            lower = float(s_desc[last[best + 1]])
            mid = (chosen + lower) / 2.0
            # adjacent floats can round the midpoint down onto the lower score
            out[k] = mid if lower < mid <= chosen else chosen
        else:
            out[k] = chosen
    return out


def calls(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(N, K) bool: finding k called on image i when ``probs[i, k] >= thresholds[k]``.

    ``>=`` so that a threshold taken from an observed score calls that score.
    """
    p = _check_probs(probs)
    th = np.asarray(thresholds, dtype=np.float64)
    if th.shape != (p.shape[1],):
        raise ValueError(f"thresholds {th.shape} must have one value per column of probs {p.shape}")
    if not np.all(np.isfinite(th)):
        raise ValueError("thresholds must be finite")
    return p >= th[None, :]


# --- the report ---------------------------------------------------------------------------


def _within_dog_auroc(
    scores: np.ndarray, positive: np.ndarray, negative: np.ndarray, dog_index: np.ndarray
) -> tuple[float | None, int]:
    """(AUROC over same-dog pairs only, number of dogs that contribute pairs)."""
    u_total = 0.0
    pairs = 0
    n_dogs = 0
    for d in np.unique(dog_index):
        in_dog = dog_index == d
        pos, neg = positive & in_dog, negative & in_dog
        if not pos.any() or not neg.any():
            continue
        keep = pos | neg
        u, n_pos, n_neg = _mann_whitney(scores[keep], pos[keep])
        u_total += u
        pairs += n_pos * n_neg
        n_dogs += 1
    return (float(u_total / pairs) if pairs else None), n_dogs


def _label_array(values, n: int, name: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1 or len(a) != n:
        raise ValueError(f"{name} must be 1-D with one entry per image ({n}), got shape {a.shape}")
    return a


def per_dog_max(
    probs: np.ndarray, truth: np.ndarray, dog_ids: Sequence | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Image rows (N, K) -> dog rows (D, K), dogs in sorted id order: each dog's highest
    probability per finding, and whether any of its images shows the finding."""
    _, dog_index = np.unique(np.asarray(dog_ids).reshape(-1), return_inverse=True)
    dog_index = dog_index.reshape(-1)
    n_dogs = int(dog_index.max()) + 1 if len(dog_index) else 0
    dog_truth = np.zeros((n_dogs, probs.shape[1]), dtype=bool)
    np.logical_or.at(dog_truth, dog_index, np.asarray(truth, dtype=bool))
    dog_max = np.full((n_dogs, probs.shape[1]), -np.inf)
    np.maximum.at(dog_max, dog_index, probs)
    return dog_max, dog_truth


def dog_thresholds(
    probs: np.ndarray, truth: np.ndarray, dog_ids: Sequence | np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """Per finding, the cut for a dog-level call (the dog's highest slice probability),
    maximising Youden's J over dogs rather than slices; ``fallback`` (the slice thresholds)
    where the dogs hold no positive or no negative for a finding.

    A dog's highest probability over some fifty slices runs higher than one slice's, so the
    slice cut applied to it calls far too many dogs (seen: neoplasia called on every test
    dog at a slice cut of 0.02).
    """
    fallback = np.asarray(fallback, dtype=np.float64)
    if not len(probs):
        return fallback.copy()
    dog_max, dog_truth = per_dog_max(_check_probs(probs), truth, dog_ids)
    cuts = youden_thresholds(dog_max, dog_truth)
    defined = dog_truth.any(axis=0) & (~dog_truth).any(axis=0)
    return np.where(defined, cuts, fallback)


def table2(
    probs: np.ndarray,
    truth: np.ndarray,
    thresholds: np.ndarray,
    lesions: list[str],
    planes: Sequence[str] | np.ndarray,
    sequences: Sequence[str] | np.ndarray,
    dog_ids: Sequence | np.ndarray,
    cell_planes: Sequence[str] = ("sagittal", "transverse"),
    cell_sequences: Sequence[str] = ("T1W", "T2W"),
    dog_thresholds: np.ndarray | None = None,
) -> dict:
    """The reference study's Table 2 for a multi-label model, with everything behind it.

    ``probs`` and ``truth`` are (N, K) over the K lesion findings named in ``lesions``; a truth
    row of all False is an unremarkable image. ``planes``, ``sequences`` and ``dog_ids`` give
    each image's plane, weighting and dog. Findings are ordered ``["unremarkable", *lesions]``.

    Keys of the result:

    * ``"cells"``: for every finding x plane x sequence in ``cell_planes`` x ``cell_sequences``
      (finding-major, then plane, then sequence), per-image one-vs-rest counts ``n, tp, fn,
      tn, fp`` among the images of that plane and sequence, ``sensitivity``/``specificity``
      (None on a zero denominator) and their 95% Wilson ``*_ci`` as ``[low, high]`` or None.
      Images of other planes or sequences (dorsal, STIR, ...) appear in no cell but in all
      the other measures.
    * ``"auroc"``: {finding: AUROC over all images or None}; unremarkable scored by
      ``1 - max lesion prob``. ``"macro_auroc"``: the mean of the non-None values of
      ``"auroc"``, *unremarkable included* (None when all are None).
    * ``"within_dog_auroc_per_finding"``: {lesion: AUROC or None} comparing the lesion's
      prob on its positive images only with unremarkable images *of the same dog*: every
      (positive, unremarkable) pair from one dog counts once, pairs across dogs never count,
      so dogs with several positive and unremarkable images weigh more (it is the
      Mann-Whitney AUROC stratified by dog). Only dogs with at least one positive and one
      unremarkable image contribute; ``"within_dog_n_dogs"`` says how many did.
      ``"within_dog_auroc"``: the mean over lesions with a defined value, else None.
      Unlike the plain AUROC it cannot be inflated by whatever separates dogs (scanner,
      field strength, breed) rather than lesions.
    * ``"dogs"``: ``{"n_dogs", "per_finding": {finding: {tp, fn, tn, fp, sensitivity,
      specificity, sensitivity_ci, specificity_ci}}, "thresholds": {lesion: cut}}``. A dog
      is positive for a lesion when any of its images is, and called positive when its
      highest image prob reaches ``dog_thresholds`` (see ``dog_thresholds``; the image
      thresholds when None). A dog is unremarkable when all its images are, and called
      unremarkable when no lesion is called on the dog.
    * ``"confusion"`` with ``"classes"`` (= the finding order): ``confusion[i][j]`` counts
      images of true class i called class j. An image with several true findings counts once
      per true finding (so rows sum to the number of images with that finding, and the total
      exceeds N by the extra findings); an unremarkable image counts once in the
      unremarkable row. The called class is the called lesion with the highest prob (the
      first in ``lesions`` on an exact tie), or unremarkable when none is called.
    * ``"roc"``: {finding: :func:`roc_curve`} with the same scores as ``"auroc"``.
    * ``"n_images"``: N; ``"thresholds"``: {lesion: threshold}.
    """
    p = _check_probs(probs)
    n, k = p.shape
    t = np.asarray(truth)
    if t.shape != p.shape:
        raise ValueError(f"probs {p.shape} and truth {t.shape} must have the same shape")
    t = _as_bool(t, "truth")
    lesions = list(lesions)
    if len(lesions) != k:
        raise ValueError(f"{len(lesions)} lesion names for {k} columns of probs")
    if k == 0:
        raise ValueError("need at least one lesion finding")
    if len(set(lesions)) != k or UNREMARKABLE in lesions:
        raise ValueError(f"lesion names must be unique and not {UNREMARKABLE!r}: {lesions}")
    th = np.asarray(thresholds, dtype=np.float64)
    if th.shape != (k,):
        raise ValueError(f"thresholds {th.shape} must have one value per lesion ({k},)")
    plane_arr = _label_array(planes, n, "planes")
    seq_arr = _label_array(sequences, n, "sequences")
    dog_arr = _label_array(dog_ids, n, "dog_ids")

    called = calls(p, th)
    findings = [UNREMARKABLE, *lesions]
    true_unrem = ~t.any(axis=1)
    called_unrem = ~called.any(axis=1)
    truth_by = {UNREMARKABLE: true_unrem, **{name: t[:, i] for i, name in enumerate(lesions)}}
    called_by = {
        UNREMARKABLE: called_unrem,
        **{name: called[:, i] for i, name in enumerate(lesions)},
    }
    unrem_score = 1.0 - p.max(axis=1)
    score_by = {UNREMARKABLE: unrem_score, **{name: p[:, i] for i, name in enumerate(lesions)}}

    cells = []
    for f in findings:
        for plane in cell_planes:
            for seq in cell_sequences:
                in_cell = (plane_arr == plane) & (seq_arr == seq)
                cell = {"finding": f, "plane": plane, "sequence": seq, "n": int(in_cell.sum())}
                cell.update(_counts(truth_by[f][in_cell], called_by[f][in_cell]))
                cells.append(cell)

    aurocs = {f: auroc(score_by[f], truth_by[f]) for f in findings}
    defined = [v for v in aurocs.values() if v is not None]

    _, dog_index = np.unique(dog_arr, return_inverse=True)
    dog_index = dog_index.reshape(-1)
    within = {}
    within_n = {}
    for i, name in enumerate(lesions):
        within[name], within_n[name] = _within_dog_auroc(p[:, i], t[:, i], true_unrem, dog_index)
    within_defined = [v for v in within.values() if v is not None]

    dog_th = th if dog_thresholds is None else np.asarray(dog_thresholds, dtype=np.float64)
    if dog_th.shape != (k,):
        raise ValueError(f"dog_thresholds {dog_th.shape} must have one value per lesion ({k},)")
    dog_max, dog_truth = per_dog_max(p, t, dog_arr)
    n_dogs = len(dog_max)
    dog_called = dog_max >= dog_th[None, :]
    per_dog = {UNREMARKABLE: _counts(~dog_truth.any(axis=1), ~dog_called.any(axis=1))}
    for i, name in enumerate(lesions):
        per_dog[name] = _counts(dog_truth[:, i], dog_called[:, i])

    # called class per image: 0 = unremarkable, 1 + argmax over called lesions otherwise
    masked = np.where(called, p, -np.inf)
    called_class = np.where(called.any(axis=1), 1 + masked.argmax(axis=1), 0)
    confusion = np.zeros((k + 1, k + 1), dtype=np.int64)
    for img in range(n):
        true_classes = (1 + np.flatnonzero(t[img])).tolist() or [0]
        for c in true_classes:
            confusion[c, called_class[img]] += 1

    return {
        "n_images": int(n),
        "thresholds": {name: float(th[i]) for i, name in enumerate(lesions)},
        "cells": cells,
        "auroc": aurocs,
        "macro_auroc": float(np.mean(defined)) if defined else None,
        "within_dog_auroc": float(np.mean(within_defined)) if within_defined else None,
        "within_dog_auroc_per_finding": within,
        "within_dog_n_dogs": within_n,
        "dogs": {
            "n_dogs": n_dogs,
            "per_finding": per_dog,
            "thresholds": {name: float(dog_th[i]) for i, name in enumerate(lesions)},
        },
        "classes": findings,
        "confusion": confusion.tolist(),
        "roc": {f: roc_curve(score_by[f], truth_by[f]) for f in findings},
    }
