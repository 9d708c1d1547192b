"""Which model version serves: promotion decided by one policy, never by arrival order.

Until the model issue brings its not-worse rule on the validation dogs, the newest run
(by creation order) wins: a run that was requested earlier but finishes later stays a
candidate.
"""

from django.db import transaction
from django.utils import timezone

from annotator.audit.log import record
from annotator.learning.models import ModelVersion


def promoted() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.PROMOTED).first()


def should_promote(candidate: ModelVersion) -> tuple[bool, str]:
    """(promote?, why) for a candidate against the promoted version."""
    current = promoted()
    if current is None:
        return True, "no model served yet"
    if candidate.run_id > current.run_id:
        return True, f"newer run than model v{current.pk} (run {current.run_id})"
    return False, f"model v{current.pk} comes from a newer run ({current.run_id})"


def promote_if_chosen(candidate: ModelVersion) -> bool:
    """Serve the candidate if the policy says so, retiring the one before; one transaction.

    The decision is taken again under the lock, so two runs finishing together cannot
    both win.
    """
    now = timezone.now()
    with transaction.atomic():
        previous = list(
            ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.PROMOTED)
        )
        chosen, reason = should_promote(candidate)
        if not chosen:
            ModelVersion.objects.filter(pk=candidate.pk).update(decision=reason[:300])
            record("model.kept_as_candidate", target=candidate, reason=reason)
            return False
        ModelVersion.objects.filter(pk__in=[p.pk for p in previous]).update(
            status=ModelVersion.Status.RETIRED, retired_at=now
        )
        ModelVersion.objects.filter(pk=candidate.pk).update(
            status=ModelVersion.Status.PROMOTED, promoted_at=now, decision=reason[:300]
        )
        record("model.promoted", target=candidate, reason=reason, retired=[p.pk for p in previous])
    candidate.status = ModelVersion.Status.PROMOTED
    return True
