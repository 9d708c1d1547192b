"""Uncertainty measures over predicted class probabilities; bigger always means less sure.

Strategies are registered in a plain dict so the scoring job can pick one by name.
"""

from collections.abc import Callable

import numpy as np


def _as_probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"expected probabilities (N, C), got shape {p.shape}")
    return np.clip(p, 0.0, 1.0)  # softmax rounding can leave -0.0 or 1 + 1e-7


def predictive_entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats (N,): 0 for a one-hot row, ln C for a uniform one."""
    p = _as_probs(probs)
    # 0 * log 0 is taken as 0; np.where keeps log(0) = -inf out of the product
    logp = np.log(np.where(p > 0, p, 1.0))
    return np.maximum(-(p * logp).sum(axis=1), 0.0)


def margin(probs: np.ndarray) -> np.ndarray:
    """1 - (top probability - runner-up) (N,): 1 when the top two tie, 0 when one-hot."""
    p = _as_probs(probs)
    if p.shape[1] == 1:
        return np.zeros(len(p))  # a single class is always certain
    top2 = np.sort(p, axis=1)[:, -2:]  # (N, 2): runner-up, top
    return 1.0 - (top2[:, 1] - top2[:, 0])


def least_confidence(probs: np.ndarray) -> np.ndarray:
    """1 - top probability (N,)."""
    return 1.0 - _as_probs(probs).max(axis=1)


MEASURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "entropy": predictive_entropy,
    "margin": margin,
    "least_confidence": least_confidence,
}
