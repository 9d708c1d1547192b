"""A reviewer's decision on one label version, and the labels sent back to their readers.

Approve leaves the label as it is (the Review names it). Correct writes the reviewer's
findings as a new version of the reader's chain; the reader's version stays in history.
Reject writes a withdrawn version of the chain and puts the slice back into the labeling
queue, and the reader finds it among their returned labels until they label it again.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotator.audit.log import record
from annotator.errors import Conflict, Forbidden, Invalid, NotFound
from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent, latest, write_version
from annotator.learning import policy
from annotator.review import queue
from annotator.review.models import Decision, Review, ReviewItem
from annotator.worklist import items
from annotator.worklist.models import Lease, LeaseKind

MAX_RETURNED = 100


@dataclass
class Returned:
    """One of a reader's labels a reviewer rejected, not labeled again since."""

    label: int
    slice: int
    series: int
    # Where the slice is, in words a vet knows: the dog, the series and the slice's place
    dog: str
    series_description: str
    plane: str
    sequence: str
    instance_number: int | None
    findings: list[str]
    cant_tell: str
    reason: str
    reviewer: str
    decided_at: datetime


def decide(
    reviewer: AbstractBaseUser,
    label_id: int,
    decision: str,
    findings: list[str] | None = None,
    boxes: list[dict] | None = None,
    reason: str = "",
) -> Review:
    """Record the reviewer's decision on the label version (see `decide_once`)."""
    return decide_once(reviewer, label_id, decision, findings, boxes, reason)[0]


def decide_once(
    reviewer: AbstractBaseUser,
    label_id: int,
    decision: str,
    findings: list[str] | None = None,
    boxes: list[dict] | None = None,
    reason: str = "",
) -> tuple[Review, bool]:
    """Record the decision; returns (review, created).

    A repeat of the reviewer's stored decision (a retry, a double click) returns it; any
    other decision on a label already decided is a conflict. Findings and boxes count only
    for "correct"; approve and reject keep the label's own.
    """
    if decision not in Decision.values:
        raise Invalid(f"unknown decision {decision!r}: choose one of {', '.join(Decision.values)}")
    reason = (reason or "").strip()
    with transaction.atomic():
        label = Label.objects.select_related("reader", "instance").filter(pk=label_id).first()
        if label is None:
            raise NotFound("no such label")
        items.lock_item(label.instance_id)  # decisions and label changes of a slice queue up
        _check_not_own(reviewer, label)
        wanted = _normalised(label, decision, findings, boxes, reason)
        stored = Review.objects.filter(label=label).order_by("id").first()
        if stored is not None:
            if stored.reviewer_id == reviewer.pk and _as_sent(stored) == _as_sent(wanted):
                return stored, False
            who = "you" if stored.reviewer_id == reviewer.pk else stored.reviewer.get_username()
            raise Conflict(f"this label was already decided: {stored.decision} by {who}")
        item = _pending_item(label)
        _check_lease(reviewer, label.instance_id)
        review = _apply(reviewer, label, item, wanted)
        queue.refresh_tiers([label.instance_id])
        queue.release_if_done(label.instance_id)
        # An approval or a correction may make a label count for training now.
        transaction.on_commit(policy.labels_changed)
    return review, True


def _check_not_own(reviewer: AbstractBaseUser, label: Label) -> None:
    if reviewer.pk in (label.reader_id, label.author_id):
        raise Forbidden("nobody reviews their own label: another reviewer must decide this one")
    if queue.has_label_on(reviewer, label.instance_id):
        raise Forbidden(
            "you labeled this slice yourself (a double read): another reviewer must decide it"
        )


def _normalised(
    label: Label, decision: str, findings: list[str] | None, boxes: list[dict] | None, reason: str
) -> Review:
    """The decision as it would be stored, after the rules of its kind (400 if broken)."""
    review = Review(label=label, decision=decision, reason=reason)
    if decision == Decision.CORRECT:
        if not findings:
            raise Invalid("a correction needs the findings the label should have")
        content = LabelContent(findings=list(findings), boxes=list(boxes or []))
        content.check(label.instance)
        review.findings, review.boxes = content.findings, content.boxes
    elif decision == Decision.REJECT and not reason:
        raise Invalid("say why the label is rejected: the reader sees the reason")
    return review


def _as_sent(review: Review) -> tuple:
    return review.decision, review.findings, review.boxes, review.reason


def _pending_item(label: Label) -> ReviewItem:
    """The label's review item, if it still waits; else a conflict naming what stands."""
    current = latest(label.instance_id, label.reader_id)
    item = ReviewItem.objects.filter(label=label).first()
    if current == label and item is not None and item.status == ReviewItem.Status.PENDING:
        return item
    if current is not None and current.pk != label.pk:
        if current.withdrawn:
            raise Conflict(
                f"this label was withdrawn meanwhile (version {current.version}): "
                "ask the review queue for the next one"
            )
        raise Conflict(
            f"this label changed meanwhile: you reviewed version {label.version}, the current "
            f"one is version {current.version} (label {current.pk}); review that one"
        )
    raise Conflict("this label is not waiting for review")


def _check_lease(reviewer: AbstractBaseUser, instance_id: int) -> None:
    held = Lease.objects.filter(kind=LeaseKind.REVIEW, instance_id=instance_id).first()
    now = timezone.now()
    if held is not None and held.holder_id != reviewer.pk and held.expires_at > now:
        raise Conflict("another reviewer is reviewing this slice right now")
    if held is None or held.holder_id != reviewer.pk:
        raise Conflict("you do not hold this slice: ask the review queue for it first")
    if held.expires_at <= now:
        raise Conflict("your lease on this slice expired: ask the review queue for it again")


def _apply(reviewer: AbstractBaseUser, label: Label, item: ReviewItem, review: Review) -> Review:
    """Write the decision's rows and its audit event (inside the caller's transaction)."""
    before = {"findings": label.findings, "cant_tell": label.cant_tell or None}
    after: dict | None = before
    if review.decision == Decision.CORRECT:
        content = LabelContent(findings=review.findings, boxes=review.boxes, comment=label.comment)
        review.result = write_version(
            label.instance, label.reader, reviewer, content, label, source=Label.Source.REVIEW
        )
        after = {"findings": review.result.findings, "cant_tell": None}
    elif review.decision == Decision.REJECT:
        review.result = Label.objects.create(
            instance_id=label.instance_id,
            reader_id=label.reader_id,
            author=reviewer,
            version=label.version + 1,
            findings=label.findings,
            cant_tell=label.cant_tell,
            boxes=label.boxes,
            comment=label.comment,
            source=Label.Source.REVIEW,
            withdrawn=True,
        )
        items.unmark_read(label.instance_id, label.reader)
        after = None
    review.reviewer = reviewer
    review.save()
    ReviewItem.objects.filter(pk=item.pk).update(status=ReviewItem.Status.DECIDED)
    record(
        f"review.{_PAST[review.decision]}",
        actor=reviewer,
        target=review,
        slice_id=label.instance_id,
        label=label.pk,
        result=review.result_id,
        before=before,
        after=after,
        reason=review.reason,
    )
    return review


_PAST = {Decision.APPROVE: "approved", Decision.CORRECT: "corrected", Decision.REJECT: "rejected"}


def returned_count(user: AbstractBaseUser) -> int:
    """How many of the user's labels wait on their returned list (for the page header)."""
    return len(returned_labels(user))


def returned_labels(user: AbstractBaseUser) -> list[Returned]:
    """The user's labels a reviewer rejected, newest first, while the user has not labeled
    that slice again (at most MAX_RETURNED)."""
    relabeled = Label.objects.filter(
        instance_id=OuterRef("label__instance_id"),
        reader_id=user.pk,
        version__gt=OuterRef("result__version"),
    )
    rejections = (
        Review.objects.filter(decision=Decision.REJECT, label__reader=user)
        .filter(~Exists(relabeled))
        .select_related("label__instance__series__study__dog", "reviewer")
        .order_by("-created_at", "-id")[:MAX_RETURNED]
    )
    return [
        Returned(
            label=r.label_id,
            slice=r.label.instance_id,
            series=r.label.instance.series_id,
            dog=r.label.instance.series.study.dog.patient_id,
            series_description=r.label.instance.series.description,
            plane=r.label.instance.series.plane,
            sequence=r.label.instance.series.sequence,
            instance_number=r.label.instance.instance_number,
            findings=list(r.label.findings),
            cant_tell=r.label.cant_tell,
            reason=r.reason,
            reviewer=r.reviewer.get_username(),
            decided_at=r.created_at,
        )
        for r in rejections
    ]
