"""Failed sign-ins are throttled per username and per client address, in the database.

Alice is a vet who signs in on the site; Carol is the clinic's admin and signs in on the
admin site. Limits: 10 failures per username and 50 per address within 15 minutes.
"""

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from annotator.accounts import throttle
from annotator.accounts.models import LoginFailure
from annotator.accounts.views import LoginView

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/"
ALICE_PASSWORD = "alice-pass-123"
CAROL_PASSWORD = "carol-pass-123"
ACCOUNT_LOCKED = "Too many failed sign-in attempts for this account."
ADDRESS_LOCKED = "Too many failed sign-in attempts from this address."


@pytest.fixture(autouse=True)
def fast_hashing_and_default_limits(settings):
    """Cheap password hashing (60+ sign-ins per test) and the limits the issue names."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_FAILURES_PER_USER = 10
    settings.LOGIN_FAILURES_PER_ADDRESS = 50
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900


def sign_in(client: Client, username: str, password: str, url: str = LOGIN_URL, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def fail(client: Client, username: str, times: int, url: str = LOGIN_URL, **extra) -> None:
    for _ in range(times):
        response = sign_in(client, username, "wrong-password", url, **extra)
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def non_field_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_login_url_is_the_throttled_view():
    assert resolve(LOGIN_URL).func.view_class is LoginView


def test_ten_wrong_passwords_lock_alice_even_with_the_right_one(alice):
    client = Client()
    fail(client, "alice", 10)

    response = sign_in(client, "alice", ALICE_PASSWORD)

    assert response.status_code == 200
    assert not signed_in(client)
    errors = non_field_errors(response)
    assert any(ACCOUNT_LOCKED in e and "Try again in 15 minutes." in e for e in errors), errors
    assert response.context["form"].has_error("__all__", code="locked")


def test_the_login_page_tells_alice_she_is_locked_out(alice):
    client = Client()
    fail(client, "alice", 10)

    response = sign_in(client, "alice", ALICE_PASSWORD)

    assert not signed_in(client)
    assert ACCOUNT_LOCKED in response.content.decode()


def test_nine_wrong_passwords_then_the_right_one_signs_alice_in(alice):
    client = Client()
    fail(client, "alice", 9)

    response = sign_in(client, "alice", ALICE_PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)
    # A successful sign-in forgets the username's failures.
    assert not LoginFailure.objects.filter(username="alice").exists()


def test_failures_expire_after_the_window(alice):
    client = Client()
    fail(client, "alice", 10)
    assert throttle.lockout("alice", "127.0.0.1").reason == "account"

    # Only the oldest failure leaves the window: nine remain, so the lock is over.
    oldest = LoginFailure.objects.filter(username="alice").order_by("at").first()
    LoginFailure.objects.filter(pk=oldest.pk).update(at=timezone.now() - timedelta(seconds=901))

    response = sign_in(client, "alice", ALICE_PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_failures_inside_the_window_still_count(alice):
    client = Client()
    fail(client, "alice", 10)
    LoginFailure.objects.update(at=timezone.now() - timedelta(seconds=840))

    response = sign_in(client, "alice", ALICE_PASSWORD)

    assert not signed_in(client)
    assert any("Try again in 1 minute." in e for e in non_field_errors(response))


def test_usernames_are_counted_as_typed_and_stripped(alice):
    client = Client()
    fail(client, "  alice ", 10)

    sign_in(client, "alice", ALICE_PASSWORD)

    assert not signed_in(client)
    assert set(LoginFailure.objects.values_list("username", flat=True)) == {"alice"}


def test_fifty_failures_from_one_address_lock_it_for_every_username(alice):
    attacker = Client(REMOTE_ADDR="10.0.0.9")
    for i in range(49):
        fail(attacker, f"guess{i}", 1)
    assert throttle.lockout("alice", "10.0.0.9") is None
    fail(attacker, "guess49", 1)

    response = sign_in(attacker, "alice", ALICE_PASSWORD, REMOTE_ADDR="10.0.0.9")

    assert not signed_in(attacker)
    errors = non_field_errors(response)
    assert any(ADDRESS_LOCKED in e for e in errors), errors

    # Alice from her own address is not affected.
    clinic = Client()
    response = sign_in(clinic, "alice", ALICE_PASSWORD, REMOTE_ADDR="10.0.0.10")
    assert response.status_code == 302
    assert signed_in(clinic)


def test_admin_login_is_throttled_too(carol):
    client = Client()
    fail(client, "carol", 10, url=ADMIN_LOGIN_URL)

    response = sign_in(client, "carol", CAROL_PASSWORD, url=ADMIN_LOGIN_URL)

    assert response.status_code == 200
    assert not signed_in(client)
    assert ACCOUNT_LOCKED in response.content.decode()


def test_admin_login_counts_towards_the_site_lock(alice, carol):
    client = Client()
    fail(client, "alice", 5, url=ADMIN_LOGIN_URL)
    fail(client, "alice", 5)

    sign_in(client, "alice", ALICE_PASSWORD)

    assert not signed_in(client)


def test_right_password_of_a_vet_on_the_admin_site_is_not_a_failure(alice):
    client = Client()

    response = sign_in(client, "alice", ALICE_PASSWORD, url=ADMIN_LOGIN_URL)

    assert response.status_code == 200  # refused: Alice is not staff
    assert not LoginFailure.objects.exists()


def test_lockout_is_logged_with_the_username_but_never_the_password(alice, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="annotator.accounts"):
        fail(client, "alice", 10)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'alice'" in message for message in warnings), warnings
    assert not any("wrong-password" in r.getMessage() for r in caplog.records)


def test_prune_removes_only_old_failures():
    throttle.record_failure("alice", "10.0.0.9")
    LoginFailure.objects.update(at=timezone.now() - timedelta(days=2))
    throttle.record_failure("alice", "10.0.0.9")

    assert throttle.prune(timedelta(days=1)) == 1
    assert LoginFailure.objects.count() == 1
