"""What a reader said about a slice. Rows are never changed: a change is a new version."""

from django.conf import settings
from django.db import models

from annotator.imaging.models import Instance
from annotator.vocab import CANT_TELL_LABELS, CantTell, choices


class Label(models.Model):
    """One version of one reader's label for one slice.

    A reader's versions of a slice form a chain (instance, reader, version 1, 2, ...). The
    newest version is the label; an undo is a new version marked withdrawn. An admin may
    add a version to someone else's chain: `author` says who wrote each version.
    """

    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="labels")
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    # Finding values in vocabulary order; empty when the reader could not tell.
    findings = models.JSONField(default=list, blank=True)
    cant_tell = models.CharField(
        max_length=16, choices=choices(CantTell, CANT_TELL_LABELS), blank=True
    )
    # [{"finding", "x", "y", "width", "height"}] in image pixels, (0, 0) the top-left
    # corner of the top-left pixel.
    boxes = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    withdrawn = models.BooleanField(default=False)

    class Source(models.TextChoices):
        READER = "reader", "Reader"
        IMPORT = "import", "Import"  # `manage.py import_labels`: a clinic's existing labels
        # A reviewer's decision: the corrected findings, or the withdrawal of a rejected label
        REVIEW = "review", "Review"

    # Where this version came from: a reader in the app, or an import of existing labels.
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.READER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "reader", "version"], name="one_row_per_label_version"
            )
        ]
        indexes = [models.Index(fields=["reader", "-id"]), models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        what = self.cant_tell and f"can't tell ({self.cant_tell})" or ", ".join(self.findings)
        return f"slice {self.instance_id}: {what} v{self.version}"

    def content(self) -> dict:
        """What the reader said, for comparing a repeated submit with the stored one."""
        return {
            "findings": list(self.findings),
            "cant_tell": self.cant_tell or None,
            "boxes": list(self.boxes),
            "comment": self.comment,
        }
