"""Background jobs: train a model version, measure it, score the unlabeled slices.

Jobs take primary keys, load rows, call ml/, write rows. They are enqueued only here.
"""

import logging
import time

import django_rq
import torch
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import get_current_job

from annotator import learning, pixels, queue
from annotator.models import FINDING_ORDER, ModelVersion, Prediction, Split
from ml.checkpoint import save_checkpoint
from ml.evaluate import evaluate
from ml.model import NetConfig
from ml.score import predict_proba
from ml.train import TrainConfig, train
from ml.uncertainty import predictive_entropy

log = logging.getLogger(__name__)

SCORE_BATCH = 256


def enqueue_training(version: ModelVersion) -> None:
    # "auto": enqueue now. The version row is already committed by the caller, and a
    # failure must surface here, where the caller can mark the version failed.
    job = django_rq.get_queue("default", commit_mode="auto").enqueue(
        train_model_version,
        version.pk,
        job_id=f"train-model-v{version.pk}",
        job_timeout=settings.TRAIN_JOB_TIMEOUT,
        description=f"train model v{version.pk}",
    )
    ModelVersion.objects.filter(pk=version.pk).update(rq_job_id=job.id)


def _progress(**meta: object) -> None:
    job = get_current_job()
    if job is not None:
        job.meta.update(meta)
        job.save_meta()


def train_model_version(version_id: int) -> dict:
    """Train, validate, score and activate one model version. Returns its metrics."""
    version = ModelVersion.objects.get(pk=version_id)
    ModelVersion.objects.filter(pk=version_id).update(
        status=ModelVersion.Status.TRAINING, started_at=timezone.now()
    )
    torch.set_num_threads(settings.TORCH_THREADS)
    try:
        metrics = _train_and_score(version)
    except Exception as exc:
        ModelVersion.objects.filter(pk=version_id).update(
            status=ModelVersion.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        log.exception("training model v%s failed", version_id)
        raise
    return metrics


def torch_device() -> str:
    if settings.TORCH_DEVICE == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return settings.TORCH_DEVICE


class NothingToLearn(Exception):
    pass


def _train_and_score(version: ModelVersion) -> dict:
    started = time.monotonic()
    size = settings.TRAIN_INPUT_SIZE
    train_slices, train_labels = learning.labeled_slices(Split.TRAIN)
    if not train_slices:
        raise NothingToLearn("no labeled slices from training dogs yet")
    val_slices, val_labels = learning.labeled_slices(Split.VAL)
    _progress(stage="loading", train=len(train_slices), val=len(val_slices))
    x_train = pixels.model_inputs(train_slices, size)
    x_val = pixels.model_inputs(val_slices, size)

    net = NetConfig(n_classes=len(FINDING_ORDER), in_size=size)
    cfg = TrainConfig(
        epochs=settings.TRAIN_EPOCHS,
        max_seconds=settings.TRAIN_MAX_SECONDS,
        seed=version.pk,
        device=torch_device(),
    )
    result = train(
        x_train, train_labels, net, cfg, progress=lambda info: _progress(stage="training", **info)
    )
    metrics = {
        "val": evaluate(result.model, x_val, val_labels, FINDING_ORDER),
        "train_seconds": round(time.monotonic() - started, 1),
        "epochs": len(result.history),
        "steps": result.steps,
    }
    checkpoint = settings.CHECKPOINT_DIR / f"model-v{version.pk}.pt"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        checkpoint, result.model, net, FINDING_ORDER, result.steps, {"metrics": metrics}
    )

    scored = score_unlabeled(version, result.model, size)
    metrics["scored_slices"] = scored
    metrics["total_seconds"] = round(time.monotonic() - started, 1)
    with transaction.atomic():
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.RETIRED
        )
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.ACTIVE,
            finished_at=timezone.now(),
            train_slices=len(train_slices),
            val_slices=len(val_slices),
            metrics=metrics,
            checkpoint_path=str(checkpoint.relative_to(settings.DATA_DIR)),
        )
    log.info("model v%s active: %s", version.pk, metrics["val"].get("accuracy"))
    return metrics


def score_unlabeled(version: ModelVersion, model: torch.nn.Module, size: int) -> int:
    """Store class probabilities and predictive entropy for every unlabeled slice."""
    slices = list(queue.unlabeled().order_by("id"))
    done = 0
    for start in range(0, len(slices), SCORE_BATCH):
        batch = slices[start : start + SCORE_BATCH]
        probs = predict_proba(model, pixels.model_inputs(batch, size))
        entropy = predictive_entropy(probs)
        Prediction.objects.bulk_create(
            [
                Prediction(
                    slice=s,
                    model_version=version,
                    finding=FINDING_ORDER[int(p.argmax())],
                    probabilities={
                        name: round(float(v), 5) for name, v in zip(FINDING_ORDER, p, strict=True)
                    },
                    uncertainty=float(h),
                )
                for s, p, h in zip(batch, probs, entropy, strict=True)
            ],
            ignore_conflicts=True,
        )
        done += len(batch)
        _progress(stage="scoring", scored=done, total=len(slices))
    return done
