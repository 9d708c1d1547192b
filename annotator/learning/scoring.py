"""Scoring slices with one model version (worker side: imports ml and torch).

One pass over the slices, a batch at a time, with bounded memory: while the model runs on
one batch, a reader thread reads and decodes the next (file reading, DICOM decoding and
torch's kernels release the GIL for most of their time). Per slice it stores the
probabilities and the model's call, three uncertainty measures (predictive entropy, margin
to the thresholds, BALD from MC dropout over features computed once), the heatmap of the
finding the model found most likely, and, for the served version only, the embedding that
spreads a labeling batch. Every batch is written in one transaction, so an interrupted job
keeps what it finished and a rerun skips nothing it needs (rows are unique per version).
"""

import logging
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from django.conf import settings
from django.db import transaction

from annotator.imaging.models import Instance
from annotator.learning import dataset, training
from annotator.learning.models import Embedding, Heatmap, ModelVersion, Prediction, Score
from annotator.review.models import ReviewItem
from annotator.vocab import Finding
from annotator.worklist.models import QueueItem
from ml.lesion_model import LesionModel
from ml.mc import SliceMC, mc_slices
from ml.uncertainty import bald, binary_entropy, margin

log = logging.getLogger(__name__)

BATCH = 64


def open_pool() -> list[int]:
    """Slices that still need a read (what the labeling queue can hand out), and slices
    whose label waits for a reviewer (the review queue ranks them by the model's view)."""
    open_items = QueueItem.objects.filter(done=False).values_list("instance_id", flat=True)
    awaiting_review = ReviewItem.objects.filter(status=ReviewItem.Status.PENDING).values_list(
        "instance_id", flat=True
    )
    return sorted({*open_items, *awaiting_review})


def score(
    version: ModelVersion,
    model: LesionModel,
    instance_ids: list[int],
    keep_embeddings: bool,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Score these slices with `version`; returns how many were scored."""
    done = 0
    for batch, images in _decoded_batches(instance_ids):
        scored = mc_slices(
            model,
            images,
            [i.series.plane for i in batch],
            [i.series.sequence for i in batch],
            passes=settings.MC_PASSES,
            seed=version.pk,
        )
        _write(version, model, batch, images, scored, keep_embeddings)
        _refresh_review_tiers([instance.pk for instance in batch])
        done += len(batch)
        if progress:
            progress(done, len(instance_ids))
    return done


def _refresh_review_tiers(instance_ids: list[int]) -> None:
    """Re-rank the review queue's items of these slices by the scores just stored."""
    try:
        from annotator.review.queue import refresh_tiers
    except ModuleNotFoundError as exc:  # the review queue is not part of this build yet
        if exc.name != "annotator.review.queue":
            raise
        return
    refresh_tiers(instance_ids)


def _decoded_batches(ids: list[int]) -> Iterator[tuple[list[Instance], list[np.ndarray]]]:
    """(instances, decoded images) a batch at a time, the next batch read ahead in a thread.

    Rows are loaded here, in the caller's thread (Django connections belong to a thread);
    the reader thread only touches storage and pixels.
    """
    chunks = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as reader:
        ahead = None  # (rows, their decoding) of the batch before the one being loaded
        for chunk in chunks:
            batch = _rows(chunk)
            decoding = reader.submit(_images, batch)
            if ahead is not None:
                yield ahead[0], ahead[1].result()
            ahead = (batch, decoding)
        if ahead is not None:
            yield ahead[0], ahead[1].result()


def _rows(chunk: list[int]) -> list[Instance]:
    return list(Instance.objects.filter(pk__in=chunk).select_related("series").order_by("id"))


def _images(batch: list[Instance]) -> list[np.ndarray]:
    return [training.image_of(instance) for instance in batch]


def _write(
    version: ModelVersion,
    model: LesionModel,
    batch: list[Instance],
    images: list[np.ndarray],
    scored: SliceMC,
    keep_embeddings: bool,
) -> None:
    heatmaps = []
    for row, (instance, image) in enumerate(zip(batch, images, strict=True)):
        top = int(np.argmax(scored.probs[row]))
        heatmaps.append(_heatmap(version, instance, top, scored.heatmap(row, top, image.shape)))
    store(
        version,
        np.asarray(model.thresholds),
        batch,
        scored.probs,
        scored.samples,
        scored.embeddings if keep_embeddings else None,
        heatmaps,
    )


def store(
    version: ModelVersion,
    thresholds: np.ndarray,
    batch: list[Instance],
    probs: np.ndarray,
    samples: np.ndarray,
    embeddings: np.ndarray | None,
    heatmaps: list[Heatmap],
) -> None:
    """One batch's rows, in one transaction: the call and probabilities, the three
    uncertainty measures, the heatmaps, and the embeddings when given."""
    measures = {
        Score.Measure.ENTROPY: binary_entropy(probs),
        Score.Measure.MARGIN: margin(probs, thresholds),
        Score.Measure.BALD: bald(samples),
    }
    predictions, scores, vectors = [], [], []
    for row, instance in enumerate(batch):
        finding, shown = guess(probs[row], thresholds)
        predictions.append(
            Prediction(instance=instance, model=version, finding=finding, probabilities=shown)
        )
        scores += [
            Score(instance=instance, model=version, measure=measure, value=float(values[row]))
            for measure, values in measures.items()
        ]
        if embeddings is not None:
            vector = embeddings[row].astype("<f2").tobytes()
            vectors.append(Embedding(instance=instance, model=version, vector=vector))
    with transaction.atomic():
        Prediction.objects.bulk_create(predictions, ignore_conflicts=True)
        Score.objects.bulk_create(scores, ignore_conflicts=True)
        Heatmap.objects.bulk_create(heatmaps, ignore_conflicts=True)
        Embedding.objects.bulk_create(vectors, ignore_conflicts=True)


def guess(probs: np.ndarray, thresholds: np.ndarray) -> tuple[str, dict]:
    """The model's call for one slice and the probabilities the page shows."""
    shown = {lesion: round(float(p), 5) for lesion, p in zip(dataset.LESIONS, probs, strict=True)}
    shown[Finding.UNREMARKABLE.value] = round(float(1 - probs.max()), 5)
    called = np.flatnonzero(probs >= thresholds)
    if not len(called):
        return Finding.UNREMARKABLE.value, shown
    return dataset.LESIONS[int(called[np.argmax(probs[called])])], shown


def _heatmap(version: ModelVersion, instance: Instance, finding: int, heat: np.ndarray) -> Heatmap:
    """The map shrunk to at most HEATMAP_SIDE pixels on its longer side, as 0..255."""
    h, w = heat.shape
    step = max(1, int(np.ceil(max(h, w) / settings.HEATMAP_SIDE)))
    small = heat[::step, ::step]
    return Heatmap(
        instance=instance,
        model=version,
        finding=dataset.LESIONS[finding],
        width=small.shape[1],
        height=small.shape[0],
        data=zlib.compress(np.round(small * 255).astype(np.uint8).tobytes()),
    )


def forget_embeddings(served: ModelVersion) -> int:
    """Embeddings are kept for the served version only."""
    deleted, _ = Embedding.objects.exclude(model=served).delete()
    return deleted
