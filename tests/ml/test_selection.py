"""Selection: the order in which the vet is shown slices, first = label first."""

import numpy as np
import pytest

from ml.selection import (
    STRATEGIES,
    by_score,
    hybrid,
    order,
    random_order,
    stratified_random,
)


def one_each(n: int, dog: int | None = None, stratum: str = "sagittal/T2W") -> dict:
    """Groups where every row is its own series (no neighbours) of one dog (or its own)."""
    return {
        "series": np.arange(n),
        "position": np.zeros(n, dtype=int),
        "dog": np.arange(n) if dog is None else np.full(n, dog),
        "stratum": np.array([stratum] * n),
    }


def batches(o: np.ndarray, k: int) -> list[np.ndarray]:
    return [o[i : i + k] for i in range(0, len(o), k)]


def is_permutation(o: np.ndarray, n: int) -> bool:
    return o.dtype.kind == "i" and sorted(o.tolist()) == list(range(n))


def test_random_is_reproducible_by_seed():
    a = random_order(50, seed=1)
    assert is_permutation(a, 50)
    np.testing.assert_array_equal(a, random_order(50, seed=1))
    assert not np.array_equal(a, random_order(50, seed=2))


def test_stratified_cold_start_spreads_every_prefix_over_the_strata():
    strata = np.array(["sag/T1W"] * 10 + ["sag/T2W"] * 5 + ["tra/T1W"] * 3 + ["tra/T2W"] * 2)
    o = stratified_random(strata, seed=4)
    assert is_permutation(o, 20)
    assert set(strata[o[:4]]) == set(strata)  # the first four show four strata
    assert all((strata[o[:8]] == s).sum() == 2 for s in set(strata))  # then two of each
    np.testing.assert_array_equal(o, stratified_random(strata, seed=4))
    assert not np.array_equal(o, stratified_random(strata, seed=5))
    assert len(stratified_random([], seed=0)) == 0


def test_scores_order_least_sure_first_and_ties_randomly():
    s = np.array([0.1, 0.9, 0.5])
    np.testing.assert_array_equal(by_score(s, seed=0), [1, 2, 0])
    np.testing.assert_array_equal(by_score(s, seed=0, descending=False), [0, 2, 1])
    ties = [tuple(by_score(np.ones(6), seed=seed)) for seed in range(5)]
    assert len(set(ties)) > 1


def test_entropy_and_bald_take_the_biggest_margin_the_smallest():
    u = {
        "entropy": np.array([0.2, 1.3, 0.7]),
        "bald": np.array([0.05, 0.01, 0.30]),
        "margin": np.array([0.40, 0.02, 0.10]),
    }
    assert order("entropy", uncertainty=u)[0] == 1
    np.testing.assert_array_equal(order("bald", uncertainty=u), [2, 0, 1])
    np.testing.assert_array_equal(order("margin", uncertainty=u), [1, 2, 0])


def test_random_strategy_is_the_stratified_cold_start_and_unknown_names_are_refused():
    groups = one_each(12)
    groups["stratum"] = np.array(["a", "b", "c"] * 4)
    np.testing.assert_array_equal(
        order("random", groups=groups, seed=3), stratified_random(groups["stratum"], seed=3)
    )
    assert set(STRATEGIES) == {"random", "entropy", "margin", "bald", "hybrid"}
    with pytest.raises(ValueError, match="unknown strategy"):
        order("coreset", uncertainty={"entropy": np.ones(3)})
    with pytest.raises(ValueError, match="bald"):
        order("bald", uncertainty={"entropy": np.ones(3)})


def test_hybrid_never_puts_neighbouring_slices_of_a_series_in_one_batch():
    # two series of 10 slices; the model is least sure around slices 4..6 of series 0
    groups = {
        "series": np.repeat([0, 1], 10),
        "position": np.tile(np.arange(10), 2),
        "dog": np.zeros(20, dtype=int),
        "stratum": np.array(["sagittal/T2W"] * 20),
    }
    u = np.concatenate([1.0 - 0.1 * np.abs(np.arange(10) - 5), 0.2 * np.ones(10)])
    for emb in (None, np.random.default_rng(0).normal(size=(20, 4))):
        o = hybrid(u, emb, groups, None, batch=4, seed=0)
        assert is_permutation(o, 20)
        assert o[0] == 5  # the most uncertain starts the first batch
        for b in batches(o, 4)[:3]:
            for i in b:
                for j in b:
                    same = groups["series"][i] == groups["series"][j]
                    near = abs(groups["position"][i] - groups["position"][j]) <= 1
                    assert i == j or not (same and near), (b, i, j)


def test_hybrid_spreads_a_batch_over_dogs_when_it_can():
    # dog 0 is the most uncertain by far, dogs 1 and 2 have two slices each in the pool
    u = np.array([0.9, 0.89, 0.88, 0.87, 0.86, 0.85, 0.84, 0.83, 0.5, 0.5, 0.4, 0.4])
    groups = one_each(12, dog=0)
    groups["dog"] = np.array([0] * 8 + [1, 1, 2, 2])
    o = hybrid(u, None, groups, None, batch=3, seed=0)
    assert set(groups["dog"][o[:3]]) == {0, 1, 2}
    assert o[0] == 0


def test_hybrid_does_not_take_duplicate_slices_together():
    # four looks, each twice, most uncertain first; all one dog and one stratum
    looks = np.eye(4)[[0, 0, 1, 1, 2, 2, 3, 3]] + 0.01
    u = np.linspace(1.0, 0.5, 8)
    o = hybrid(u, looks * 7.0, one_each(8, dog=0), None, batch=4, seed=0)  # scale is ignored
    assert sorted(o[:4].tolist()) == [0, 2, 4, 6]  # one of each look, the surer twin waits
    assert is_permutation(o, 8)


def test_a_likely_rare_finding_comes_forward():
    u = np.array([1.0, 0.9, 0.8, 0.6])
    rare = np.array([0.0, 0.0, 0.0, 0.9])
    groups = one_each(4)
    without = hybrid(u, None, groups, None, batch=2, seed=0)
    boosted = hybrid(u, None, groups, rare, batch=2, seed=0, rare_boost=1.0)
    assert list(without).index(3) == 3
    assert boosted[0] == 3  # 0.6 * (1 + 0.9) = 1.14 beats 1.0
    via_order = order("hybrid", uncertainty={"entropy": u}, groups=groups, rare_probs=rare, batch=2)
    np.testing.assert_array_equal(via_order, boosted)


@pytest.mark.parametrize("n", [0, 1, 3, 37])
@pytest.mark.parametrize("features", [None, 0, 5])
def test_hybrid_orders_every_row_once_whatever_the_sizes(n, features):
    rng = np.random.default_rng(n)
    emb = None if features is None else rng.normal(size=(n, features))
    groups = {
        "series": rng.integers(0, 3, n),
        "position": rng.integers(0, 5, n),  # duplicates too: the batch must still fill
        "dog": rng.integers(0, 2, n),
        "stratum": rng.choice(["sagittal/T1W", "transverse/T2W"], n),
    }
    u, rare = rng.random(n), rng.random(n)
    o = hybrid(u, emb, groups, rare, batch=5, seed=1)
    assert is_permutation(o, n)
    np.testing.assert_array_equal(o, hybrid(u, emb, groups, rare, batch=5, seed=1))


def test_hybrid_batches_only_the_head_and_appends_the_rest_by_uncertainty():
    rng = np.random.default_rng(0)
    u = rng.random(60)
    groups = one_each(60, dog=0)
    o = hybrid(u, rng.normal(size=(60, 3)), groups, None, batch=4, seed=0, max_ranked=12)
    assert is_permutation(o, 60)
    by_u = np.argsort(-u)
    assert set(o[:12]) == set(by_u[:12])
    np.testing.assert_array_equal(o[12:], by_u[12:])


def test_hybrid_is_reproducible_and_refuses_bad_input():
    rng = np.random.default_rng(2)
    groups = one_each(10)
    u, emb = np.ones(10), rng.normal(size=(10, 3))  # all tied: the seed decides
    a = hybrid(u, None, groups, None, batch=3, seed=5)
    np.testing.assert_array_equal(a, hybrid(u, None, groups, None, batch=3, seed=5))
    assert not np.array_equal(a, hybrid(u, None, groups, None, batch=3, seed=6))
    with pytest.raises(ValueError, match="groups lack"):
        hybrid(u, emb, {"series": groups["series"]}, None, batch=3)
    with pytest.raises(ValueError):
        hybrid(u, emb[:5], groups, None, batch=3)
    with pytest.raises(ValueError):
        hybrid(u, emb, groups, None, batch=0)
    with pytest.raises(ValueError):
        hybrid(np.array([np.nan] * 10), emb, groups, None, batch=3)
