"""How unsure a multi-label model is about a slice, one number per slice.

The model gives one sigmoid per finding, so each finding is a Bernoulli variable:

- entropy: the sum of the findings' binary entropies; bigger is less sure.
- margin: the smallest distance of a finding's probability to its threshold; *smaller* is
  less sure (a finding sits on the fence), so selection takes the smallest margins first.
- BALD: the mutual information between each finding's Bernoulli output and the weights,
  estimated from MC-dropout passes and summed over findings; bigger is less sure. It is
  high where the passes disagree, not where they agree on 0.5 (a slice that is ambiguous
  whoever looks at it teaches the model little).

All values are float64 and in nats where they are entropies.
"""

from collections.abc import Callable

import numpy as np


def _as_probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"expected probabilities (N, K), got shape {p.shape}")
    return np.clip(p, 0.0, 1.0)


def _bernoulli_entropy(p: np.ndarray) -> np.ndarray:
    """Elementwise entropy (nats) of Bernoulli variables with probabilities p in [0, 1]."""
    q = 1.0 - p
    # 0 * log 0 is taken as 0; np.where keeps log(0) = -inf out of the product
    return -(p * np.log(np.where(p > 0, p, 1.0)) + q * np.log(np.where(q > 0, q, 1.0)))


def binary_entropy(probs: np.ndarray) -> np.ndarray:
    """Sum over findings of each finding's Bernoulli entropy, in nats (N,) from probabilities
    (N, K): 0 when every probability is 0 or 1, K·ln 2 when all are 0.5."""
    return np.maximum(_bernoulli_entropy(_as_probs(probs)).sum(axis=1), 0.0)


def margin(probs: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """The smallest distance |p_k - t_k| over findings (N,) from probabilities (N, K).

    Smaller means less sure: 0 when some finding sits exactly on its threshold. Thresholds
    are (K,) (one per finding) or (N, K) (one per row); None means 0.5 for every finding.
    """
    p = _as_probs(probs)
    if thresholds is None:
        t = np.full(p.shape[1], 0.5)
    else:
        t = np.asarray(thresholds, dtype=np.float64)
        if t.shape not in {(p.shape[1],), p.shape}:
            raise ValueError(f"thresholds {t.shape} fit neither ({p.shape[1]},) nor {p.shape}")
    return np.abs(p - t).min(axis=1)


def bald(samples: np.ndarray) -> np.ndarray:
    """BALD from MC-dropout probabilities (T, N, K) -> (N,) nats, >= 0.

    Per finding, H(mean over passes of p) - mean over passes of H(p), with H the binary
    entropy; summed over findings. 0 when every pass gives the same probabilities.
    """
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != 3 or s.shape[0] == 0 or s.shape[2] == 0:
        raise ValueError(f"expected MC samples (T, N, K) with T, K >= 1, got shape {s.shape}")
    s = np.clip(s, 0.0, 1.0)
    total = _bernoulli_entropy(s.mean(axis=0))  # (N, K)
    expected = _bernoulli_entropy(s).mean(axis=0)  # (N, K)
    # rounding can leave a tiny negative where the passes agree
    return np.maximum((total - expected).sum(axis=1), 0.0)


MEASURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "entropy": binary_entropy,
    "margin": margin,
}
"""The measures of one set of probabilities (N, K), by name. BALD is not here: it needs the
MC-dropout samples (T, N, K), see ml/mc.py."""
