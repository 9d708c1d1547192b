"""The one lease rule: which slice a user gets next, for labeling (and for review next).

A claim leases the current item plus up to DACHS_LOOKAHEAD further items to the user, so
the page can prefetch them; repeated or parallel claims return the same set. Only the
current item (the user's oldest lease) may be submitted.

Selection is an index scan: the order lives in QueueItem's indexed columns, written when
scores or labels change (see items.py). On PostgreSQL, items another claimer has locked are
skipped (SKIP LOCKED); SQLite runs every transaction with BEGIN IMMEDIATE (see settings), so
claims there are serialised. The unique (kind, slice) lease row is the final guard.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from annotator.audit.log import record
from annotator.errors import Conflict
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.worklist.models import Lease, LeaseKind, QueueItem


@dataclass
class Claim:
    """The user's leased items, current first, all with one expiry."""

    leases: list[Lease]
    expires_at: datetime

    @property
    def current(self) -> Instance:
        return self.leases[0].instance

    @property
    def lookahead(self) -> list[Instance]:
        return [lease.instance for lease in self.leases[1:]]


def open_label_items(
    user: AbstractBaseUser, now: datetime, held_out: bool = False
) -> QuerySet[QueueItem]:
    """Items of one pool that need a read, not by this user, that nobody holds, best first.

    Training dogs' slices come in the selection strategy's order (priority); validation and
    test dogs' slices in their stratified random order (base_rank), whatever a model says.
    """
    live_lease = Lease.objects.filter(
        kind=LeaseKind.LABEL, instance_id=OuterRef("instance_id"), expires_at__gt=now
    )
    read_by_user = QueueItem.readers.through.objects.filter(
        queueitem_id=OuterRef("pk"), user_id=user.pk
    )
    items = QueueItem.objects.filter(done=False, held_out=held_out).filter(
        ~Exists(live_lease), ~Exists(read_by_user)
    )
    if held_out:
        return items.order_by("base_rank", "id")
    return items.order_by(F("priority").desc(), "base_rank", "id")


def still_wanted(lease: Lease, user: AbstractBaseUser) -> bool:
    """A held item someone labeled meanwhile (or this user already read) is let go."""
    item = QueueItem.objects.filter(instance_id=lease.instance_id).first()
    return item is not None and not item.done and not item.readers.filter(pk=user.pk).exists()


def claim(user: AbstractBaseUser, kind: str = LeaseKind.LABEL) -> Claim | None:
    """Lease the current item and the lookahead to this user; None when nothing is left."""
    if kind != LeaseKind.LABEL:
        raise ValueError(f"no queue for {kind!r} yet")
    now = timezone.now()
    expires = now + timedelta(seconds=settings.QUEUE_LEASE_SECONDS)
    wanted = 1 + max(0, settings.QUEUE_LOOKAHEAD)
    with transaction.atomic():
        # One user's parallel claims queue up behind this row lock (PostgreSQL), so they
        # all return the same set instead of each taking new items.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        mine = list(Lease.objects.filter(kind=kind, holder=user).order_by("id"))
        keep = [lease for lease in mine if still_wanted(lease, user)]
        Lease.objects.filter(pk__in=[m.pk for m in mine if m not in keep]).delete()
        Lease.objects.filter(pk__in=[k.pk for k in keep]).update(expires_at=expires)
        if len(keep) < wanted:
            keep += _take(user, kind, wanted - len(keep), now, expires)
    if not keep:
        return None
    leases = list(
        Lease.objects.filter(pk__in=[k.pk for k in keep])
        .select_related("instance__series__study__dog")
        .order_by("id")
    )
    return Claim(leases=leases, expires_at=expires)


def _take(
    user: AbstractBaseUser, kind: str, count: int, now: datetime, expires: datetime
) -> list[Lease]:
    """Lease up to `count` open items, each from the held-out pool at the set share."""
    taken: list[Lease] = []
    tried: set[int] = set()
    for _ in range(count):
        first = random.random() < settings.QUEUE_HELD_OUT_SHARE
        lease = _take_one(user, kind, first, now, expires, tried) or _take_one(
            user, kind, not first, now, expires, tried
        )
        if lease is None:
            break
        taken.append(lease)
    return taken


def _take_one(
    user: AbstractBaseUser,
    kind: str,
    held_out: bool,
    now: datetime,
    expires: datetime,
    tried: set[int],
) -> Lease | None:
    """Lease the pool's best open item, locking no more rows than it needs.

    Rows other claimers are locking are skipped; only if that leaves nothing does it wait
    for them once (near the end of the queue, the rows they lock may be all that is left).
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    for _ in range(4):
        candidates = open_label_items(user, now, held_out).exclude(pk__in=tried)
        if connection.features.has_select_for_update:
            candidates = candidates.select_for_update(skip_locked=skip_locked, of=("self",))
        item = candidates.first()
        if item is None:
            if not skip_locked:
                return None
            skip_locked = False  # wait once for rows locked by other claimers
            continue
        tried.add(item.pk)
        lease = _lease(user, kind, item.instance_id, now, expires)
        if lease is not None:
            return lease
    return None


def _lease(
    user: AbstractBaseUser, kind: str, instance_id: int, now: datetime, expires: datetime
) -> Lease | None:
    """Lease one item, taking over an expired lease; None if someone else got it first."""
    try:
        with transaction.atomic():
            expired = (
                Lease.objects.select_for_update()
                .filter(kind=kind, instance_id=instance_id, expires_at__lte=now)
                .first()
            )
            if expired is not None:
                record(
                    "lease.taken_over",
                    actor=user,
                    target=expired.instance,
                    slice_id=instance_id,
                    kind=kind,
                    previous_holder=expired.holder_id,
                    expired_at=expired.expires_at.isoformat(),
                )
                expired.delete()
            return Lease.objects.create(
                kind=kind, instance_id=instance_id, holder=user, expires_at=expires
            )
    except IntegrityError:  # a concurrent claimer leased it between our read and insert
        return None


def current_lease(user: AbstractBaseUser, kind: str = LeaseKind.LABEL) -> Lease | None:
    """The user's current item (oldest lease), live or not."""
    return Lease.objects.filter(kind=kind, holder=user).order_by("id").first()


def require_current(user: AbstractBaseUser, instance_id: int, kind: str = LeaseKind.LABEL) -> Lease:
    """The user's live lease on this slice, if it is their current item; else Conflict."""
    lease = current_lease(user, kind)
    held = Lease.objects.filter(kind=kind, instance_id=instance_id).first()
    now = timezone.now()
    if held is not None and held.holder_id != user.pk and held.expires_at > now:
        raise Conflict("another reader is labeling this slice right now")
    if held is None or held.holder_id != user.pk:
        raise Conflict("you do not hold this slice: ask the queue for it first")
    if held.expires_at <= now:
        raise Conflict("your lease on this slice expired: ask the queue for it again")
    if lease is None or lease.pk != held.pk:
        raise Conflict("this slice is one of your next ones: label the current slice first")
    return held


def renew(user: AbstractBaseUser, kind: str = LeaseKind.LABEL) -> datetime | None:
    """Keep the user's leases while their page is open; None when they hold none.

    An expired lease nobody took over yet is still the user's row and is renewed too: the
    page was open all along, only a keepalive came late.
    """
    expires = timezone.now() + timedelta(seconds=settings.QUEUE_LEASE_SECONDS)
    renewed = Lease.objects.filter(kind=kind, holder=user).update(expires_at=expires)
    return expires if renewed else None


def release(user: AbstractBaseUser, kind: str = LeaseKind.LABEL) -> int:
    """The user left the page: their slices go back to the queue now, not at expiry."""
    with transaction.atomic():
        leases = list(Lease.objects.filter(kind=kind, holder=user).values_list("instance_id"))
        Lease.objects.filter(kind=kind, holder=user).delete()
        if leases:
            record("lease.released", actor=user, kind=kind, slices=[i for (i,) in leases])
    return len(leases)


def take_back(user: AbstractBaseUser, instance_id: int) -> Claim:
    """Lease a slice the user just withdrew their label of, as their current item (undo).

    The current item is the user's oldest lease, so the other leases are re-created after
    this one; they keep their expiry. Conflict if the slice needs no read from this user or
    another reader holds it now.
    """
    now = timezone.now()
    expires = now + timedelta(seconds=settings.QUEUE_LEASE_SECONDS)
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        item = QueueItem.objects.filter(instance_id=instance_id).first()
        if item is None:
            raise Conflict("this slice is not in the labeling queue")
        if item.done or item.readers.filter(pk=user.pk).exists():
            raise Conflict("this slice needs no further read from you")
        # Only an undo: otherwise anyone could pick slices past the queue's order.
        newest = (
            Label.objects.filter(instance_id=instance_id, reader=user).order_by("-version").first()
        )
        if newest is None or not newest.withdrawn:
            raise Conflict("only a slice whose label you withdrew can be taken back")
        held = Lease.objects.filter(kind=LeaseKind.LABEL, instance_id=instance_id).first()
        if held is not None and held.holder_id != user.pk and held.expires_at > now:
            raise Conflict("another reader took this slice meanwhile")
        if held is not None:
            held.delete()
        others = list(
            Lease.objects.filter(kind=LeaseKind.LABEL, holder=user).order_by("id").values()
        )
        Lease.objects.filter(pk__in=[o["id"] for o in others]).delete()
        Lease.objects.create(
            kind=LeaseKind.LABEL, instance_id=instance_id, holder=user, expires_at=expires
        )
        for other in others:
            Lease.objects.create(
                kind=LeaseKind.LABEL,
                instance_id=other["instance_id"],
                holder=user,
                expires_at=other["expires_at"],
            )
        record("lease.taken_back", actor=user, target=item.instance, slice_id=instance_id)
    leases = list(
        Lease.objects.filter(kind=LeaseKind.LABEL, holder=user)
        .select_related("instance__series__study__dog")
        .order_by("id")
    )
    return Claim(leases=leases, expires_at=expires)
