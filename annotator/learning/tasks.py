"""Background jobs: train a run, measure it, let the registry decide, score the open slices.

The only module that imports ml/ and torch. Jobs take primary keys, load rows, call ml/,
write rows; they are enqueued by name from policy.py only.
"""

import io
import logging
import tempfile
import time
from pathlib import Path

import torch
from django.conf import settings
from django.db import transaction
from rq import get_current_job

from annotator.learning import dataset, registry, report, runs
from annotator.learning.models import Evaluation, ModelVersion, Prediction, Score, TrainingRun
from annotator.vocab import FINDINGS, Split
from annotator.worklist import items
from annotator.worklist.models import QueueItem
from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.evaluate import evaluate, macro_auroc_one_vs_rest
from ml.model import NetConfig
from ml.score import predict_proba
from ml.train import TrainConfig
from ml.train import train as train_net
from ml.uncertainty import predictive_entropy

log = logging.getLogger(__name__)

SCORE_BATCH = 256


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
    size = settings.TRAIN_INPUT_SIZE
    train_set, train_classes = dataset.labeled(Split.TRAIN)
    if not train_set:
        raise NothingToLearn("no labeled slices from training dogs yet")
    val_set, val_classes = dataset.labeled(Split.VAL)
    _progress(stage="loading", train=len(train_set), val=len(val_set))
    x_train = dataset.model_inputs(train_set, size)
    x_val = dataset.model_inputs(val_set, size)
    loaded = time.monotonic()

    net = NetConfig(n_classes=len(FINDINGS), in_size=size)
    cfg = TrainConfig(
        epochs=settings.TRAIN_EPOCHS,
        max_seconds=settings.TRAIN_MAX_SECONDS,
        seed=run.pk,
        device=torch_device(),
    )
    result = train_net(
        x_train, train_classes, net, cfg, progress=lambda i: _progress(stage="training", **i)
    )
    trained = time.monotonic()
    val_probs = predict_proba(result.model, x_val)
    candidate_auroc = macro_auroc_one_vs_rest(val_probs, val_classes)
    _, val_truth = dataset.labeled_findings(Split.VAL)
    served = registry.promoted()
    served_auroc = _served_auroc(served, val_set, val_classes)
    val_metrics = {
        **evaluate(result.model, x_val, val_classes, FINDINGS),
        "macro_auroc": candidate_auroc,
        "compared_with": {"model": served.pk, "macro_auroc": served_auroc} if served else None,
    }
    key = _store_checkpoint(result, net, run)
    with transaction.atomic():
        version = ModelVersion.objects.create(
            run=run,
            checkpoint_key=key,
            config={
                "net": vars(net),
                "steps": result.steps,
                "epochs": len(result.history),
                "lesions": report.dataset.LESIONS,
                "thresholds": report.thresholds_on(val_probs, val_truth),
            },
        )
        Evaluation.objects.create(
            model=version, split=Split.VAL, n=len(val_set), metrics=val_metrics
        )
    report.test_report(version, lambda x: predict_proba(result.model, x), size)
    if not runs.still_running(run.pk):
        log.info("training run %s was cancelled; model v%s stays a candidate", run.pk, version.pk)
        return {"model": version.pk, "promoted": False, "cancelled": True}

    chosen, _ = registry.should_promote(candidate_auroc, served, served_auroc)
    scored = score_open_items(version, result.model, size) if chosen else 0
    promoted = registry.promote_if_chosen(version, candidate_auroc, served, served_auroc)
    if promoted:
        _rank_queue(version)
    timings = {
        "loading_s": round(loaded - started, 1),
        "training_s": round(trained - loaded, 1),
        "total_s": round(time.monotonic() - started, 1),
        "scored": scored,
    }
    runs.finish(run.pk, train_count=len(train_set), val_count=len(val_set), timings=timings)
    log.info("training run %s finished: model v%s %s", run.pk, version.pk, version.status)
    return {"model": version.pk, "promoted": promoted, "val": val_metrics, **timings}


def _load(version: ModelVersion):
    from annotator.imaging import storage

    with storage.open_file(version.checkpoint_key) as fh:
        model, net, _, _ = load_checkpoint(io.BytesIO(fh.read()))
    return model.to(torch_device()), net


def _served_auroc(served: ModelVersion | None, val_set: list, val_classes) -> float | None:
    """The served version's macro AUROC on today's validation slices, scored afresh."""
    if served is None or not val_set:
        return None
    try:
        model, net = _load(served)
    except (FileNotFoundError, ValueError, RuntimeError):
        log.warning("model v%s could not be loaded to compare with", served.pk, exc_info=True)
        return None
    probs = predict_proba(model, dataset.model_inputs(val_set, net.in_size))
    return macro_auroc_one_vs_rest(probs, val_classes)


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
    model, net = _load(version)
    return report.test_report(version, lambda x: predict_proba(model, x), net.in_size)


def score(model_id: int) -> int:
    """Score the open slices with a version and, if it is served, re-rank the queue by it."""
    version = ModelVersion.objects.get(pk=model_id)
    torch.set_num_threads(settings.TORCH_THREADS)
    model, net = _load(version)
    scored = score_open_items(version, model, net.in_size)
    version.refresh_from_db()
    if version.status == ModelVersion.Status.PROMOTED:
        _rank_queue(version)
    return scored


def _store_checkpoint(result, net: NetConfig, run: TrainingRun) -> str:
    from annotator.imaging import storage

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        save_checkpoint(path, result.model, net, FINDINGS, result.steps, {"run": run.pk})
        key, _ = storage.put(path.read_bytes(), suffix=".pt")
    return key


def score_open_items(version: ModelVersion, model: torch.nn.Module, size: int) -> int:
    """Store probabilities and predictive entropy for every slice that still needs a read."""
    from annotator.imaging.models import Instance

    ids = list(
        QueueItem.objects.filter(done=False).order_by("id").values_list("instance_id", flat=True)
    )
    done = 0
    for start in range(0, len(ids), SCORE_BATCH):
        batch = list(
            Instance.objects.filter(pk__in=ids[start : start + SCORE_BATCH]).order_by("id")
        )
        probs = predict_proba(model, dataset.model_inputs(batch, size))
        entropy = predictive_entropy(probs)
        with transaction.atomic():
            Prediction.objects.bulk_create(
                [
                    Prediction(
                        instance=i,
                        model=version,
                        finding=FINDINGS[int(p.argmax())],
                        probabilities={
                            n: round(float(v), 5) for n, v in zip(FINDINGS, p, strict=True)
                        },
                    )
                    for i, p in zip(batch, probs, strict=True)
                ],
                ignore_conflicts=True,
            )
            Score.objects.bulk_create(
                [
                    Score(instance=i, model=version, measure=Score.Measure.ENTROPY, value=float(h))
                    for i, h in zip(batch, entropy, strict=True)
                ],
                ignore_conflicts=True,
            )
        done += len(batch)
        _progress(stage="scoring", scored=done, total=len(ids))
    return done
