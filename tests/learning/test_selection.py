"""The labeling queue follows the selection strategy named in settings.

Scores are written by hand here (the worker test covers real scoring); what Alice is
served next is what these tests check.
"""

import numpy as np
import pytest

from annotator.learning import registry, selection
from annotator.learning.models import Embedding, ModelVersion, Prediction, Score, TrainingRun
from annotator.worklist.claim import claim
from annotator.worklist.models import QueueItem
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_slice_at_a_time(settings):
    settings.QUEUE_LOOKAHEAD, settings.QUEUE_HELD_OUT_SHARE = 0, 0.0
    settings.RETRAIN_EVERY = 4


def served_model() -> ModelVersion:
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    version = ModelVersion.objects.create(run=run, checkpoint_key=f"ck/{run.pk}.pt")
    registry.promote_if_chosen(version, 0.9, None, None)
    return version


def scored_pool(version, *, entropy, margin=None, bald=None, rare=None, vectors=None):
    """Two dogs' sagittal T2W series of 6 slices each, scored in instance order."""
    instances = [
        i
        for s in (make_series(slices=6), make_series(slices=6))
        for i in s.instances.order_by("id")
    ]
    n = len(instances)
    margin = margin if margin is not None else [0.3] * n
    bald = bald if bald is not None else [0.0] * n
    rare = rare if rare is not None else [0.0] * n
    vectors = vectors if vectors is not None else np.eye(n, 8, dtype=np.float32)
    for k, instance in enumerate(instances):
        for measure, values in (("entropy", entropy), ("margin", margin), ("bald", bald)):
            Score.objects.create(instance=instance, model=version, measure=measure, value=values[k])
        probs = {"ivde": 0.1, "neoplasia": rare[k], "unremarkable": 0.5}
        Prediction.objects.create(
            instance=instance, model=version, finding="ivde", probabilities=probs
        )
        vector = np.asarray(vectors[k], dtype="<f2").tobytes()
        Embedding.objects.create(instance=instance, model=version, vector=vector)
    return instances


def served_order(user) -> list[int]:
    order = []
    while (label := label_next(user, ["unremarkable"])) is not None:
        order.append(label.instance_id)
    return order


@pytest.mark.parametrize("strategy", ["entropy", "bald"])
def test_the_most_uncertain_slice_is_served_first(strategy, alice, settings):
    version = served_model()
    values = [0.1, 0.9, 0.5, 0.7, 0.2, 0.3, 0.8, 0.6, 0.05, 0.4, 0.35, 0.15]
    other = [0.0] * 12
    if strategy == "entropy":
        instances = scored_pool(version, entropy=values, bald=other)
    else:
        instances = scored_pool(version, entropy=other, bald=values)
    selection.rank_queue(version, strategy)
    by_value = dict(zip([i.pk for i in instances], values, strict=True))
    assert [by_value[pk] for pk in served_order(alice)] == sorted(values, reverse=True)


def test_margin_serves_the_slice_nearest_a_threshold_first(alice):
    version = served_model()
    margins = [0.4, 0.01, 0.3, 0.2, 0.45, 0.05, 0.35, 0.1, 0.25, 0.15, 0.33, 0.49]
    instances = scored_pool(version, entropy=[0.0] * 12, margin=margins)
    selection.rank_queue(version, "margin")
    by_value = dict(zip([i.pk for i in instances], margins, strict=True))
    assert [by_value[pk] for pk in served_order(alice)] == sorted(margins)


def test_random_ignores_the_scores_and_is_the_same_for_the_same_model(alice):
    version = served_model()
    scored_pool(version, entropy=list(np.linspace(1, 0, 12)))
    selection.rank_queue(version, "random")
    priorities = dict(QueueItem.objects.values_list("instance_id", "priority"))
    selection.rank_queue(version, "random")
    assert dict(QueueItem.objects.values_list("instance_id", "priority")) == priorities
    order = served_order(alice)
    assert len(order) == 12
    assert order != sorted(order)  # not the instance (= entropy) order


def test_hybrid_never_puts_neighbouring_slices_of_a_series_in_one_batch(alice):
    version = served_model()
    # the most uncertain slices are neighbours in the first series
    entropy = [0.99, 0.98, 0.97, 0.96, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4]
    instances = scored_pool(version, entropy=entropy)
    selection.rank_queue(version, "hybrid")
    position = {i.pk: (i.series_id, i.instance_number) for i in instances}
    order = served_order(alice)
    batch = [position[pk] for pk in order[:4]]  # a batch is RETRAIN_EVERY = 4 slices
    for a in batch:
        for b in batch:
            assert a == b or a[0] != b[0] or abs(a[1] - b[1]) > 1, batch
    # both dogs are in the first batch, and it starts with the most uncertain slice
    assert len({series for series, _ in batch}) == 2
    assert order[0] == instances[0].pk


def test_hybrid_brings_a_slice_the_model_thinks_rare_forward(alice):
    version = served_model()
    entropy = [0.5] * 11 + [0.3]
    plain = scored_pool(version, entropy=entropy)
    selection.rank_queue(version, "hybrid")
    late = served_order(alice).index(plain[-1].pk)
    ModelVersion.objects.all().delete()  # cascade: a fresh pool and model

    version = served_model()
    boosted = scored_pool(version, entropy=entropy, rare=[0.0] * 11 + [0.95])
    selection.rank_queue(version, "hybrid")
    assert served_order(alice).index(boosted[-1].pk) < late


def test_slices_the_model_has_not_scored_come_after_the_ranked_ones(alice):
    version = served_model()
    ranked = scored_pool(version, entropy=list(np.linspace(0.1, 0.9, 12)))
    unscored = list(make_series(slices=3).instances.values_list("pk", flat=True))
    selection.rank_queue(version, "entropy")
    order = served_order(alice)
    assert set(order[:12]) == {i.pk for i in ranked}
    assert set(order[12:]) == set(unscored)


def test_labels_given_after_scoring_only_remove_slices_from_the_order(alice, bob):
    version = served_model()
    values = list(np.linspace(0.9, 0.1, 12))
    instances = scored_pool(version, entropy=values)
    selection.rank_queue(version, "entropy")
    first = claim(bob).current
    assert first.pk == instances[0].pk
    label_next(bob, ["ivde"])
    assert served_order(alice) == [i.pk for i in instances[1:]]
