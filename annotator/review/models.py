"""A second pair of eyes on each label: what waits for review, and what reviewers decided."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from annotator.imaging.models import Instance
from annotator.labeling.models import Label


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    CORRECT = "correct", "Correct"
    REJECT = "reject", "Reject"


class ReviewItem(models.Model):
    """One label version waiting for a reviewer (or no longer waiting).

    The order lives in indexed columns, like the labeling queue's: `tier` packs the
    priority reasons as bits (annotators disagreed 8, the model disagrees 4, the model was
    unsure 2, a rare finding 1), highest first, then the oldest waiting.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        DECIDED = "decided", "Decided"
        SUPERSEDED = "superseded", "Replaced by a newer version or withdrawn"

    DISAGREEMENT = 8
    MODEL_DISAGREES = 4
    MODEL_UNSURE = 2
    RARE = 1

    label = models.OneToOneField(Label, on_delete=models.PROTECT, related_name="review_item")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="review_items")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    tier = models.PositiveSmallIntegerField(default=0)
    waiting_since = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                F("tier").desc(),
                "waiting_since",
                "id",
                condition=Q(status="pending"),
                name="review_pending_order",
            ),
            models.Index(fields=["instance", "status"]),
        ]

    def __str__(self) -> str:
        return f"review of label {self.label_id} ({self.status}, tier {self.tier})"


class Review(models.Model):
    """A reviewer's decision on one label version. Rows are never changed.

    `result` is the label version the decision wrote: the reviewer's findings as a new
    version of the annotator's chain (correct), or a withdrawn version (reject, which sends
    the slice back to the labeling queue). Approve writes none.
    """

    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    findings = models.JSONField(default=list, blank=True)
    boxes = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)
    result = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["decision", "label"])]

    def __str__(self) -> str:
        return f"{self.decision} of label {self.label_id}"
