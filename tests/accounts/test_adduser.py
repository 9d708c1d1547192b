"""`manage.py adduser`: the clinic's admin adds Dana, a new vet, from the command line.

Dana is added as a reviewer; Alice (an annotator) is promoted and gets a new password. The
password comes from a prompt or from standard input, and never shows up anywhere else.
"""

import io
import os
import subprocess
import sys

import pytest
from django.conf import global_settings, settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from annotator.accounts.roles import role_of
from annotator.audit.models import AuditEvent
from tests.conftest import database_url

pytestmark = pytest.mark.django_db

DANA_PASSWORD = "lumbar-disc-4711"
User = get_user_model()


class Terminal(io.StringIO):
    """Standard input as a terminal: the command prompts instead of reading a line."""

    def isatty(self) -> bool:
        return True


def adduser(*args: str, stdin: str = "", **options) -> str:
    out = io.StringIO()
    call_command("adduser", *args, stdin=io.StringIO(stdin), stdout=out, **options)
    return out.getvalue()


def actions(user) -> list[str]:
    events = AuditEvent.objects.filter(target_type="auth.user", target_id=user.pk)
    return list(events.order_by("id").values_list("action", flat=True))


def assert_nowhere_in_the_audit_trail(secret: str) -> None:
    for data in AuditEvent.objects.values_list("data", flat=True):
        assert secret not in str(data)


def test_dana_is_added_as_a_reviewer_with_a_password_from_stdin():
    out = adduser("dana", "--role", "reviewer", stdin=DANA_PASSWORD + "\n")

    dana = User.objects.get(username="dana")
    assert authenticate(username="dana", password=DANA_PASSWORD) == dana
    assert role_of(dana) == "reviewer"
    assert not dana.is_staff
    assert "Created dana as reviewer." in out
    assert DANA_PASSWORD not in out
    assert actions(dana) == ["user.created", "user.role_changed"]
    role_event = AuditEvent.objects.get(action="user.role_changed", target_id=dana.pk)
    assert (role_event.data["before"], role_event.data["after"]) == (None, "reviewer")
    assert_nowhere_in_the_audit_trail(DANA_PASSWORD)
    assert_nowhere_in_the_audit_trail(dana.password)


def test_an_admin_added_on_the_command_line_can_open_the_django_admin():
    adduser("erik", "--role", "admin", stdin=DANA_PASSWORD + "\n")

    erik = User.objects.get(username="erik")
    assert (erik.is_staff, erik.is_superuser, role_of(erik)) == (True, True, "admin")


def test_the_password_is_typed_twice_at_a_terminal(monkeypatch):
    answers = iter([DANA_PASSWORD, DANA_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("adduser", "dana", role="annotator", stdin=Terminal(), stdout=io.StringIO())
    assert authenticate(username="dana", password=DANA_PASSWORD) is not None


def test_two_different_passwords_at_the_terminal_add_nobody(monkeypatch):
    answers = iter([DANA_PASSWORD, "lumbar-disc-4712"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="differ"):
        call_command("adduser", "dana", role="annotator", stdin=Terminal())
    assert not User.objects.filter(username="dana").exists()


@pytest.mark.parametrize(
    ("password", "why"),
    [("dana", "too similar to the username"), ("12345678", "too common"), ("x7#", "too short")],
)
def test_django_password_validators_refuse_a_weak_password(password, why):
    with pytest.raises(CommandError, match="Password refused") as refused:
        adduser("dana", "--role", "annotator", stdin=password + "\n")
    assert why in str(refused.value)
    assert not User.objects.filter(username="dana").exists()
    assert not AuditEvent.objects.exists()


def test_a_new_user_needs_a_password_and_a_role():
    with pytest.raises(CommandError, match="needs a password"):
        adduser("dana", "--role", "annotator", stdin="\n")
    with pytest.raises(CommandError, match="needs a role"):
        adduser("dana", stdin=DANA_PASSWORD + "\n")
    assert not User.objects.filter(username="dana").exists()


def test_a_username_django_would_refuse_is_refused():
    with pytest.raises(CommandError, match="Username refused"):
        adduser("dana smith", "--role", "annotator", stdin=DANA_PASSWORD + "\n")


def test_adding_alice_twice_is_an_error_that_changes_nothing(alice):
    before = alice.password
    with pytest.raises(CommandError, match="already exists: use --update"):
        adduser("alice", "--role", "admin", stdin=DANA_PASSWORD + "\n")
    alice.refresh_from_db()
    assert (alice.password, role_of(alice)) == (before, "annotator")


def test_update_promotes_alice_and_changes_her_password(alice):
    events_before = AuditEvent.objects.count()

    out = adduser("alice", "--role", "reviewer", "--update", stdin=DANA_PASSWORD + "\n")

    alice.refresh_from_db()
    assert role_of(alice) == "reviewer"
    assert authenticate(username="alice", password=DANA_PASSWORD) == alice
    assert "role annotator -> reviewer" in out and "password changed" in out
    new = AuditEvent.objects.order_by("id")[events_before:]
    assert sorted(e.action for e in new) == ["user.password_changed", "user.role_changed"]
    assert_nowhere_in_the_audit_trail(DANA_PASSWORD)


def test_update_with_an_empty_password_keeps_the_old_one(alice):
    adduser("alice", "--role", "reviewer", "--update", stdin="\n")

    assert authenticate(username="alice", password="alice-pass-123") is not None
    assert "user.password_changed" not in actions(alice)


def test_update_of_someone_unknown_is_an_error():
    with pytest.raises(CommandError, match="no user named 'zoe'"):
        adduser("zoe", "--role", "reviewer", "--update", stdin="\n")


def run_adduser(*args: str, stdin: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DACHS_DATA_DIR": str(settings.DATA_DIR),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "adduser", *args],
        cwd=settings.BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_a_script_pipes_the_password_into_the_command(settings):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # as the command hashes
    result = run_adduser("dana", "--role", "reviewer", stdin=DANA_PASSWORD + "\n")

    assert result.returncode == 0, result.stderr
    assert DANA_PASSWORD not in result.stdout + result.stderr
    dana = User.objects.get(username="dana")
    assert role_of(dana) == "reviewer"
    assert dana.check_password(DANA_PASSWORD)

    again = run_adduser("dana", "--role", "admin", stdin=DANA_PASSWORD + "\n")

    assert again.returncode != 0
    assert "already exists" in again.stderr
    assert role_of(User.objects.get(username="dana")) == "reviewer"
