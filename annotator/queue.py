"""The labeling queue: which unlabeled slice a vet gets next, and the lease on it.

Selection is cheap and reads stored scores (the scoring job wrote them): the active
model's uncertainty first, and before any model a shuffled order interleaved across
series types, so the first labels cover every plane and weighting.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from annotator.models import Annotation, ModelVersion, Prediction, Slice


@dataclass
class Claim:
    slice: Slice
    lease_expires_at: datetime
    prediction: Prediction | None


def unlabeled() -> QuerySet[Slice]:
    return Slice.objects.filter(~Exists(Annotation.objects.filter(slice=OuterRef("pk"))))


def active_model() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).order_by("-id").first()


def ranked(candidates: QuerySet[Slice], model: ModelVersion | None) -> QuerySet[Slice]:
    """Most uncertain first under the active model; slices it has not scored come after."""
    if model is None:
        return candidates.order_by("base_rank", "id")
    uncertainty = Prediction.objects.filter(slice=OuterRef("pk"), model_version=model)
    return candidates.annotate(
        uncertainty=Subquery(uncertainty.values("uncertainty")[:1])
    ).order_by(F("uncertainty").desc(nulls_last=True), "base_rank", "id")


def claim_next(user: AbstractBaseUser) -> Claim | None:
    """Lease the best unlabeled slice nobody else holds to this user, or None if done.

    On PostgreSQL, rows another claimer has locked are skipped (SKIP LOCKED), so two vets
    asking at once get different slices without waiting. SQLite runs every transaction
    with BEGIN IMMEDIATE (see settings), so claims there are simply serialised.
    """
    now = timezone.now()
    expires = now + timedelta(seconds=settings.QUEUE_LEASE_SECONDS)
    model = active_model()
    with transaction.atomic():
        free = Q(leased_to__isnull=True) | Q(lease_expires_at__lte=now) | Q(leased_to=user)
        # The page shows the series and the dog too: fetch them in the same query.
        candidates = ranked(unlabeled().filter(free).select_related("series__study__dog"), model)
        # A slice this user already holds comes back first (a reload must not skip it).
        mine = candidates.filter(leased_to=user, lease_expires_at__gt=now)
        if connection.features.has_select_for_update_skip_locked:
            mine = mine.select_for_update(skip_locked=True, of=("self",))
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        chosen = mine.first() or candidates.first()
        if chosen is None:
            return None
        Slice.objects.filter(pk=chosen.pk).update(leased_to=user, lease_expires_at=expires)
        chosen.leased_to, chosen.lease_expires_at = user, expires
    prediction = None
    if model is not None:
        prediction = Prediction.objects.filter(slice=chosen, model_version=model).first()
    return Claim(slice=chosen, lease_expires_at=expires, prediction=prediction)


def reshuffle_base_order() -> None:
    """Give every slice its pre-model rank: a seeded shuffle within each series type
    (plane × weighting), then the types interleaved round-robin.

    The shuffle key is a hash of the seed and the instance UID, so re-ingesting or adding
    dogs never reorders slices that were already ranked relative to each other.
    """
    rows = Slice.objects.values_list(
        "id", "sop_instance_uid", "series__plane", "series__sequence", "base_rank"
    )
    groups: dict[tuple[str, str], list[tuple[str, int]]] = {}
    current: dict[int, int] = {}
    for pk, uid, plane, sequence, rank in rows:
        key = hashlib.sha256(f"{settings.QUEUE_SHUFFLE_SEED}:{uid}".encode()).hexdigest()
        groups.setdefault((plane, sequence), []).append((key, pk))
        current[pk] = rank
    ordered_groups = [sorted(members) for _, members in sorted(groups.items())]
    changed = [
        Slice(pk=pk, base_rank=position * len(ordered_groups) + group_index)
        for group_index, members in enumerate(ordered_groups)
        for position, (_, pk) in enumerate(members)
        if current[pk] != position * len(ordered_groups) + group_index
    ]
    # Small batches, each its own transaction: on PostgreSQL a claim skips locked rows,
    # so one long transaction over every slice would make the queue look empty.
    for start in range(0, len(changed), 200):
        Slice.objects.bulk_update(changed[start : start + 200], ["base_rank"])
