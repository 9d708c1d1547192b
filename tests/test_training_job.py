"""The learning loop: labels in, a real rq worker trains and scores, the queue re-ranks."""

import csv
from pathlib import Path

import pytest
from django.conf import settings

from annotator import queue
from annotator.ingest import ingest_paths
from annotator.learning import request_retrain
from annotator.models import Annotation, ModelVersion, Prediction, Slice
from tests.conftest import client_for, database_url, run_manage
from tests.factories import make_series

TINY_TRAINING = {"DACHS_TRAIN_EPOCHS": "3", "DACHS_TRAIN_INPUT_SIZE": "64"}


def label_from_manifest(cohort: Path, user, splits: list[str]) -> int:
    truth = {
        row["sop_instance_uid"]: row["finding"]
        for row in csv.DictReader((cohort / "manifest.csv").open())
    }
    slices = Slice.objects.filter(series__study__dog__split__in=splits)
    Annotation.objects.bulk_create(
        Annotation(slice=s, annotator=user, finding=truth[s.sop_instance_uid]) for s in slices
    )
    return len(slices)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_trains_scores_and_the_queue_follows_its_uncertainty(
    tiny_cohort, rq_redis, redis_url, alice, data_dir
):
    ingest_paths([tiny_cohort])
    labeled = label_from_manifest(tiny_cohort, alice, ["train", "val"])
    version, created = request_retrain(ModelVersion.Trigger.MANUAL)
    assert created

    worker = run_manage(
        "rqworker",
        "default",
        "--burst",
        env={
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "DACHS_DATA_DIR": str(data_dir),
            **TINY_TRAINING,
        },
    )
    assert worker.returncode == 0, worker.stderr[-3000:]

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.ACTIVE, version.error
    assert version.train_slices + version.val_slices == labeled
    assert version.metrics["val"]["n"] == version.val_slices > 0
    assert (settings.DATA_DIR / version.checkpoint_path).is_file()

    unlabeled = list(queue.unlabeled())
    assert unlabeled, "the test dog's slices stay unlabeled"
    stored = dict(
        Prediction.objects.filter(model_version=version).values_list("slice_id", "uncertainty")
    )
    assert set(stored) == {s.pk for s in unlabeled}

    served = []
    while (claim := queue.claim_next(alice)) is not None:
        served.append(stored[claim.slice.pk])
        Annotation.objects.create(slice=claim.slice, annotator=alice, finding="unremarkable")
    assert len(served) == len(unlabeled)
    assert served == sorted(served, reverse=True)
    assert len(set(served)) > 1  # the model is not equally unsure of everything


@pytest.mark.django_db
def test_enough_new_labels_queue_a_retrain_once(
    alice, rq_redis, settings, django_capture_on_commit_callbacks
):
    settings.RETRAIN_EVERY = 3
    slices = list(make_series(slices=6).slices.all())
    client = client_for(alice)

    def label(slice_: Slice) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/annotations/", {"slice": slice_.pk, "finding": "ivde"}, format="json"
            )
        assert response.status_code == 201

    label(slices[0])
    label(slices[1])
    assert ModelVersion.objects.count() == 0
    label(slices[2])
    version = ModelVersion.objects.get()
    assert version.trigger == ModelVersion.Trigger.LABELS
    assert rq_redis.llen("rq:queue:default") == 1
    for slice_ in slices[3:]:  # three more: due again, but a run is still waiting
        label(slice_)
    assert ModelVersion.objects.count() == 1
    assert rq_redis.llen("rq:queue:default") == 1
