"""The work to hand out (one queue item per slice) and who holds which item right now."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from annotator.imaging.models import Instance


class LeaseKind(models.TextChoices):
    LABEL = "label", "Label"
    REVIEW = "review", "Review"


class QueueItem(models.Model):
    """A slice's place in the labeling queue.

    The order lives in indexed columns written when scores or labels change, so a claim is
    an index scan over the items that still need a read, never a sort of the whole pool.
    """

    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, related_name="queue_item")
    # Higher first: the selection strategy's score; -1 until a model has scored the slice.
    priority = models.FloatField(default=-1.0)
    # Before any model: a seeded shuffle interleaved across series types (lower first).
    base_rank = models.PositiveIntegerField(default=0)
    reads_needed = models.PositiveSmallIntegerField(default=1)
    reads_done = models.PositiveSmallIntegerField(default=0)
    # reads_done >= reads_needed, kept as a column so the partial index can cover it.
    done = models.BooleanField(default=False)
    # The slice's dog is a validation or test dog: served in stratified random order at a
    # set share of claims, never by the selection strategy, so selection cannot bias
    # evaluation.
    held_out = models.BooleanField(default=False)
    readers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        indexes = [
            models.Index(
                F("priority").desc(),
                "base_rank",
                "id",
                condition=Q(done=False, held_out=False),
                name="queue_open_items_order",
            ),
            models.Index(
                "base_rank",
                "id",
                condition=Q(done=False, held_out=True),
                name="queue_open_held_out_order",
            ),
        ]

    def __str__(self) -> str:
        return f"queue item for slice {self.instance_id}"


class QueueCounter(models.Model):
    """How many items still need a read, kept up to date instead of counted per request."""

    kind = models.CharField(max_length=8, choices=LeaseKind.choices, primary_key=True)
    remaining = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.remaining} {self.kind} items remaining"


class Lease(models.Model):
    """One user holds one slice for a while, for labeling or for review.

    One row per (kind, slice), so two people never hold the same slice for the same kind of
    work; an expired row is taken over by the next claimer.
    """

    kind = models.CharField(max_length=8, choices=LeaseKind.choices)
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="leases")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "instance"], name="one_lease_per_item_and_kind")
        ]
        indexes = [models.Index(fields=["holder", "kind", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} lease on slice {self.instance_id} until {self.expires_at:%H:%M:%S}"
