"""Which model serves is decided by policy, never by which run happens to finish last."""

import pytest

from annotator.learning import registry
from annotator.learning.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db


def finished_model(run: TrainingRun) -> ModelVersion:
    TrainingRun.objects.filter(pk=run.pk).update(status="finished")
    return ModelVersion.objects.create(run=run, checkpoint_key=f"ck/{run.pk}.pt")


def test_the_first_model_is_promoted_and_a_newer_one_retires_it():
    first = finished_model(TrainingRun.objects.create(trigger="manual", status="running"))
    assert registry.promote_if_chosen(first)
    second = finished_model(TrainingRun.objects.create(trigger="labels", status="running"))
    assert registry.promote_if_chosen(second)
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED
    assert first.retired_at is not None
    assert registry.promoted() == second


def test_an_older_run_that_finishes_last_stays_a_candidate():
    older = TrainingRun.objects.create(trigger="manual", status="running")
    newer = TrainingRun.objects.create(trigger="labels", status="running")
    newer_model = finished_model(newer)
    assert registry.promote_if_chosen(newer_model)
    late = finished_model(older)
    assert not registry.promote_if_chosen(late)
    late.refresh_from_db()
    assert late.status == ModelVersion.Status.CANDIDATE
    assert "newer run" in late.decision
    assert registry.promoted() == newer_model
