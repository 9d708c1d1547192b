"""`record()`: the one way anything writes to the audit trail."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from annotator.audit.models import AuditEvent


def record(
    action: str,
    actor: AbstractBaseUser | None = None,
    target: models.Model | None = None,
    *,
    slice_id: int | None = None,
    **data: object,
) -> AuditEvent:
    """Add one event; call it inside the transaction of the change it describes.

    `slice_id` names the slice the event concerns (a label, a review, a lease), so the
    slice's history lists it; `data` holds what changed, with "before" and "after" where a
    value was replaced.
    """
    return AuditEvent.objects.create(
        slice_id=slice_id,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=target.pk if target is not None else None,
        data=data,
    )
