"""A slice's history: every audited event about it and every version of its labels.

For reviewers and admins: it shows each reader's labels, which annotators must not see
(they read blind).
"""

from dataclasses import dataclass

from annotator.audit import display
from annotator.audit.models import AuditEvent
from annotator.imaging.models import Instance
from annotator.labeling.models import Label


@dataclass
class SliceHistory:
    instance: Instance
    events: list[display.Row]  # oldest first
    versions: list[Label]  # oldest first, with reader and author loaded


def of_slice(instance: Instance) -> SliceHistory:
    events = (
        AuditEvent.objects.filter(slice_id=instance.pk).select_related("actor").order_by("at", "id")
    )
    versions = (
        Label.objects.filter(instance=instance)
        .select_related("reader", "author")
        .order_by("created_at", "id")
    )
    return SliceHistory(instance=instance, events=display.rows(events), versions=list(versions))
