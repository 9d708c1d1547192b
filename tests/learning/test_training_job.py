"""The learning loop: labels in, a real rq worker trains and scores, the queue re-ranks."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from annotator.imaging import storage
from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.learning import policy
from annotator.learning.models import Embedding, Heatmap, ModelVersion, Score, TrainingRun
from annotator.worklist.models import QueueItem
from tests.conftest import client_for, database_url, run_manage
from tests.factories import label_next

TINY_TRAINING = {"DACHS_TRAIN_STEPS": "40", "DACHS_LOCALISER_STEPS": "40"}


def label_from_manifest(cohort: Path, user, splits: list[str], skip_dogs: int = 0) -> int:
    """Labels as a perfect reader would give them (imported from the manifest) for the
    slices of the given splits' dogs, leaving the last `skip_dogs` of those dogs open."""
    from annotator.labeling.imports import import_rows

    dogs = sorted(
        Instance.objects.filter(series__study__dog__split__in=splits)
        .order_by()
        .values_list("series__study__dog__patient_id", flat=True)
        .distinct()
    )
    keep = set(dogs[: len(dogs) - skip_dogs])
    wanted = set(
        Instance.objects.filter(series__study__dog__patient_id__in=keep).values_list(
            "sop_instance_uid", flat=True
        )
    )
    rows = [
        (line, row)
        for line, row in enumerate(csv.DictReader((cohort / "manifest.csv").open()), start=2)
        if row["sop_instance_uid"] in wanted
    ]
    report = import_rows(rows, user, source="manifest.csv")
    assert report.errors == []
    return report.imported


def run_worker(redis_url: str, data_dir: Path, *queues: str, strategy: str = "entropy"):
    return run_manage(
        "rqworker",
        *(queues or ("training", "default")),
        "--burst",
        env={
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "DACHS_DATA_DIR": str(data_dir),
            "DACHS_AL_STRATEGY": strategy,
            **TINY_TRAINING,
        },
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_trains_scores_and_the_queue_follows_its_entropy(
    tiny_cohort, rq_redis, redis_url, alice, bob, data_dir, settings
):
    settings.QUEUE_LOOKAHEAD, settings.QUEUE_HELD_OUT_SHARE = 0, 0.0
    ingest_paths([tiny_cohort])
    labeled = label_from_manifest(tiny_cohort, alice, ["train"], skip_dogs=1)
    labeled += label_from_manifest(tiny_cohort, alice, ["val"])
    run, created = policy.request_training(TrainingRun.Trigger.MANUAL)
    assert created

    worker = run_worker(redis_url, data_dir)
    assert worker.returncode == 0, worker.stderr[-3000:]

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FINISHED, run.error
    assert run.train_count + run.val_count == labeled
    model = ModelVersion.objects.get(run=run)
    assert model.status == ModelVersion.Status.PROMOTED
    evaluation = model.evaluations.get(split="val")
    assert evaluation.n == run.val_count > 0
    assert storage.exists(model.checkpoint_key)
    # slice and dog-level cuts, both chosen on the validation dogs; the test report calls
    # dogs with the dog-level ones
    assert len(model.config["thresholds"]) == len(model.config["dog_thresholds"]) == 5
    dog_cuts = dict(zip(model.config["lesions"], model.config["dog_thresholds"], strict=True))
    assert evaluation.metrics["dog_thresholds"] == dog_cuts  # (jsonb keeps no key order)
    assert model.evaluations.get(split="test").metrics["dogs"]["thresholds"] == dog_cuts

    open_items = QueueItem.objects.filter(done=False)
    selected = set(open_items.filter(held_out=False).values_list("instance_id", flat=True))
    held_out = set(open_items.filter(held_out=True).values_list("instance_id", flat=True))
    assert selected, "one training dog's slices stay unlabeled"
    assert held_out, "the test dogs' slices stay unlabeled"
    for measure in ("entropy", "margin", "bald"):
        scored = Score.objects.filter(model=model, measure=measure)
        assert set(scored.values_list("instance_id", flat=True)) == selected | held_out
    stored = dict(
        Score.objects.filter(model=model, measure="entropy").values_list("instance_id", "value")
    )
    # the served version keeps an embedding of every pool slice, for spreading batches
    assert set(Embedding.objects.filter(model=model).values_list("instance_id", flat=True)) == (
        selected | held_out
    )
    heatmaps = Heatmap.objects.filter(model=model)
    assert set(heatmaps.values_list("instance_id", flat=True)) == selected | held_out
    assert all(0 < h.width <= 128 and 0 < h.height <= 128 for h in heatmaps)

    served = []
    while (label := label_next(bob, ["unremarkable"])) is not None:
        served.append(label.instance_id)
    assert set(served) == selected | held_out
    # The training dog's slices by the model's uncertainty; the held-out test dogs' slices
    # in their stratified random order, whatever the model says about them.
    by_model = [stored[pk] for pk in served[: len(selected)]]
    assert set(served[: len(selected)]) == selected
    assert by_model == sorted(by_model, reverse=True)
    assert len(set(by_model)) > 1  # the model is not equally unsure of everything
    ranks = dict(QueueItem.objects.values_list("instance_id", "base_rank"))
    held_out_order = [ranks[pk] for pk in served[len(selected) :]]
    assert held_out_order == sorted(held_out_order)


@pytest.mark.django_db
def test_a_second_run_is_compared_with_the_served_model_on_the_same_validation_slices(
    tiny_cohort, alice, settings
):
    from annotator.learning.tasks import train

    settings.QUEUE_LOOKAHEAD = 0
    settings.TRAIN_STEPS, settings.LOCALISER_STEPS = 30, 30
    ingest_paths([tiny_cohort])
    label_from_manifest(tiny_cohort, alice, ["train", "val"])
    first, _ = policy.request_training(TrainingRun.Trigger.MANUAL, send_now=False)
    assert train(first.pk)["promoted"] is True
    second, _ = policy.request_training(TrainingRun.Trigger.MANUAL, send_now=False)
    summary = train(second.pk)

    served = ModelVersion.objects.get(run=first)
    candidate = ModelVersion.objects.get(run=second)
    compared = candidate.evaluations.get(split="val").metrics["compared_with"]
    assert compared["model"] == served.pk
    assert compared["macro_auroc"] == pytest.approx(
        served.evaluations.get(split="val").metrics["macro_auroc"]
    )
    assert "validation macro AUROC" in candidate.decision
    assert summary["promoted"] == (candidate.decision.startswith("not worse"))

    # The Table-2 report on the test dogs: printed, and served as JSON.
    out = io.StringIO()
    call_command("evaluate", "--model-version", str(served.pk), "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert (body["model_version"], body["split"]) == (served.pk, "test")
    test_slices = Instance.objects.filter(series__study__dog__split="test").count()
    assert body["n_images"] == 0  # the test dogs are not labeled in this cohort run
    assert test_slices > 0
    cell = next(
        c
        for c in body["cells"]
        if (c["finding"], c["plane"], c["sequence"]) == ("ivdp", "sagittal", "T1W")
    )
    assert set(cell) >= {
        "tp",
        "fn",
        "tn",
        "fp",
        "sensitivity",
        "specificity",
        "sensitivity_ci",
        "specificity_ci",
    }
    served_report = client_for(alice).get(f"/api/models/{served.pk}/report/")
    assert served_report.status_code == 200
    assert served_report.json()["model_version"] == served.pk
    assert client_for(alice).get("/api/models/999999/report/").status_code == 404
