"""Uncertainty of a multi-label model's call on a slice; bigger always means less sure.

The model gives one sigmoid per finding, so each finding is a Bernoulli variable: the
slice's entropy is the sum of its findings' binary entropies, and its margin is how close
the most borderline finding is to its threshold. Measures are registered in a plain dict so
the scoring job can pick one by name.
"""

from collections.abc import Callable

import numpy as np


def _as_probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"expected probabilities (N, K), got shape {p.shape}")
    return np.clip(p, 0.0, 1.0)


def binary_entropy(probs: np.ndarray) -> np.ndarray:
    """Sum over findings of each finding's Bernoulli entropy, in nats (N,): 0 when every
    probability is 0 or 1, K·ln 2 when all are 0.5."""
    p = _as_probs(probs)
    q = 1.0 - p
    # 0 * log 0 is taken as 0; np.where keeps log(0) = -inf out of the product
    h = -(p * np.log(np.where(p > 0, p, 1.0)) + q * np.log(np.where(q > 0, q, 1.0)))
    return np.maximum(h.sum(axis=1), 0.0)


def margin(probs: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """1 - the smallest distance of a finding's probability to its threshold (N,): 1 when a
    finding sits exactly on its threshold."""
    p = _as_probs(probs)
    t = np.full(p.shape[1], 0.5) if thresholds is None else np.asarray(thresholds, float)
    return 1.0 - np.abs(p - t).min(axis=1)


MEASURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "entropy": binary_entropy,
    "margin": margin,
}
