"""What each review decision does to the label, its history and the labeling queue.

Alice and Bob label; Rita reviews; Carol is the admin.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from annotator.audit.models import AuditEvent
from annotator.errors import Conflict, Forbidden, Invalid
from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent, edit, submit, withdraw, write_version
from annotator.review import queue
from annotator.review.models import Review, ReviewItem
from annotator.review.services import decide, decide_once, returned_labels
from annotator.worklist import items
from annotator.worklist.claim import claim
from annotator.worklist.models import Lease, QueueItem
from tests.conftest import person
from tests.factories import make_series
from tests.review.helpers import label_slice, needs_two_reads

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_read_one_slice_at_a_time(settings):
    settings.QUEUE_LOOKAHEAD = 0
    settings.DOUBLE_READ_SHARE = 0.0  # the tests choose their double reads


@pytest.fixture
def slice_id() -> int:
    return make_series(slices=1).instances.get().pk


def standing(instance_id: int) -> list[tuple[str, list[str]]]:
    return [(v.reader.username, v.findings) for v in queue.standing_labels(instance_id)]


def chain(instance_id: int) -> list[tuple]:
    return list(
        Label.objects.filter(instance_id=instance_id)
        .order_by("version")
        .values_list("version", "author__username", "source", "findings", "withdrawn")
    )


def test_approve_keeps_alices_label_and_only_a_reviewer_or_admin_changes_it_later(
    alice, rita, carol, slice_id
):
    label = label_slice(alice, slice_id, ["ivde"])
    assert queue.claim_review(rita).label == label
    review = decide(rita, label.pk, "approve")
    assert (review.decision, review.result) == ("approve", None)
    assert chain(slice_id) == [(1, "alice", "reader", ["ivde"], False)]
    assert standing(slice_id) == [("alice", ["ivde"])]
    assert ReviewItem.objects.get(label=label).status == "decided"
    assert not Lease.objects.filter(kind="review").exists()  # nothing else on the slice
    event = AuditEvent.objects.get(action="review.approved")
    assert (event.actor, event.slice_id, event.data["before"], event.data["after"]) == (
        rita,
        slice_id,
        {"findings": ["ivde"], "cant_tell": None},
        {"findings": ["ivde"], "cant_tell": None},
    )
    with pytest.raises(Conflict, match="ask a reviewer to change it"):
        edit(alice, label.pk, LabelContent(findings=["ivdp"]), version=1)
    with pytest.raises(Conflict, match="ask a reviewer to change it"):
        withdraw(alice, label.pk)
    # The admin still may; her version goes to review again.
    changed = edit(carol, label.pk, LabelContent(findings=["ivdp"]), version=1)
    assert ReviewItem.objects.get(label=changed).status == "pending"


def test_correct_makes_ritas_findings_the_label_and_keeps_alices_in_history(alice, rita, slice_id):
    label = label_slice(alice, slice_id, ["ivde"])
    queue.claim_review(rita)
    box = {"finding": "ivdp", "x": 4, "y": 5, "width": 10, "height": 8}
    review = decide(rita, label.pk, "correct", findings=["ivdp"], boxes=[box])
    assert chain(slice_id) == [
        (1, "alice", "reader", ["ivde"], False),
        (2, "rita", "review", ["ivdp"], False),
    ]
    assert review.result.reader == alice  # a version of Alice's chain
    assert review.result.boxes == [
        {"finding": "ivdp", "x": 4.0, "y": 5.0, "width": 10.0, "height": 8.0}
    ]
    assert standing(slice_id) == [("alice", ["ivdp"])]
    assert not ReviewItem.objects.filter(status="pending").exists()  # a review's version
    assert QueueItem.objects.get(instance_id=slice_id).done is True  # still read
    event = AuditEvent.objects.get(action="review.corrected")
    assert (event.data["before"]["findings"], event.data["after"]["findings"]) == (
        ["ivde"],
        ["ivdp"],
    )
    with pytest.raises(Conflict, match="ask a reviewer"):
        edit(alice, review.result.pk, LabelContent(findings=["ivde"]), version=2)


def test_reject_sends_the_slice_back_to_the_queue_and_alice_sees_why(alice, bob, rita, slice_id):
    label = label_slice(alice, slice_id, ["ivde"])
    queue.claim_review(rita)
    review = decide(rita, label.pk, "reject", reason="  wrong disc space: this is L2-L3  ")
    assert review.reason == "wrong disc space: this is L2-L3"
    assert chain(slice_id) == [
        (1, "alice", "reader", ["ivde"], False),
        (2, "rita", "review", ["ivde"], True),
    ]
    assert review.result.withdrawn and standing(slice_id) == []
    assert QueueItem.objects.get(instance_id=slice_id).done is False
    returned = returned_labels(alice)
    assert [(r.label, r.slice, r.reason, r.reviewer) for r in returned] == [
        (label.pk, slice_id, "wrong disc space: this is L2-L3", "rita")
    ]
    assert returned_labels(bob) == []
    event = AuditEvent.objects.get(action="review.rejected")
    assert (event.data["after"], event.data["reason"]) == (None, review.reason)
    # Bob gets the slice from the labeling queue; his label waits for review in turn.
    assert claim(bob).current.pk == slice_id
    bobs, _ = submit(bob, slice_id, LabelContent(findings=["ivdp"]))
    assert queue.claim_review(rita).label == bobs
    # Alice's rejection stays on her list until she labels the slice again.
    assert len(returned_labels(alice)) == 1


def test_a_returned_label_leaves_the_list_once_alice_labels_the_slice_again(alice, rita, slice_id):
    label = label_slice(alice, slice_id, ["ivde"])
    queue.claim_review(rita)
    decide(rita, label.pk, "reject", reason="look again at the cord")
    assert claim(alice).current.pk == slice_id
    again, _ = submit(alice, slice_id, LabelContent(findings=["syringomyelia"]))
    assert again.version == 3
    assert returned_labels(alice) == []
    assert ReviewItem.objects.get(label=again).tier == ReviewItem.RARE


def test_a_cant_tell_label_can_be_approved_or_corrected(alice, rita):
    first, second = make_series(slices=2).instances.order_by("id").values_list("id", flat=True)
    unsure = label_slice(alice, first, cant_tell="poor_quality")
    other = label_slice(alice, second, cant_tell="artefact")
    assert queue.claim_review(rita).label == unsure
    assert decide(rita, unsure.pk, "approve").decision == "approve"
    assert standing(first) == [("alice", [])]
    assert queue.claim_review(rita).label == other
    corrected = decide(rita, other.pk, "correct", findings=["ivde"]).result
    assert (corrected.findings, corrected.cant_tell) == (["ivde"], "")


def test_nobody_reviews_their_own_label_not_even_the_admin(carol, rita, slice_id):
    label = label_slice(carol, slice_id, ["ivde"])
    assert queue.claim_review(carol) is None
    with pytest.raises(Forbidden, match="own label"):
        decide(carol, label.pk, "approve")
    assert queue.claim_review(rita).label == label


def test_a_reader_of_a_double_read_cannot_review_the_other_read(alice, rita, slice_id):
    needs_two_reads(slice_id)
    label_slice(rita, slice_id, ["ivde"])
    alices = label_slice(alice, slice_id, ["ivde"])
    # Even holding the slice (as if the lease were given by hand), Rita may not decide.
    expires = timezone.now() + timedelta(seconds=60)
    Lease.objects.create(kind="review", instance_id=slice_id, holder=rita, expires_at=expires)
    with pytest.raises(Forbidden, match="double read"):
        decide(rita, alices.pk, "approve")


def test_a_decision_needs_a_live_review_lease_on_the_slice(alice, rita, slice_id):
    dana = person("dana", "reviewer")
    label = label_slice(alice, slice_id)
    with pytest.raises(Conflict, match="ask the review queue for it first"):
        decide(rita, label.pk, "approve")
    queue.claim_review(dana)
    with pytest.raises(Conflict, match="another reviewer"):
        decide(rita, label.pk, "approve")
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Conflict, match="ask the review queue for it first"):
        decide(rita, label.pk, "approve")
    with pytest.raises(Conflict, match="expired"):
        decide(dana, label.pk, "approve")
    assert not Review.objects.exists()


def test_a_stale_version_is_a_conflict_that_names_the_current_one(alice, rita, slice_id):
    label = label_slice(alice, slice_id, ["ivde"])
    queue.claim_review(rita)
    edited = edit(alice, label.pk, LabelContent(findings=["ivdp"]), version=1)
    with pytest.raises(Conflict, match="current one is version 2"):
        decide(rita, label.pk, "approve")
    assert queue.claim_review(rita).label == edited
    withdraw(alice, edited.pk)
    with pytest.raises(Conflict, match="withdrawn meanwhile"):
        decide(rita, edited.pk, "approve")
    assert queue.claim_review(rita) is None


def test_a_retry_returns_the_stored_decision_and_a_different_one_conflicts(alice, rita, slice_id):
    label = label_slice(alice, slice_id)
    queue.claim_review(rita)
    first, created = decide_once(rita, label.pk, "correct", findings=["ivdp", "ivde"])
    again, created_again = decide_once(rita, label.pk, "correct", findings=["ivde", "ivdp"])
    assert (created, created_again, again) == (True, False, first)
    with pytest.raises(Conflict, match="already decided: correct by you"):
        decide(rita, label.pk, "approve")
    assert Review.objects.count() == 1
    assert Label.objects.count() == 2


def box(finding: str, x: float = 1) -> dict:
    return {"finding": finding, "x": x, "y": 1, "width": 9, "height": 2}


@pytest.mark.parametrize(
    ("decision", "arguments", "message"),
    [
        ("correct", {}, "needs the findings"),
        ("correct", {"findings": ["unremarkable", "ivde"]}, "cannot be combined"),
        ("correct", {"findings": ["ivde"], "boxes": [box("ivdp")]}, "marks one of the findings"),
        ("correct", {"findings": ["ivde"], "boxes": [box("ivde", x=60)]}, "outside"),
        ("reject", {"reason": "   "}, "say why"),
        ("maybe", {}, "unknown decision"),
    ],
)
def test_a_decision_missing_what_it_needs_is_refused_with_the_reason(
    alice, rita, slice_id, decision, arguments, message
):
    label = label_slice(alice, slice_id)
    queue.claim_review(rita)
    with pytest.raises(Invalid, match=message):
        decide(rita, label.pk, decision, **arguments)
    assert ReviewItem.objects.get(label=label).status == "pending"


def test_a_label_replaced_by_an_import_meanwhile_is_a_conflict_not_an_error(alice, rita, slice_id):
    label = label_slice(alice, slice_id, ["ivde"])
    queue.claim_review(rita)
    with transaction.atomic():  # as `manage.py import_labels` writes a clinic's label
        items.lock_item(slice_id)
        content = LabelContent(findings=["ivdp"])
        write_version(label.instance, alice, alice, content, label, Label.Source.IMPORT)
    with pytest.raises(Conflict, match="current one is version 2"):
        decide(rita, label.pk, "correct", findings=["neoplasia"])
    assert Label.objects.count() == 2
