"""Background jobs: train a run, measure it, let the registry decide, score the open slices.

Jobs take primary keys, load rows, call ml/, write rows; they are enqueued by name from
policy.py only. Only worker-side modules (this one, training.py, scoring.py, report.py)
import torch.
"""

import io
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.db import transaction
from rq import get_current_job

from annotator.imaging import storage
from annotator.imaging.models import Instance
from annotator.learning import dataset, registry, report, runs, scoring, selection, training
from annotator.learning.models import (
    Embedding,
    Evaluation,
    ModelVersion,
    TrainingRun,
)
from annotator.vocab import Split
from ml.fit import macro_auroc
from ml.lesion_model import LesionModel, load_lesion_model, save_lesion_model
from ml.report import auroc, dog_thresholds, youden_thresholds

log = logging.getLogger(__name__)


class NothingToLearn(Exception):
    pass


def _progress(**meta: object) -> None:
    job = get_current_job()
    if job is not None:
        job.meta.update(meta)
        job.save_meta()


def torch_device() -> str:
    if settings.TORCH_DEVICE == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return settings.TORCH_DEVICE


def train(run_id: int) -> dict | None:
    """Train one queued run; returns its summary, or None if the run was not waiting."""
    if not runs.start(run_id):
        log.info("training run %s is not queued any more; nothing to do", run_id)
        return None
    torch.set_num_threads(settings.TORCH_THREADS)
    try:
        return _train(TrainingRun.objects.get(pk=run_id))
    except Exception as exc:
        runs.fail(run_id, f"{type(exc).__name__}: {exc}")
        log.exception("training run %s failed", run_id)
        raise


def _train(run: TrainingRun) -> dict:
    started = time.monotonic()
    train_set = training.labeled(Split.TRAIN)
    if not train_set.instances:
        raise NothingToLearn("no labeled slices from training dogs yet")
    val_set = training.labeled(Split.VAL)
    _progress(stage="loading", train=len(train_set.instances), val=len(val_set.instances))
    model, fitted = training.train_model(
        train_set,
        val_set,
        seed=run.pk,
        device=torch_device(),
        progress=lambda info: _progress(**{"stage": "training", **info}),
    )
    trained = time.monotonic()

    val_probs = training.predict(model, val_set.instances)
    model.thresholds = _thresholds(val_probs, val_set.truth)
    val_dogs = [i.series.study.dog_id for i in val_set.instances]
    dog_cuts = dog_thresholds(val_probs, val_set.truth, val_dogs, model.thresholds)
    candidate_auroc = macro_auroc(val_probs, val_set.truth) if len(val_probs) else None
    served = registry.promoted()
    served_auroc = _served_auroc(served, val_set)
    val_metrics = {
        "n": len(val_set.instances),
        "macro_auroc": candidate_auroc,
        "auroc": {
            lesion: auroc(val_probs[:, k], val_set.truth[:, k]) if len(val_probs) else None
            for k, lesion in enumerate(dataset.LESIONS)
        },
        "thresholds": dict(zip(dataset.LESIONS, map(float, model.thresholds), strict=True)),
        "dog_thresholds": dict(zip(dataset.LESIONS, map(float, dog_cuts), strict=True)),
        "best_step": fitted.best_step,
        "compared_with": {"model": served.pk, "macro_auroc": served_auroc} if served else None,
    }
    key = _store(model, run)
    with transaction.atomic():
        version = ModelVersion.objects.create(
            run=run,
            checkpoint_key=key,
            config={
                "lesions": list(dataset.LESIONS),
                "thresholds": [float(t) for t in model.thresholds],
                "dog_thresholds": [float(t) for t in dog_cuts],
                "steps": fitted.steps,
                "tile_size": model.crop_size,
                "tile_stride": model.stride,
            },
        )
        Evaluation.objects.create(
            model=version, split=Split.VAL, n=len(val_set.instances), metrics=val_metrics
        )
    _progress(stage="testing")
    report.test_report(version, lambda instances: training.predict(model, instances))
    if not runs.still_running(run.pk):
        log.info("training run %s was cancelled; model v%s stays a candidate", run.pk, version.pk)
        return {"model": version.pk, "promoted": False, "cancelled": True}

    chosen, _ = registry.should_promote(candidate_auroc, served, served_auroc)
    scored = _score_pool(version, model, keep_embeddings=True) if chosen else 0
    promoted = registry.promote_if_chosen(version, candidate_auroc, served, served_auroc)
    if promoted:
        _rank_queue(version)
    elif scored:  # lost the promotion after scoring: embeddings are the served version's only
        Embedding.objects.filter(model=version).delete()
    timings = {
        "training_s": round(trained - started, 1),
        "total_s": round(time.monotonic() - started, 1),
        "scored": scored,
        "train_tiles_steps": fitted.steps,
    }
    runs.finish(
        run.pk,
        train_count=len(train_set.instances),
        val_count=len(val_set.instances),
        timings=timings,
    )
    log.info("training run %s finished: model v%s %s", run.pk, version.pk, version.status)
    return {"model": version.pk, "promoted": promoted, "val": val_metrics, **timings}


def _thresholds(probs: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-finding thresholds maximising Youden's J on the validation slices (0.5 where a
    finding has no positives or no negatives there)."""
    if not len(probs):
        return np.full(len(dataset.LESIONS), 0.5)
    return youden_thresholds(probs, truth)


def _store(model: LesionModel, run: TrainingRun) -> str:
    model.extra = {"run": run.pk}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        save_lesion_model(path, model)
        key, _ = storage.put(path.read_bytes(), suffix=".pt")
    return key


def _load(version: ModelVersion) -> LesionModel:
    with storage.open_file(version.checkpoint_key) as fh:
        return load_lesion_model(io.BytesIO(fh.read()), device=torch_device())


def _served_auroc(served: ModelVersion | None, val_set: training.Labeled) -> float | None:
    """The served version's macro AUROC on today's validation slices, scored afresh."""
    if served is None or not val_set.instances:
        return None
    try:
        model = _load(served)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError):
        log.warning("model v%s could not be loaded to compare with", served.pk, exc_info=True)
        return None
    return macro_auroc(training.predict(model, val_set.instances), val_set.truth)


def _score_pool(version: ModelVersion, model: LesionModel, keep_embeddings: bool) -> int:
    """Score every slice that still needs a read (the queue's pool)."""
    return scoring.score(
        version,
        model,
        scoring.open_pool(),
        keep_embeddings,
        progress=lambda done, total: _progress(stage="scoring", scored=done, total=total),
    )


def _rank_queue(version: ModelVersion) -> None:
    """After a promotion: the labeling queue by the new version's scores, and the review
    queue's model-disagreement and model-unsure reasons by its predictions."""
    from annotator.review.models import ReviewItem
    from annotator.review.queue import refresh_tiers

    scoring.forget_embeddings(version)
    selection.rank_queue(version)
    pending = ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
    refresh_tiers(list(pending.values_list("instance_id", flat=True).distinct()))


def evaluate_on_test(model_id: int) -> dict:
    """(Re)compute a version's Table-2 report on today's test labels."""
    version = ModelVersion.objects.get(pk=model_id)
    torch.set_num_threads(settings.TORCH_THREADS)
    model = _load(version)
    return report.test_report(version, lambda instances: training.predict(model, instances))


def score(model_id: int) -> int:
    """Score the open slices with a version and, if it is served, re-rank the queue by it."""
    version = ModelVersion.objects.get(pk=model_id)
    torch.set_num_threads(settings.TORCH_THREADS)
    served = version.status == ModelVersion.Status.PROMOTED
    scored = _score_pool(version, _load(version), keep_embeddings=served)
    version.refresh_from_db()
    if version.status == ModelVersion.Status.PROMOTED:
        _rank_queue(version)
    return scored


def score_series(model_id: int, series_ids: list[int]) -> int:
    """Score newly ingested series with the served version, for the second-eye view; the
    queue's order is left until the next full scoring."""
    version = ModelVersion.objects.get(pk=model_id)
    torch.set_num_threads(settings.TORCH_THREADS)
    ids = list(
        Instance.objects.filter(series_id__in=series_ids)
        .exclude(predictions__model=version)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return scoring.score(version, _load(version), ids, keep_embeddings=False)
