"""Who did what, when: rows are added and never changed or deleted.

The database refuses UPDATE and DELETE on this table (triggers in the migration), so not
even raw SQL through the app's connection can rewrite history.
"""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Users are deactivated, never deleted, so an actor always resolves.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=48, db_index=True)
    target_type = models.CharField(max_length=48, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # The slice the event is about, if any: a slice's history page reads by this.
    slice_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type} {self.target_id}"
