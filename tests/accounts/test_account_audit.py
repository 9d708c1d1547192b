"""Changes to accounts land in the audit trail wherever they are made, each once.

Carol (admin) promotes Bob and deactivates him in the Django admin; Alice changes her own
password; a shell script adds Rita to a group. Signing in changes nothing worth auditing.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from annotator.accounts.roles import role_of, set_role
from annotator.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

User = get_user_model()


def events_about(user, since: int = 0) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(target_type="auth.user", target_id=user.pk, pk__gt=since)
        .select_related("actor")
        .order_by("id")
    )


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_form(user, **changes) -> dict:
    """What the Django admin's user page posts back, with `changes` made by hand."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "_save": "Save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_set_role_records_one_event_per_real_change(alice, carol):
    since = last_event_id()

    set_role(alice, "admin", actor=carol)
    set_role(alice, "admin", actor=carol)  # no change: nothing to record

    [event] = events_about(alice, since)
    assert event.action == "user.role_changed"
    assert (event.data["before"], event.data["after"], event.actor) == ("annotator", "admin", carol)


def test_a_new_account_records_its_creation_then_its_role():
    rita = User.objects.create_user("rita", password="rita-pass-123")
    set_role(rita, "reviewer")

    created, role = events_about(rita)
    assert created.action == "user.created"
    assert created.data["username"] == "rita"
    assert "rita-pass-123" not in str(created.data) and rita.password not in str(created.data)
    assert (role.action, role.data["before"], role.data["after"]) == (
        "user.role_changed",
        None,
        "reviewer",
    )
    assert created.actor is None  # a shell or a command: the system


def test_carol_promotes_bob_in_the_django_admin_as_one_role_change(carol, bob):
    reviewer = Group.objects.get(name="reviewer")
    since = last_event_id()

    response = browser_for(carol).post(
        reverse("admin:auth_user_change", args=[bob.pk]),
        admin_form(bob, groups=[str(reviewer.pk)]),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    bob.refresh_from_db()
    assert role_of(bob) == "reviewer"
    [event] = events_about(bob, since)
    assert (event.action, event.data["before"], event.data["after"]) == (
        "user.role_changed",
        "annotator",
        "reviewer",
    )
    assert event.actor == carol


def test_carol_deactivates_bob_in_the_django_admin(carol, bob):
    since = last_event_id()

    browser_for(carol).post(
        reverse("admin:auth_user_change", args=[bob.pk]), admin_form(bob, is_active="")
    )

    [event] = events_about(bob, since)
    assert (event.action, event.data, event.actor) == (
        "user.active_changed",
        {"before": True, "after": False},
        carol,
    )


def test_making_someone_superuser_in_the_admin_is_recorded_with_the_flags(carol, bob):
    since = last_event_id()

    browser_for(carol).post(
        reverse("admin:auth_user_change", args=[bob.pk]),
        admin_form(bob, is_staff="on", is_superuser="on", username="robert"),
    )

    changes = {e.action: (e.data["before"], e.data["after"]) for e in events_about(bob, since)}
    assert changes == {
        "user.renamed": ("bob", "robert"),
        "user.staff_changed": (False, True),
        "user.superuser_changed": (False, True),
        # a superuser is an admin whatever the groups say
        "user.role_changed": ("annotator", "admin"),
    }


def test_carol_adds_a_user_in_the_django_admin(carol):
    browser_for(carol).post(
        reverse("admin:auth_user_add"),
        {
            "username": "dana",
            "usable_password": "true",
            "password1": "lumbar-disc-4711",
            "password2": "lumbar-disc-4711",
            "_save": "Save",
        },
    )

    dana = User.objects.get(username="dana")
    [event] = events_about(dana)
    assert (event.action, event.actor) == ("user.created", carol)


def test_alice_changes_her_own_password(alice):
    since = last_event_id()

    response = browser_for(alice).post(
        reverse("password_change"),
        {
            "old_password": "alice-pass-123",
            "new_password1": "sacral-canal-0815",
            "new_password2": "sacral-canal-0815",
        },
    )

    assert response.status_code == 302
    [event] = events_about(alice, since)
    assert (event.action, event.actor, event.data) == ("user.password_changed", alice, {})


def test_groups_changed_from_the_group_side_are_recorded_too(alice, rita):
    reviewer = Group.objects.get(name="reviewer")
    since = last_event_id()

    reviewer.user_set.add(alice)
    reviewer.user_set.clear()  # alice back to annotator, rita left with no role

    changes = [
        (e.target_id, e.data["before"], e.data["after"])
        for e in AuditEvent.objects.filter(pk__gt=since).order_by("id")
    ]
    assert changes[0] == (alice.pk, "annotator", "reviewer")
    assert set(changes[1:]) == {(alice.pk, "reviewer", "annotator"), (rita.pk, "reviewer", None)}


def test_a_group_that_is_no_role_changes_no_role(alice):
    since = last_event_id()
    alice.groups.add(Group.objects.create(name="night shift"))
    assert events_about(alice, since) == []


def test_signing_in_records_nothing_even_when_the_hash_is_upgraded(settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    User.objects.create(username="vera", password=make_password("vera-pass-123", None, "md5"))
    vera = User.objects.get(username="vera")
    set_role(vera, "annotator")
    since = last_event_id()

    client = Client()
    response = client.post(reverse("login"), {"username": "vera", "password": "vera-pass-123"})

    assert response.status_code == 302
    vera.refresh_from_db()
    assert vera.password.startswith("pbkdf2_")  # re-hashed on sign-in...
    assert events_about(vera, since) == []  # ...which is nobody's change
