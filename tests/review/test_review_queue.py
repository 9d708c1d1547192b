"""The review queue: which label a reviewer sees next, and that two never hold one slice.

Alice and Bob label; Rita and Dana review.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.audit.models import AuditEvent
from annotator.labeling.services import LabelContent, edit, withdraw
from annotator.review import queue
from annotator.review.models import ReviewItem
from annotator.review.services import decide
from annotator.review.tiers import UNSURE_ENTROPY_NATS
from annotator.worklist.models import Lease
from tests.conftest import person
from tests.factories import make_series
from tests.review.helpers import label_slice, needs_two_reads, review_all_of_slice, serve_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_read_one_slice_at_a_time(settings):
    settings.QUEUE_LOOKAHEAD = 0
    settings.DOUBLE_READ_SHARE = 0.0  # the tests choose their double reads


def slices(count: int) -> list[int]:
    series = make_series(slices=count)
    return list(series.instances.order_by("id").values_list("id", flat=True))


def test_disagreement_then_the_model_then_rare_findings_then_the_oldest_come_first(
    alice, bob, rita
):
    plain_old, rare, unsure, model_disagrees, double, plain_new = slices(6)
    needs_two_reads(double)
    # Written oldest first: age alone would put plain_old first.
    label_slice(alice, plain_old, ["ivde"])
    label_slice(alice, rare, ["neoplasia"])
    label_slice(alice, unsure, ["ivde"])
    label_slice(alice, model_disagrees, ["ivde"])
    label_slice(alice, double, ["ivde"])
    label_slice(bob, double, ["ivdp"])
    label_slice(alice, plain_new, ["unremarkable"])
    serve_model(
        {
            unsure: {"ivde": 0.7},
            model_disagrees: {"ivdp": 0.95},
            plain_old: {"ivde": 0.9},
            plain_new: {},
        },
        entropy={unsure: UNSURE_ENTROPY_NATS + 0.1},
    )
    order = []
    while decided := review_all_of_slice(rita):
        order.append(ReviewItem.objects.get(label_id=decided[0]).instance_id)
    assert order == [double, model_disagrees, unsure, rare, plain_old, plain_new]


def test_the_model_unsure_rule_is_the_stated_entropy_threshold(alice, rita):
    just_below, at_threshold = slices(2)
    label_slice(alice, just_below, ["ivde"])
    label_slice(alice, at_threshold, ["ivde"])
    serve_model(
        {just_below: {"ivde": 0.9}, at_threshold: {"ivde": 0.9}},
        entropy={just_below: UNSURE_ENTROPY_NATS - 0.01, at_threshold: UNSURE_ENTROPY_NATS},
    )
    tiers = dict(ReviewItem.objects.values_list("instance_id", "tier"))
    assert tiers == {just_below: 0, at_threshold: ReviewItem.MODEL_UNSURE}


def test_new_predictions_reorder_the_waiting_labels(alice, rita):
    first, second = slices(2)
    label_slice(alice, first, ["ivde"])
    label_slice(alice, second, ["ivde"])
    assert queue.claim_review(rita).instance.pk == first
    Lease.objects.all().delete()  # Rita closed the page; her lease is gone
    serve_model({first: {"ivde": 0.9}, second: {"syringomyelia": 0.8}})
    held = queue.claim_review(rita)
    assert held.instance.pk == second
    assert held.tier == ReviewItem.MODEL_DISAGREES


def test_a_double_read_waits_for_its_second_read_then_comes_as_one_slice(alice, bob, rita):
    (double,) = slices(1)
    needs_two_reads(double)
    first = label_slice(alice, double, ["ivde"])
    assert ReviewItem.objects.get(label=first).tier == 0
    assert queue.claim_review(rita) is None  # Bob's read is not in yet
    second = label_slice(bob, double, ["ivde", "ivdp"])
    # The second read disagrees: both labels move up, the first one too.
    assert set(ReviewItem.objects.values_list("tier", flat=True)) == {ReviewItem.DISAGREEMENT}
    held = queue.claim_review(rita)
    assert (held.label, held.other_labels) == (first, [second])
    decide(rita, first.pk, "approve")
    again = queue.claim_review(rita)
    assert (again.instance.pk, again.label, again.other_labels) == (double, second, [first])
    decide(rita, second.pk, "correct", findings=["ivde"])
    assert not Lease.objects.filter(kind="review").exists()
    assert queue.claim_review(rita) is None


def test_a_reviewer_who_read_a_double_read_slice_never_gets_it(alice, rita):
    dana = person("dana", "reviewer")
    (double,) = slices(1)
    needs_two_reads(double)
    label_slice(rita, double, ["ivde"])  # reviewers label too
    label_slice(alice, double, ["ivde"])
    assert queue.claim_review(rita) is None
    assert queue.claim_review(dana).instance.pk == double


def test_one_reviewer_holds_one_slice_and_another_reviewer_gets_the_next(alice, rita):
    dana = person("dana", "reviewer")
    first, second = slices(2)
    label_slice(alice, first)
    label_slice(alice, second)
    held = queue.claim_review(rita)
    assert queue.claim_review(rita).instance == held.instance  # a reload
    assert queue.claim_review(dana).instance.pk == ({first, second} - {held.instance.pk}).pop()
    assert queue.claim_review(person("eve", "reviewer")) is None
    assert Lease.objects.filter(kind="review").count() == 2


def test_an_expired_review_lease_is_taken_over_and_audited(alice, rita):
    dana = person("dana", "reviewer")
    (only,) = slices(1)
    label_slice(alice, only)
    queue.claim_review(rita)
    assert queue.claim_review(dana) is None
    Lease.objects.filter(holder=rita).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert queue.claim_review(dana).instance.pk == only
    event = AuditEvent.objects.get(action="lease.taken_over")
    assert (event.actor, event.data["kind"], event.data["previous_holder"]) == (
        dana,
        "review",
        rita.pk,
    )


def test_an_edit_replaces_the_waiting_label_and_a_withdrawal_removes_it(alice, rita):
    first, second = slices(2)
    label = label_slice(alice, first, ["ivde"])
    edited = edit(alice, label.pk, LabelContent(findings=["fce_annpe"]), version=1)
    pending = ReviewItem.objects.filter(status="pending")
    assert list(pending.values_list("label_id", "tier")) == [(edited.pk, ReviewItem.RARE)]
    assert ReviewItem.objects.get(label=label).status == "superseded"
    withdraw(alice, edited.pk)
    assert not pending.exists()
    assert queue.claim_review(rita) is None


def test_refreshing_tiers_writes_only_what_changed(alice):
    ids = slices(3)
    for pk in ids:
        label_slice(alice, pk, ["ivde"])
    assert queue.refresh_tiers(ids) == 0
    serve_model({ids[0]: {"ivdp": 0.9}})  # refreshes that slice itself
    assert queue.refresh_tiers(ids) == 0
    assert ReviewItem.objects.get(instance_id=ids[0]).tier == ReviewItem.MODEL_DISAGREES
