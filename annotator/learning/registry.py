"""Which model serves: promotion decided by one policy, never by which run finishes last.

The rule: a candidate is promoted when no model serves yet, or when its validation macro
AUROC is not worse than the served model's, measured on the same validation slices (both
scored afresh by the training job), by more than PROMOTION_TOLERANCE. An admin may promote
any version or roll back to the one served before; every change is audited.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from annotator.audit.log import record
from annotator.errors import Conflict
from annotator.learning.models import ModelVersion


def promoted() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.PROMOTED).first()


def should_promote(
    candidate_auroc: float | None, served: ModelVersion | None, served_auroc: float | None
) -> tuple[bool, str]:
    """(promote?, why) from both versions' macro AUROC on the same validation slices."""
    tolerance = settings.PROMOTION_TOLERANCE
    if served is None:
        return True, "no model served yet"
    if served_auroc is None:
        return True, f"model v{served.pk} could not be measured on today's validation labels"
    if candidate_auroc is None:
        return False, "no validation labels to compare with the served model"
    versus = f"validation macro AUROC {candidate_auroc:.3f} vs {served_auroc:.3f} of v{served.pk}"
    if candidate_auroc >= served_auroc - tolerance:
        return True, f"not worse: {versus} (tolerance {tolerance})"
    return False, f"worse: {versus} (tolerance {tolerance})"


def _serve(version: ModelVersion, reason: str, actor: AbstractBaseUser | None, action: str) -> None:
    """Inside a transaction holding the promoted row's lock: retire it, serve `version`."""
    now = timezone.now()
    previous = list(
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.PROMOTED)
    )
    ModelVersion.objects.filter(pk__in=[p.pk for p in previous]).update(
        status=ModelVersion.Status.RETIRED, retired_at=now
    )
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelVersion.Status.PROMOTED, promoted_at=now, decision=reason[:300]
    )
    record(action, actor=actor, target=version, reason=reason, retired=[p.pk for p in previous])
    version.status = ModelVersion.Status.PROMOTED


def promote_if_chosen(
    candidate: ModelVersion,
    candidate_auroc: float | None,
    measured_against: ModelVersion | None,
    served_auroc: float | None,
) -> bool:
    """Serve the candidate if the policy says so; one transaction.

    If another version was promoted while this one was being measured, the comparison no
    longer holds: the candidate stays a candidate (an admin may still promote it).
    """
    with transaction.atomic():
        served = (
            ModelVersion.objects.select_for_update()
            .filter(status=ModelVersion.Status.PROMOTED)
            .first()
        )
        if served != measured_against:
            chosen, reason = False, "another version was promoted while this one was measured"
        else:
            chosen, reason = should_promote(candidate_auroc, served, served_auroc)
        if not chosen:
            ModelVersion.objects.filter(pk=candidate.pk).update(decision=reason[:300])
            record("model.kept_as_candidate", target=candidate, reason=reason)
            return False
        _serve(candidate, reason, None, "model.promoted")
    return True


def promote_by_hand(version: ModelVersion, user: AbstractBaseUser) -> None:
    if version.status == ModelVersion.Status.PROMOTED:
        raise Conflict(f"model v{version.pk} is already the one served")
    with transaction.atomic():
        _serve(version, f"promoted by hand by {user.get_username()}", user, "model.promoted")


def roll_back(version: ModelVersion, user: AbstractBaseUser) -> ModelVersion:
    """Stop serving `version` (the promoted one) and serve the one promoted before it."""
    if version.status != ModelVersion.Status.PROMOTED:
        raise Conflict(f"model v{version.pk} is not the one served: nothing to roll back")
    before = (
        ModelVersion.objects.filter(
            status=ModelVersion.Status.RETIRED, promoted_at__lt=version.promoted_at
        )
        .order_by("-promoted_at")
        .first()
    )
    if before is None:
        raise Conflict(f"no model was served before v{version.pk}")
    with transaction.atomic():
        _serve(
            before,
            f"rolled back from v{version.pk} by {user.get_username()}",
            user,
            "model.rolled_back",
        )
    return before
