"""Which slices the vet labels next: orderings of candidate rows, first = label first.

Each strategy turns stored per-slice numbers (uncertainties, embeddings, where the slice
comes from) into a permutation of the row indices. Pure numpy and deterministic given the
seed, so the queue a vet sees can be rebuilt and a strategy can be replayed offline.

- random: stratified random, the cold-start order and the baseline for the others.
- entropy, bald: the least sure first (biggest score); margin: the smallest margin first.
- hybrid: batches that are unsure *and* unlike each other, see ``hybrid``.
"""

from collections.abc import Hashable, Iterable, Mapping

import numpy as np

STRATEGIES = ("random", "entropy", "margin", "bald", "hybrid")
GROUP_KEYS = ("series", "position", "dog", "stratum")
RARE_BOOST = 4.0  # a sure-positive rare finding counts five times a slice's uncertainty in hybrid
MAX_RANKED = 2000  # hybrid orders this many rows; the rest follow by uncertainty


def random_order(n: int, seed: int) -> np.ndarray:
    """A random permutation of range(n), (n,) int64."""
    return np.random.default_rng(seed).permutation(n)


def _codes(labels: Iterable[Hashable]) -> np.ndarray:
    """Hashable labels (N,) -> int codes (N,), numbered in order of first appearance."""
    index: dict = {}
    return np.array([index.setdefault(label, len(index)) for label in labels], dtype=np.int64)


def stratified_random(strata: Iterable[Hashable], seed: int) -> np.ndarray:
    """Cold start: rows (N,) labelled by stratum (e.g. "sagittal/T1W") -> order (N,).

    Strata take turns in a random order, each giving a random row of its own, so every
    prefix of the order is spread over plane × weighting: the first S rows show S strata,
    the first 2S two rows of each (while each stratum lasts).
    """
    codes = _codes(strata)
    perm = random_order(len(codes), seed)
    turn = _codes(codes[perm])  # a stratum's turn is where its first row fell in the shuffle
    within = np.empty(len(perm), dtype=np.int64)  # rank of the row inside its stratum
    taken = np.zeros(len(np.unique(turn)), dtype=np.int64)
    for i, t in enumerate(turn):
        within[i] = taken[t]
        taken[t] += 1
    return perm[np.lexsort((turn, within))]  # round by round, strata in turn order


def by_score(scores: np.ndarray, seed: int, descending: bool = True) -> np.ndarray:
    """Rows (N,) by score, highest first (lowest first with descending=False); ties in random
    order, NaN last. Entropy and BALD go descending, margin ascending."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"expected scores (N,), got shape {s.shape}")
    perm = random_order(len(s), seed)
    key = -s[perm] if descending else s[perm]
    return perm[np.argsort(key, kind="stable")]


def _unit_rows(embeddings: np.ndarray | None, n: int) -> np.ndarray:
    """Embeddings (n, F) scaled to unit length (zero rows stay zero); (n, 0) when None."""
    if embeddings is None:
        return np.zeros((n, 0))
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) != n:
        raise ValueError(f"expected embeddings ({n}, F), got shape {e.shape}")
    if not np.isfinite(e).all():
        raise ValueError("embeddings must be finite")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    return e / np.where(norms > 0, norms, 1.0)


def _near(rows: np.ndarray, chosen: list, series: np.ndarray, position: np.ndarray):
    """(len(rows),) bool: the row is a chosen row or its neighbour slice in the same series."""
    near = np.zeros(len(rows), dtype=bool)
    for c in chosen:
        near |= (series[rows] == series[c]) & (np.abs(position[rows] - position[c]) <= 1)
    return near


def _batch(ranked: np.ndarray, k: int, pool_size: int, emb: np.ndarray, g: dict) -> list:
    """Up to k row indices for one batch from ``ranked`` (most uncertain first)."""
    want = min(k, len(ranked))
    pool = ranked[:pool_size]
    e = emb[pool]  # (P, F)
    series, position, dog, stratum = (g[key][pool] for key in GROUP_KEYS)
    blocked = np.zeros(len(pool), dtype=bool)  # chosen, or next to a chosen slice
    dogs = np.zeros(len(pool), dtype=np.int64)  # picks so far of the row's dog
    strata = np.zeros(len(pool), dtype=np.int64)  # picks so far of the row's stratum
    dist = np.full(len(pool), np.inf)  # distance to the nearest pick (k-center)
    chosen: list = []
    while len(chosen) < want:
        open_ = np.flatnonzero(~blocked)
        if not len(open_):
            break
        best = open_[dogs[open_] == dogs[open_].min()]
        best = best[strata[best] == strata[best].min()]
        i = best[np.argmax(dist[best])]  # the first of equals: the most uncertain
        chosen.append(pool[i])
        blocked |= (series == series[i]) & (np.abs(position - position[i]) <= 1)
        dogs += dog == dog[i]
        strata += stratum == stratum[i]
        dist = np.minimum(dist, np.linalg.norm(e - e[i], axis=1))
    if len(chosen) < want:  # the pool ran out of slices that are not neighbours
        rest = ranked[~_near(ranked, chosen, g["series"], g["position"])]
        chosen += list(rest[: want - len(chosen)])
    if len(chosen) < want:  # only neighbours left (a short series): take them after all
        rest = ranked[~np.isin(ranked, chosen)]
        chosen += list(rest[: want - len(chosen)])
    return chosen


def hybrid(
    uncertainty: np.ndarray,
    embeddings: np.ndarray | None,
    groups: Mapping[str, np.ndarray],
    rare_probs: np.ndarray | None,
    batch: int,
    *,
    pool_factor: int = 4,
    rare_boost: float = RARE_BOOST,
    seed: int = 0,
    max_ranked: int = MAX_RANKED,
) -> np.ndarray:
    """Batches of unsure, varied slices -> order (N,) of all rows.

    uncertainty (N,) >= 0, bigger = less sure; embeddings (N, F) or None; groups holds (N,)
    arrays "series", "position" (slice index in its series), "dog", "stratum"; rare_probs
    (N,) the highest predicted probability over the rare findings, or None.

    Rows are ranked by boosted uncertainty, uncertainty * (1 + rare_boost * rare_probs), so
    a likely rare finding comes forward. Each batch of ``batch`` rows is then picked from
    the top ``pool_factor * batch`` remaining rows, starting from the most uncertain and
    taking in turn the row that, among those not next to a chosen slice of the same series
    (|position difference| <= 1), has a dog with the fewest picks in the batch, then a
    stratum with the fewest, then is farthest from the batch in cosine distance of the
    embeddings (greedy k-center). Without embeddings the last step falls back to the
    uncertainty order. A batch the pool cannot fill takes the next non-neighbours by
    uncertainty, then neighbours. Only the first ``max_ranked`` rows are batched like this;
    the rest follow in boosted-uncertainty order, as no one labels that far before the
    next scoring.
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    if u.ndim != 1 or not np.isfinite(u).all():
        raise ValueError(f"expected finite uncertainty (N,), got shape {u.shape}")
    n = len(u)
    if batch < 1 or pool_factor < 1 or max_ranked < 0:
        raise ValueError(f"need batch, pool_factor >= 1, max_ranked >= 0: {batch=}, {pool_factor=}")
    missing = [key for key in GROUP_KEYS if key not in groups]
    if missing:
        raise ValueError(f"groups lack {missing}")
    if any(len(groups[key]) != n for key in GROUP_KEYS):
        raise ValueError(f"every group array must have {n} rows")
    g = {key: _codes(groups[key]) for key in ("series", "dog", "stratum")}
    g["position"] = np.asarray(groups["position"], dtype=np.int64)
    rare = np.zeros(n) if rare_probs is None else np.asarray(rare_probs, dtype=np.float64)
    if rare.shape != (n,):
        raise ValueError(f"expected rare_probs ({n},), got shape {rare.shape}")
    emb = _unit_rows(embeddings, n)

    ranked = by_score(u * (1.0 + rare_boost * rare), seed)
    remaining, tail = ranked[:max_ranked], ranked[max_ranked:]
    out = []
    while len(remaining):
        chosen = _batch(remaining, batch, pool_factor * batch, emb, g)
        out.append(np.array(chosen, dtype=np.int64))
        remaining = remaining[~np.isin(remaining, chosen)]
    return np.concatenate([*out, tail])


def order(
    strategy: str,
    *,
    uncertainty: Mapping[str, np.ndarray] | None = None,
    embeddings: np.ndarray | None = None,
    groups: Mapping[str, np.ndarray] | None = None,
    rare_probs: np.ndarray | None = None,
    batch: int = 25,
    seed: int = 0,
) -> np.ndarray:
    """The order (N,) of the candidate rows under a strategy named in STRATEGIES.

    ``uncertainty`` maps "entropy", "margin", "bald" to (N,) arrays (only the one the
    strategy reads is needed); "random" and "hybrid" need ``groups`` (see ``hybrid``).
    Hybrid ranks by entropy: it needs no MC passes, and the batch's spread over embeddings
    does the work of keeping it from taking many slices alike.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    if strategy in ("random", "hybrid") and groups is None:
        raise ValueError(f"strategy {strategy!r} needs groups")
    if strategy == "random":
        return stratified_random(groups["stratum"], seed)
    measure = "entropy" if strategy == "hybrid" else strategy
    if uncertainty is None or measure not in uncertainty:
        raise ValueError(f"strategy {strategy!r} needs uncertainty[{measure!r}]")
    scores = uncertainty[measure]
    if strategy == "hybrid":
        return hybrid(scores, embeddings, groups, rare_probs, batch, seed=seed)
    return by_score(scores, seed, descending=strategy != "margin")
