"""Raw agreement, Cohen's kappa and Fleiss' kappa, each with a 95% percentile-bootstrap
interval over slices.

The point estimates come from statsmodels. The bootstrap does not call statsmodels once per
resample (on 500 slices, 1000 Fleiss' kappas through statsmodels take about a second, and
the page shows seven of them and 36 Cohen's kappas): it writes the same formulas on numpy
arrays, and a test holds the two equal. A resample draws n slices with
replacement and keeps only how often each slice was drawn, so every statistic of every
resample is one matrix product over per-slice counts.

Kappa is undefined when chance agreement is 1 (every rating the same category): the value
is then None with the reason, never NaN. Resamples in which kappa is undefined are left out
of the percentiles; when none is defined the interval is None.

Plain numpy: no Django, so it can be tested and reused on its own.
"""

from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
SEED = 20240607  # fixed, so the same labels always show the same intervals
NO_SLICES = "no slices to compare"
ALL_SAME = "every read gave the same rating, so agreement by chance is 1 and kappa is undefined"
# Chance agreement this close to 1 counts as 1: float sums of marginals are not exact.
_EPS = 1e-12


@dataclass(frozen=True)
class Estimate:
    """A statistic, its 95% interval, and why it is None when it is undefined."""

    value: float | None
    ci: tuple[float, float] | None
    undefined: str | None = None


def resample_weights(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, n) multiplicities: row r says how often each slice occurs in resample r.
    Floats, so the products with per-slice counts run as BLAS matrix products."""
    if n == 0:
        return np.zeros((resamples, 0))
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    flat = (picks + n * np.arange(resamples)[:, None]).ravel()  # row r's picks in block r
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n).astype(np.float64)


def interval(samples: np.ndarray) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of the defined (finite) resampled values."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def raw_agreement(agree: np.ndarray, weights: np.ndarray) -> Estimate:
    """The share of slices on which the reads agree; `agree` holds one bool per slice."""
    n = len(agree)
    if n == 0:
        return Estimate(None, None, NO_SLICES)
    agree = np.asarray(agree, dtype=np.float64)
    return Estimate(float(agree.mean()), interval(weights @ agree / n))


# Cohen's kappa on a 2x2 table of two readers' present/absent ratings. Cells per slice in
# this order: both present, only the first, only the second, neither.
BOTH, ONLY_FIRST, ONLY_SECOND, NEITHER = range(4)


def cells(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(n, 4) one-hot rows: which cell of the 2x2 table each slice falls in."""
    first, second = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    code = np.where(first, np.where(second, BOTH, ONLY_FIRST), np.where(second, ONLY_SECOND, 3))
    return np.eye(4, dtype=np.int64)[code].reshape(len(first), 4)


def cohen_from_counts(counts: np.ndarray) -> np.ndarray:
    """Cohen's kappa from (..., 4) cell counts; NaN where chance agreement is 1."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (counts[..., BOTH] + counts[..., NEITHER]) / n
        first_yes = (counts[..., BOTH] + counts[..., ONLY_FIRST]) / n
        second_yes = (counts[..., BOTH] + counts[..., ONLY_SECOND]) / n
        chance = first_yes * second_yes + (1 - first_yes) * (1 - second_yes)
        kappa = (observed - chance) / (1 - chance)
    return np.where(chance >= 1 - _EPS, np.nan, kappa)


def cohen_kappa(first: np.ndarray, second: np.ndarray, weights: np.ndarray) -> Estimate:
    """Cohen's kappa of two readers' present/absent ratings of the same slices."""
    if len(first) == 0:
        return Estimate(None, None, NO_SLICES)
    from statsmodels.stats.inter_rater import cohens_kappa

    one_hot = cells(first, second)
    counts = one_hot.sum(axis=0)
    if np.isnan(cohen_from_counts(counts)):
        return Estimate(None, None, ALL_SAME)
    table = np.array([[counts[BOTH], counts[ONLY_FIRST]], [counts[ONLY_SECOND], counts[NEITHER]]])
    value = float(cohens_kappa(table, return_results=False))
    return Estimate(value, interval(cohen_from_counts(weights @ one_hot)))


def category_counts(ratings: np.ndarray, categories: int) -> np.ndarray:
    """(n, categories): how many of a slice's raters chose each category (codes 0..k-1)."""
    ratings = np.asarray(ratings, dtype=np.int64)
    counts = np.zeros((len(ratings), categories), dtype=np.int64)
    for rater in ratings.T:
        counts[np.arange(len(ratings)), rater] += 1
    return counts


def fleiss_from_counts(agreement: np.ndarray, totals: np.ndarray, n: int, raters: int):
    """Fleiss' kappa from summed per-slice agreement P_i and summed category counts; NaN
    where chance agreement is 1. Works on one sum or a (resamples, ...) stack of them."""
    observed = np.asarray(agreement, dtype=np.float64) / n
    shares = np.asarray(totals, dtype=np.float64) / (n * raters)
    chance = (shares**2).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = (observed - chance) / (1 - chance)
    return np.where(chance >= 1 - _EPS, np.nan, kappa)


def fleiss_kappa(ratings: np.ndarray, categories: int, weights: np.ndarray) -> Estimate:
    """Fleiss' kappa of `ratings`, (n slices, raters) category codes, same raters per slice."""
    ratings = np.asarray(ratings, dtype=np.int64)
    n = len(ratings)
    if n == 0:
        return Estimate(None, None, NO_SLICES)
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    raters = ratings.shape[1]
    counts = category_counts(ratings, categories)
    # P_i, the share of agreeing rater pairs on slice i
    per_slice = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    if np.isnan(fleiss_from_counts(per_slice.sum(), counts.sum(axis=0), n, raters)):
        return Estimate(None, None, ALL_SAME)
    table, _ = aggregate_raters(ratings, n_cat=categories)
    value = float(statsmodels_fleiss(table))
    resampled = fleiss_from_counts(weights @ per_slice, weights @ counts, n, raters)
    return Estimate(value, interval(resampled))
