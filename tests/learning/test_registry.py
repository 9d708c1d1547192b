"""Which model serves is decided by one policy, never by which run happens to finish last."""

import pytest

from annotator.audit.models import AuditEvent
from annotator.learning import registry
from annotator.learning.models import ModelVersion, TrainingRun
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def candidate() -> ModelVersion:
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    return ModelVersion.objects.create(run=run, checkpoint_key=f"ck/{run.pk}.pt")


def test_the_first_model_is_promoted_and_a_not_worse_one_retires_it():
    first = candidate()
    assert registry.promote_if_chosen(first, 0.80, None, None)
    second = candidate()
    assert registry.promote_if_chosen(second, 0.795, first, 0.80)  # within the tolerance
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED
    assert first.retired_at is not None
    assert registry.promoted() == second
    assert "not worse" in ModelVersion.objects.get(pk=second.pk).decision


def test_a_worse_candidate_stays_a_candidate_whenever_it_finishes():
    served = candidate()
    registry.promote_if_chosen(served, 0.90, None, None)
    worse = candidate()
    assert not registry.promote_if_chosen(worse, 0.85, served, 0.90)
    worse.refresh_from_db()
    assert worse.status == ModelVersion.Status.CANDIDATE
    assert worse.decision.startswith("worse: validation macro AUROC 0.850 vs 0.900")
    assert registry.promoted() == served


def test_a_comparison_with_a_version_no_longer_served_does_not_promote():
    old, new = candidate(), candidate()
    registry.promote_if_chosen(old, 0.8, None, None)
    registry.promote_if_chosen(new, 0.9, old, 0.8)
    late = candidate()  # measured against `old`, which is no longer served
    assert not registry.promote_if_chosen(late, 0.99, old, 0.8)
    assert registry.promoted() == new


def test_the_admin_promotes_by_hand_and_rolls_back(carol, alice, rq_redis):
    first, second = candidate(), candidate()
    registry.promote_if_chosen(first, 0.9, None, None)
    registry.promote_if_chosen(second, 0.95, first, 0.9)
    admin = client_for(carol)
    assert client_for(alice).post(f"/api/models/{second.pk}/rollback/").status_code == 403
    back = admin.post(f"/api/models/{second.pk}/rollback/")
    assert back.status_code == 200
    assert (back.json()["id"], back.json()["status"]) == (first.pk, "promoted")
    assert ModelVersion.objects.get(pk=second.pk).status == ModelVersion.Status.RETIRED
    assert rq_redis.llen("rq:queue:default") == 1  # the queue is re-ranked by the served one
    again = admin.post(f"/api/models/{second.pk}/promote/")
    assert again.status_code == 200
    assert registry.promoted() == second
    assert admin.post(f"/api/models/{second.pk}/promote/").status_code == 409
    assert admin.post(f"/api/models/{first.pk}/rollback/").status_code == 409
    assert admin.post("/api/models/999999/promote/").status_code == 404
    actions = list(AuditEvent.objects.filter(actor=carol).values_list("action", flat=True))
    assert sorted(actions) == ["model.promoted", "model.rolled_back"]


def test_with_nothing_served_before_there_is_nothing_to_roll_back_to(carol):
    only = candidate()
    registry.promote_if_chosen(only, 0.9, None, None)
    response = client_for(carol).post(f"/api/models/{only.pk}/rollback/")
    assert response.status_code == 409
    assert "no model was served before" in response.json()["detail"]
