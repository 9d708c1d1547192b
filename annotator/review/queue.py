"""The review queue: which labels wait for a reviewer, and which slice a reviewer gets next.

Every label version a reader writes opens a review item; a newer version of the same chain
supersedes it. A double-read slice enters review only once all its reads are in: its items
exist from the first read (so their waiting time counts from then) but the claim skips them
while the slice's queue item is not done. The partial index on pending items still serves
the order; the done flag is checked on the joined queue item, one row per candidate.

A claim leases a whole slice (Lease kind "review"), under the same rule as the labeling
queue (see worklist/claim.py): the user's row lock makes one reviewer's parallel claims
return the same slice, SKIP LOCKED on PostgreSQL keeps two reviewers off the same candidate,
and the unique (kind, slice) lease is the final guard. The lease covers every pending label
of the slice: after a decision the next claim returns the same slice while labels remain.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.review.models import Decision, Review, ReviewItem
from annotator.review.tiers import refresh_tiers, tier_for  # noqa: F401  (the queue's API)
from annotator.worklist import claim as worklist
from annotator.worklist.models import Lease, LeaseKind

PENDING = ReviewItem.Status.PENDING


@dataclass
class ReviewClaim:
    """The slice a reviewer holds: the label to decide first and everything beside it."""

    lease: Lease
    item: ReviewItem  # the slice's oldest pending item
    other_labels: list[Label]  # the slice's other standing labels (another reader's read)
    tier: int  # the slice's reasons: the tiers of its pending items together
    remaining: int  # pending labels ready for review, this slice's included

    @property
    def label(self) -> Label:
        return self.item.label

    @property
    def instance(self) -> Instance:
        return self.lease.instance

    @property
    def expires_at(self) -> datetime:
        return self.lease.expires_at


def open_items_for(label: Label) -> ReviewItem | None:
    """A new label version was written: the chain's pending item is superseded, and the new
    version waits for review unless it is a withdrawal or was written by a review or an
    import. Call inside the label's transaction (it holds the slice's queue item)."""
    ReviewItem.objects.filter(
        instance_id=label.instance_id, reader_id=label.reader_id, status=PENDING
    ).exclude(label_id=label.pk).update(status=ReviewItem.Status.SUPERSEDED)
    item = None
    reviewable = label.source == Label.Source.READER
    if reviewable and not label.withdrawn:
        item, _ = ReviewItem.objects.get_or_create(
            label=label, defaults={"instance_id": label.instance_id, "reader_id": label.reader_id}
        )
    # Another read of the slice may make its readers disagree (or agree again).
    refresh_tiers([label.instance_id])
    if item is not None:
        item.refresh_from_db(fields=["tier"])
    return item


def settled(label: Label) -> bool:
    """Whether a reviewer decided this version stands: approved as it is, or written by a
    reviewer's correction. Such a label is changed by a reviewer or an admin only."""
    if label.withdrawn:
        return False
    if label.source == Label.Source.REVIEW:
        return True
    return Review.objects.filter(label=label, decision=Decision.APPROVE).exists()


def has_label_on(user: AbstractBaseUser, instance_id: int) -> bool:
    """Whether the user read this slice, or wrote a label version on it other than by a
    review decision (an admin's edit): then someone else must review it."""
    return Label.objects.filter(_labels_by(user), instance_id=instance_id).exists()


def _labels_by(user: AbstractBaseUser) -> Q:
    return Q(reader_id=user.pk) | (Q(author_id=user.pk) & ~Q(source=Label.Source.REVIEW))


def ready() -> QuerySet[ReviewItem]:
    """Pending items a reviewer may be given: all the slice's reads are in."""
    return ReviewItem.objects.filter(status=PENDING, instance__queue_item__done=True)


def open_review_items(user: AbstractBaseUser, now: datetime) -> QuerySet[ReviewItem]:
    """Ready items on slices the user has no label on and nobody else holds, best first."""
    live_lease = Lease.objects.filter(
        kind=LeaseKind.REVIEW, instance_id=OuterRef("instance_id"), expires_at__gt=now
    )
    own_label = Label.objects.filter(_labels_by(user), instance_id=OuterRef("instance_id"))
    return (
        ready()
        .filter(~Exists(live_lease), ~Exists(own_label))
        .order_by(F("tier").desc(), "waiting_since", "id")
    )


UPCOMING = 2


def upcoming(user: AbstractBaseUser, held: int) -> list[int]:
    """The slices this reviewer would most likely get next (not leased to them: a hint so
    the page can fetch their images while the reviewer looks at the current one)."""
    ids = (
        open_review_items(user, timezone.now())
        .exclude(instance_id=held)
        .values_list("instance_id", flat=True)
    )
    return list(dict.fromkeys(ids[: UPCOMING * 4]))[:UPCOMING]


def pending_on(instance_id: int) -> QuerySet[ReviewItem]:
    """The slice's ready pending items, oldest first."""
    return ready().filter(instance_id=instance_id).order_by("waiting_since", "id")


def claim_review(user: AbstractBaseUser) -> ReviewClaim | None:
    """Lease the next slice to review to this user (or renew the one held); None if none."""
    now = timezone.now()
    expires = now + timedelta(seconds=settings.REVIEW_LEASE_SECONDS)
    with transaction.atomic():
        # One reviewer's parallel claims queue up here and all get the same slice.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        lease = None
        for held in Lease.objects.filter(kind=LeaseKind.REVIEW, holder=user).order_by("id"):
            if lease is None and _still_wanted(held, user):
                lease = held
            else:
                held.delete()
        if lease is not None:
            Lease.objects.filter(pk=lease.pk).update(expires_at=expires)
        for _ in range(3):
            lease = lease or _take(user, now, expires)
            if lease is None:
                return None
            described = _describe(lease.pk)
            if described is not None:
                return described
            # Its last label was withdrawn or edited between the pick and now.
            lease.delete()
            lease = None
    return None


def _still_wanted(lease: Lease, user: AbstractBaseUser) -> bool:
    """A held slice is kept while it has labels this user may review."""
    return pending_on(lease.instance_id).exists() and not has_label_on(user, lease.instance_id)


def _take(user: AbstractBaseUser, now: datetime, expires: datetime) -> Lease | None:
    """Lease the best open slice, locking no more item rows than it needs.

    Items other claimers are locking are skipped; only if that leaves nothing does it wait
    for them (near the end of the queue, their rows may be all that is left). Two pending
    items of one slice can go to two claimers at once: the unique lease decides.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    tried: set[int] = set()
    for _ in range(4):
        candidates = open_review_items(user, now).exclude(instance_id__in=tried)
        if connection.features.has_select_for_update:
            candidates = candidates.select_for_update(skip_locked=skip_locked, of=("self",))
        item = candidates.only("id", "instance_id").first()
        if item is None:
            if not skip_locked:
                return None
            skip_locked = False
            continue
        tried.add(item.instance_id)
        lease = worklist._lease(user, LeaseKind.REVIEW, item.instance_id, now, expires)
        if lease is not None:
            return lease
    return None


def _describe(lease_id: int) -> ReviewClaim | None:
    lease = Lease.objects.select_related("instance__series__study__dog").get(pk=lease_id)
    items = list(pending_on(lease.instance_id).select_related("label__reader"))
    if not items:
        return None
    first = items[0]
    others = [label for label in standing_labels(lease.instance_id) if label.pk != first.label_id]
    tier = 0
    for item in items:
        tier |= item.tier
    return ReviewClaim(
        lease=lease, item=first, other_labels=others, tier=tier, remaining=ready().count()
    )


def standing_labels(instance_id: int) -> list[Label]:
    """The newest version of each reader's chain on the slice, unless withdrawn."""
    newest: dict[int, Label] = {}
    for label in Label.objects.filter(instance_id=instance_id).select_related("reader"):
        if label.reader_id not in newest or label.version > newest[label.reader_id].version:
            newest[label.reader_id] = label
    return sorted((v for v in newest.values() if not v.withdrawn), key=lambda v: v.pk)


def release_if_done(instance_id: int) -> bool:
    """Drop the slice's review lease once no label on it waits; True if released."""
    if pending_on(instance_id).exists():
        return False
    Lease.objects.filter(kind=LeaseKind.REVIEW, instance_id=instance_id).delete()
    return True
