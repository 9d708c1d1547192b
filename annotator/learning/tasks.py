"""Background jobs: train a run, measure it, let the registry decide, score the open slices.

Jobs take primary keys, load rows, call ml/, write rows; they are enqueued by name from
policy.py only. Only worker-side modules (this one, training.py, report.py) import torch.
"""

import io
import logging
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.db import transaction
from rq import get_current_job

from annotator.imaging import storage
from annotator.imaging.models import Instance
from annotator.learning import dataset, registry, report, runs, training
from annotator.learning.models import (
    Evaluation,
    Heatmap,
    ModelVersion,
    Prediction,
    Score,
    TrainingRun,
)
from annotator.vocab import Finding, Split
from annotator.worklist import items
from annotator.worklist.models import QueueItem
from ml.fit import macro_auroc
from ml.heatmap import slice_heatmap
from ml.lesion_model import LesionModel, load_lesion_model, save_lesion_model
from ml.report import auroc, youden_thresholds
from ml.uncertainty import binary_entropy

log = logging.getLogger(__name__)

SCORE_BATCH = 64


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
    scored = score_open_items(version, model) if chosen else 0
    promoted = registry.promote_if_chosen(version, candidate_auroc, served, served_auroc)
    if promoted:
        _rank_queue(version)
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


def _rank_queue(version: ModelVersion) -> None:
    items.set_priorities(
        Score.objects.filter(model=version, measure=Score.Measure.ENTROPY).values_list(
            "instance_id", "value"
        )
    )


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
    scored = score_open_items(version, _load(version))
    version.refresh_from_db()
    if version.status == ModelVersion.Status.PROMOTED:
        _rank_queue(version)
    return scored


def guess(probs: np.ndarray, thresholds: np.ndarray) -> tuple[str, dict]:
    """The model's call for one slice and the probabilities the page shows."""
    shown = {lesion: round(float(p), 5) for lesion, p in zip(dataset.LESIONS, probs, strict=True)}
    shown[Finding.UNREMARKABLE.value] = round(float(1 - probs.max()), 5)
    called = np.flatnonzero(probs >= thresholds)
    if not len(called):
        return Finding.UNREMARKABLE.value, shown
    return dataset.LESIONS[int(called[np.argmax(probs[called])])], shown


def score_open_items(version: ModelVersion, model: LesionModel) -> int:
    """Store probabilities, predictive entropy and a heatmap for every slice that still
    needs a read."""
    ids = list(
        QueueItem.objects.filter(done=False).order_by("id").values_list("instance_id", flat=True)
    )
    thresholds = np.asarray(model.thresholds)
    done = 0
    for start in range(0, len(ids), SCORE_BATCH):
        batch = list(
            Instance.objects.filter(pk__in=ids[start : start + SCORE_BATCH])
            .select_related("series")
            .order_by("id")
        )
        images = [training.image_of(i) for i in batch]
        probs = training.predict_images(model, batch, images)
        entropy = binary_entropy(probs)
        predictions, scores, heatmaps = [], [], []
        for instance, image, p, h in zip(batch, images, probs, entropy, strict=True):
            finding, shown = guess(p, thresholds)
            predictions.append(
                Prediction(instance=instance, model=version, finding=finding, probabilities=shown)
            )
            scores.append(
                Score(instance=instance, model=version, measure=Score.Measure.ENTROPY, value=h)
            )
            heatmaps.append(_heatmap(version, model, instance, image, p))
        with transaction.atomic():
            Prediction.objects.bulk_create(predictions, ignore_conflicts=True)
            Score.objects.bulk_create(scores, ignore_conflicts=True)
            Heatmap.objects.bulk_create(heatmaps, ignore_conflicts=True)
        done += len(batch)
        _progress(stage="scoring", scored=done, total=len(ids))
    return done


def _heatmap(
    version: ModelVersion, model: LesionModel, instance: Instance, image, probs
) -> Heatmap:
    """The map of the finding the model found most likely, shrunk to HEATMAP_SIDE."""
    finding = int(np.argmax(probs))
    heat = slice_heatmap(model, image, finding)
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
