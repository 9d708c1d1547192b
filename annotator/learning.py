"""When to retrain, and what the model learns from: the bridge's database side."""

import logging

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from annotator.models import FINDING_ORDER, Annotation, ModelVersion, Slice

log = logging.getLogger(__name__)


def request_retrain(
    trigger: str, user: AbstractBaseUser | None = None, enqueue: bool = True
) -> tuple[ModelVersion, bool]:
    """Queue one training run, unless one is already waiting. Returns (version, created)."""
    waiting = ModelVersion.objects.filter(status=ModelVersion.Status.QUEUED).first()
    if waiting is not None:
        return waiting, False
    try:
        with transaction.atomic():
            version = ModelVersion.objects.create(
                trigger=trigger, requested_by=user, annotations_seen=Annotation.objects.count()
            )
    except IntegrityError:  # a concurrent request queued one first (one QUEUED at a time)
        return ModelVersion.objects.get(status=ModelVersion.Status.QUEUED), False
    if enqueue:
        from annotator.jobs import enqueue_training

        try:
            enqueue_training(version)
        except Exception as exc:
            # Never leave a QUEUED row that no worker will pick up: it would block retrains.
            ModelVersion.objects.filter(pk=version.pk).update(
                status=ModelVersion.Status.FAILED, error=f"could not reach the job queue: {exc}"
            )
            raise
    return version, True


def new_annotations_since_last_model() -> int:
    last = ModelVersion.objects.exclude(status=ModelVersion.Status.FAILED).order_by("-id").first()
    seen = last.annotations_seen if last else 0
    return Annotation.objects.count() - seen


def retrain_if_due() -> ModelVersion | None:
    """Queue a retrain once RETRAIN_EVERY annotations arrived since the last one."""
    if new_annotations_since_last_model() < settings.RETRAIN_EVERY:
        return None
    try:
        version, created = request_retrain(ModelVersion.Trigger.LABELS)
    except Exception:  # a down Redis must not lose the vet's label, which is committed
        log.warning("could not queue the automatic retrain (is Redis up?)", exc_info=True)
        return None
    return version if created else None


def labeled_slices(split: str) -> tuple[list[Slice], np.ndarray]:
    """Slices of the given split's dogs with their current label (the latest annotation)."""
    latest: dict[int, str] = {}
    rows = Annotation.objects.filter(slice__series__study__dog__split=split).order_by(
        "created_at", "id"
    )
    for slice_id, finding in rows.values_list("slice_id", "finding"):
        latest[slice_id] = finding
    slices = list(Slice.objects.filter(pk__in=latest).order_by("id"))
    labels = np.array([FINDING_ORDER.index(latest[s.pk]) for s in slices], dtype=np.int64)
    return slices, labels
