"""Recording a vet's finding for a slice."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotator import learning
from annotator.models import Annotation, Finding, Slice


class SliceNotFound(Exception):
    pass


class LeaseConflict(Exception):
    """Another reader holds this slice right now."""


def submit_annotation(user: AbstractBaseUser, slice_id: int, finding: str) -> Annotation:
    if finding not in Finding.values:
        raise ValueError(f"unknown finding {finding!r}")
    with transaction.atomic():
        slice_ = Slice.objects.select_for_update().filter(pk=slice_id).first()
        if slice_ is None:
            raise SliceNotFound(slice_id)
        held_by_other = (
            slice_.leased_to_id is not None
            and slice_.leased_to_id != user.pk
            and slice_.lease_expires_at is not None
            and slice_.lease_expires_at > timezone.now()
        )
        if held_by_other:
            raise LeaseConflict("another reader is labeling this slice right now")
        previous = Annotation.objects.filter(slice=slice_, annotator=user).aggregate(
            v=Max("version")
        )["v"]
        annotation = Annotation.objects.create(
            slice=slice_, annotator=user, finding=finding, version=(previous or 0) + 1
        )
        Slice.objects.filter(pk=slice_.pk).update(leased_to=None, lease_expires_at=None)
        transaction.on_commit(learning.retrain_if_due)
    return annotation
