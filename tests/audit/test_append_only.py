"""The audit trail can be added to, never changed or deleted: not through the ORM, not by SQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from annotator.audit.log import record
from annotator.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(alice):
    return record("label.submitted", actor=alice, instance=1)


def refused(action) -> str:
    with pytest.raises(DatabaseError) as failure, transaction.atomic():
        action()
    return str(failure.value)


def test_an_event_cannot_be_changed_through_the_orm(event):
    event.action = "nothing.happened"
    assert "append-only" in refused(event.save)
    assert "append-only" in refused(lambda: AuditEvent.objects.update(action="x"))
    event.refresh_from_db()
    assert event.action == "label.submitted"


def test_an_event_cannot_be_deleted_through_the_orm(event):
    assert "append-only" in refused(event.delete)
    assert "append-only" in refused(lambda: AuditEvent.objects.all().delete())
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_raw_sql_cannot_change_or_delete_events_either(event):
    table = AuditEvent._meta.db_table

    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    update = f"UPDATE {table} SET action = 'x'"  # noqa: S608 (a constant table name)
    delete = f"DELETE FROM {table}"  # noqa: S608
    assert "append-only" in refused(lambda: execute(update))
    assert "append-only" in refused(lambda: execute(delete))
    assert AuditEvent.objects.get(pk=event.pk).action == "label.submitted"


def test_new_events_are_still_added(event, alice):
    before = AuditEvent.objects.count()
    record("training.requested", actor=alice)
    assert AuditEvent.objects.count() == before + 1
