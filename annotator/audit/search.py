"""The audit log's filters: by user, by kind of event and by date, in the clinic's time zone.

Whatever a URL carries is checked here; a bad value becomes a message on the page, never
an error page.
"""

import re
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from annotator.audit.models import AuditEvent

# An action ("review.decided"), a family ("review") or a prefix ending in a dot ("review.").
KIND = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*\.?$")
DATE_HELP = "enter a date as YYYY-MM-DD."


class EventFilter(forms.Form):
    """The query string of /audit/: user, kind, from, to (all optional)."""

    user = forms.CharField(required=False, max_length=150, strip=True)
    kind = forms.CharField(required=False, max_length=48, strip=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: these two fields cannot be declared as attributes.
        for name in ("from", "to"):
            self.fields[name] = forms.DateField(
                required=False,
                input_formats=["%Y-%m-%d"],
                error_messages={"invalid": DATE_HELP},
            )

    def clean_user(self) -> str:
        username = self.cleaned_data["user"]
        if username and not get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(f"nobody is called {username!r}.")
        return username

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        if kind and not KIND.match(kind):
            raise forms.ValidationError(
                "give an action such as label.submitted, or a prefix such as review."
            )
        return kind

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise forms.ValidationError(f"From ({start}) is after to ({end}).")
        return cleaned


def matching(filters: dict) -> QuerySet[AuditEvent]:
    """Events that pass the cleaned filters, newest first."""
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-id")
    if filters.get("user"):
        events = events.filter(actor__username=filters["user"])
    kind = filters.get("kind")
    if kind and kind.endswith("."):
        events = events.filter(action__startswith=kind)
    elif kind:
        events = events.filter(Q(action=kind) | Q(action__startswith=f"{kind}."))
    start = _midnight_before(filters.get("from"))
    if start is not None:
        events = events.filter(at__gte=start)
    end = _midnight_before(_next_day(filters.get("to")))
    if end is not None:
        events = events.filter(at__lt=end)
    return events


def kinds() -> list[str]:
    """The actions present, each family as a prefix ("review.") before its actions."""
    actions = AuditEvent.objects.order_by().values_list("action", flat=True).distinct()
    choices = set(actions) | {f"{a.split('.')[0]}." for a in actions if "." in a}
    return sorted(choices)


def _next_day(day: date | None) -> date | None:
    if day is None or day == date.max:
        return None  # "to" the last day there is: no upper bound
    return day + timedelta(days=1)


def _midnight_before(day: date | None) -> datetime | None:
    """The start of `day` in TIME_ZONE; None (no bound) for none or a date beyond the
    range a datetime can hold in UTC."""
    if day is None:
        return None
    try:
        start = datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())
        return start.astimezone(UTC)
    except OverflowError:
        return None
