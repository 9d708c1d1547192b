"""The labeling order of the training pool under the served model (no torch here).

Called when a version's scores are written: it reads the open training-dog items' scores,
embeddings and predictions, lets `ml.selection` order them by the strategy named in
settings (DACHS_AL_STRATEGY), and writes that order into the queue's indexed priority, so a
claim stays an index scan whatever the strategy. Validation and test dogs' slices keep
their stratified random order (held out), and before any model the queue follows its
stratified random base order (the cold start). Labels given after scoring only remove
items; the order is recomputed at the next scoring.
"""

import logging

import numpy as np
from django.conf import settings

from annotator.imaging.models import Instance
from annotator.learning.models import Embedding, ModelVersion, Prediction, Score
from annotator.vocab import Finding
from annotator.worklist import items
from annotator.worklist.models import QueueItem
from ml import selection

log = logging.getLogger(__name__)

RARE = [Finding.FCE_ANNPE.value, Finding.SYRINGOMYELIA.value, Finding.NEOPLASIA.value]


def rank_queue(version: ModelVersion, strategy: str | None = None, batch: int | None = None) -> int:
    """Write the order of the open training-pool items under `version`; returns how many
    items got a rank. Items the version has not scored keep priority -1 (after the rest).
    A batch (what hybrid spreads) is the next RETRAIN_EVERY items unless given."""
    strategy = strategy or settings.AL_STRATEGY
    batch = batch or settings.RETRAIN_EVERY
    pool = list(
        QueueItem.objects.filter(done=False, held_out=False)
        .order_by("instance_id")
        .values_list("instance_id", flat=True)
    )
    measures = _scores(version)
    ids = [pk for pk in pool if all(pk in measures[m] for m in measures)]
    if not ids:
        return 0
    uncertainty = {m: np.array([measures[m][pk] for pk in ids]) for m in measures}
    order = selection.order(
        strategy,
        uncertainty=uncertainty,
        embeddings=_embeddings(version, ids),
        groups=_groups(ids),
        rare_probs=_rare_probs(version, ids),
        batch=max(1, batch),
        seed=settings.QUEUE_SHUFFLE_SEED + version.pk,
    )
    # first in the order gets the highest priority; every ranked item is above -1
    priorities = [(ids[row], float(len(order) - position)) for position, row in enumerate(order)]
    written = items.set_priorities(priorities)
    log.info("queue ranked by %s under model v%s: %d items", strategy, version.pk, written)
    return written


# The open training pool, as a join rather than a list of ids: a pool of tens of thousands
# of slices would overflow a database's limit on query parameters.
OPEN = {"queue_item__done": False, "queue_item__held_out": False}
OPEN_VIA_INSTANCE = {f"instance__{key}": value for key, value in OPEN.items()}


def _scores(version: ModelVersion) -> dict[str, dict[int, float]]:
    wanted = {m: {} for m in (Score.Measure.ENTROPY, Score.Measure.MARGIN, Score.Measure.BALD)}
    rows = Score.objects.filter(
        model=version, measure__in=list(wanted), **OPEN_VIA_INSTANCE
    ).values_list("instance_id", "measure", "value")
    for pk, measure, value in rows.iterator(chunk_size=5000):
        wanted[measure][pk] = value
    return {str(m): values for m, values in wanted.items()}


def _embeddings(version: ModelVersion, ids: list[int]) -> np.ndarray | None:
    rows = Embedding.objects.filter(model=version, **OPEN_VIA_INSTANCE).values_list(
        "instance_id", "vector"
    )
    vectors = dict(rows.iterator(chunk_size=5000))
    if any(pk not in vectors for pk in ids):
        return None
    return np.stack([np.frombuffer(bytes(vectors[pk]), dtype="<f2") for pk in ids]).astype(
        np.float32
    )


def _rare_probs(version: ModelVersion, ids: list[int]) -> np.ndarray:
    rows = Prediction.objects.filter(model=version, **OPEN_VIA_INSTANCE).values_list(
        "instance_id", "probabilities"
    )
    probs = dict(rows.iterator(chunk_size=5000))
    return np.array(
        [max((probs.get(pk) or {}).get(f, 0.0) for f in RARE) for pk in ids], dtype=np.float64
    )


def _groups(ids: list[int]) -> dict[str, np.ndarray]:
    """Series, slice position within its series, dog and series type (plane/weighting)."""
    fields = ("id", "series_id", "series__study__dog_id", "series__plane", "series__sequence")
    rows = {
        pk: (series, dog, f"{plane}/{sequence}")
        for pk, series, dog, plane, sequence in Instance.objects.filter(**OPEN)
        .values_list(*fields)
        .iterator(chunk_size=5000)
    }
    positions = _positions()
    return {
        "series": np.array([rows[pk][0] for pk in ids], dtype=np.int64),
        "position": np.array([positions[pk] for pk in ids], dtype=np.int64),
        "dog": np.array([rows[pk][1] for pk in ids], dtype=np.int64),
        "stratum": np.array([rows[pk][2] for pk in ids]),
    }


def _positions() -> dict[int, int]:
    """Each slice of the pool's series: its index within the series, by position along the
    normal (then number)."""
    pool_series = Instance.objects.filter(**OPEN).values("series_id")
    rows = Instance.objects.filter(series_id__in=pool_series).values_list(
        "id", "series_id", "position_mm", "instance_number"
    )
    by_series: dict[int, list[tuple]] = {}
    for pk, series, position, number in rows.iterator(chunk_size=5000):
        key = (position is None, position or 0.0, number is None, number or 0, pk)
        by_series.setdefault(series, []).append((key, pk))
    return {
        pk: index for members in by_series.values() for index, (_, pk) in enumerate(sorted(members))
    }
