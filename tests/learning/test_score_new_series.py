"""A study ingested while a model is served is scored for the second-eye view at once."""

import io

import pytest
import torch
from django.core.management import call_command
from rq import Queue

from annotator.imaging import storage
from annotator.imaging.models import Instance
from annotator.learning import dataset, registry, tasks
from annotator.learning.models import (
    Embedding,
    Heatmap,
    ModelVersion,
    Prediction,
    Score,
    TrainingRun,
)
from annotator.learning.training import PLANES, SEQUENCES
from ml.lesion_model import LesionModel, save_lesion_model
from ml.localiser import Localiser, LocaliserConfig
from ml.multilabel import ClassifierConfig, LesionNet

pytestmark = pytest.mark.django_db


def served_untrained_model(tmp_path) -> ModelVersion:
    """A served version whose checkpoint is an untrained small model: scoring's plumbing
    does not depend on what the weights learned."""
    torch.manual_seed(0)
    k = len(dataset.LESIONS)
    net = LesionNet(ClassifierConfig(n_lesions=k, in_size=32, width=4, planes=4, sequences=4))
    model = LesionModel(
        classifier=net.eval(),
        localiser=Localiser(LocaliserConfig(in_size=32, width=4)).eval(),
        lesions=list(dataset.LESIONS),
        planes=PLANES,
        sequences=SEQUENCES,
        thresholds=[0.5] * k,
        crop_size=32,
        stride=24,
    )
    path = tmp_path / "model.pt"
    save_lesion_model(path, model)
    key, _ = storage.put(path.read_bytes(), suffix=".pt")
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    version = ModelVersion.objects.create(
        run=run, checkpoint_key=key, config={"thresholds": [0.5] * k}
    )
    registry.promote_if_chosen(version, 0.9, None, None)
    return version


def test_an_ingest_queues_scoring_of_the_new_series_and_the_job_scores_every_slice(
    tiny_cohort, rq_redis, tmp_path
):
    version = served_untrained_model(tmp_path)
    err = io.StringIO()
    call_command("ingest", str(tiny_cohort), stdout=io.StringIO(), stderr=err)
    assert f"model v{version.pk} will score the new series" in err.getvalue()

    jobs = Queue("default", connection=rq_redis).jobs
    assert [job.func_name for job in jobs] == ["annotator.learning.tasks.score_series"]
    model_id, series_ids = jobs[0].args
    assert model_id == version.pk
    slices = set(Instance.objects.values_list("pk", flat=True))
    assert set(Instance.objects.filter(series_id__in=series_ids).values_list("pk", flat=True)) == (
        slices
    )

    assert tasks.score_series(model_id, series_ids) == len(slices)
    assert set(Prediction.objects.filter(model=version).values_list("instance_id", flat=True)) == (
        slices
    )
    assert set(Heatmap.objects.filter(model=version).values_list("instance_id", flat=True)) == (
        slices
    )
    assert Score.objects.filter(model=version).count() == 3 * len(slices)
    assert not Embedding.objects.exists()  # the queue's order waits for a full scoring
    # a second run finds nothing left to score
    assert tasks.score_series(model_id, series_ids) == 0


def test_an_ingest_without_a_served_model_queues_nothing(tiny_cohort, rq_redis):
    call_command("ingest", str(tiny_cohort), stdout=io.StringIO(), stderr=io.StringIO())
    assert Queue("default", connection=rq_redis).count == 0
