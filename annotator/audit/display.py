"""Audit events in words: who, what, on which thing, and what a value was before and after.

Events store ids and raw values (JSON); a page shows names: a user id becomes a username,
True becomes "yes", a list a comma-separated line. Usernames are looked up in one query for
a whole page of events.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model

from annotator.audit.models import AuditEvent

USER_TYPE = "auth.user"
# What a target type is called on the page.
NOUNS = {
    USER_TYPE: "user",
    "imaging.instance": "slice",
    "labeling.label": "label",
    "learning.modelversion": "model",
    "learning.trainingrun": "training run",
    "review.review": "review",
    "review.reviewitem": "review item",
}
# Keys of `data` that hold a user's id.
USER_KEYS = {"previous_holder", "holder", "reader", "reviewer", "author", "user"}


@dataclass
class Row:
    at: datetime
    who: str  # a username, or "system" for commands and jobs
    action: str
    target: str
    slice_id: int | None
    before: str | None  # None: the event replaced no value
    after: str | None
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def replaced(self) -> bool:
        return self.before is not None or self.after is not None


def rows(events: Iterable[AuditEvent]) -> list[Row]:
    """Rows for events (load them with select_related("actor"))."""
    events = list(events)
    names = _usernames(events)
    return [_row(event, names) for event in events]


def readable(value: object) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(readable(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {readable(v)}" for k, v in value.items())
    return str(value)


def _row(event: AuditEvent, names: dict[int, str]) -> Row:
    data = dict(event.data or {})
    replaced = "before" in data or "after" in data
    before, after = data.pop("before", None), data.pop("after", None)
    details = [
        (key.replace("_", " "), _value(key, value, names))
        for key, value in data.items()
        if key != "instance" or value != event.slice_id  # the slice has its own column
    ]
    return Row(
        at=event.at,
        who=event.actor.get_username() if event.actor is not None else "system",
        action=event.action,
        target=_target(event, names),
        slice_id=event.slice_id,
        before=readable(before) if replaced else None,
        after=readable(after) if replaced else None,
        details=details,
    )


def _target(event: AuditEvent, names: dict[int, str]) -> str:
    if not event.target_type:
        return ""
    noun = NOUNS.get(event.target_type, event.target_type)
    if event.target_type == USER_TYPE and event.target_id in names:
        return f"{noun} {names[event.target_id]}"
    return f"{noun} {event.target_id}"


def _value(key: str, value: object, names: dict[int, str]) -> str:
    if key in USER_KEYS and _is_id(value) and value in names:
        return names[value]
    return readable(value)


def _usernames(events: list[AuditEvent]) -> dict[int, str]:
    ids = {e.target_id for e in events if e.target_type == USER_TYPE and e.target_id}
    for event in events:
        ids |= {v for k, v in (event.data or {}).items() if k in USER_KEYS and _is_id(v)}
    if not ids:
        return {}
    User = get_user_model()
    return dict(User.objects.filter(pk__in=ids).values_list("pk", User.USERNAME_FIELD))


def _is_id(value: object) -> bool:
    return type(value) is int  # not a bool, which is an int to isinstance
