"""The demo's accounts: two vets who label, one who reviews and the clinic's admin."""

import pytest
from django.contrib.auth import authenticate

from annotator.accounts.roles import role_of
from annotator.audit.models import AuditEvent
from annotator.web.management.commands.demo import ensure_demo_users

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_person_in_every_role(tmp_path):
    logins = ensure_demo_users(tmp_path / "demo-logins.txt")

    assert [(name, role) for name, role, _ in logins] == [
        ("vet1", "annotator"),
        ("vet2", "annotator"),
        ("reviewer", "reviewer"),
        ("admin", "admin"),
    ]
    for name, role, password in logins:
        user = authenticate(username=name, password=password)
        assert user is not None and role_of(user) == role
    assert (tmp_path / "demo-logins.txt").stat().st_mode & 0o077 == 0


def test_a_restart_keeps_passwords_and_records_no_new_roles(tmp_path):
    first = ensure_demo_users(tmp_path / "demo-logins.txt")
    events = AuditEvent.objects.count()

    again = ensure_demo_users(tmp_path / "demo-logins.txt")

    assert again == first
    assert AuditEvent.objects.count() == events
