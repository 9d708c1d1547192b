"""Database-backed throttling of failed sign-ins, per username and per client address.

Limits (settings, with these defaults): LOGIN_FAILURES_PER_USER = 10 and
LOGIN_FAILURES_PER_ADDRESS = 50 failures within LOGIN_FAILURE_WINDOW_SECONDS = 900. A key
that has reached its limit is locked until enough of its failures have left the window.
Attempts refused while locked are not recorded, so a lock never outlasts the window.
"""

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.utils import timezone

from annotator.accounts.models import LoginFailure

logger = logging.getLogger(__name__)

USERNAME_MAX_LENGTH = 150


@dataclass(frozen=True)
class Lockout:
    reason: Literal["account", "address"]
    retry_after_seconds: int


def _per_user() -> int:
    return int(getattr(settings, "LOGIN_FAILURES_PER_USER", 10))


def _per_address() -> int:
    return int(getattr(settings, "LOGIN_FAILURES_PER_ADDRESS", 50))


def _window() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "LOGIN_FAILURE_WINDOW_SECONDS", 900)))


def normalize_username(username: str | None) -> str:
    """The key failures are counted under: the username as typed, stripped, at most 150."""
    return (username or "").strip()[:USERNAME_MAX_LENGTH]


def normalize_address(address: str | None) -> str | None:
    """A canonical IP address, or None when there is none (then only usernames count)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def client_address(request) -> str | None:
    """REMOTE_ADDR only: no proxy header is trusted."""
    if request is None:
        return None
    return normalize_address(request.META.get("REMOTE_ADDR"))


def _retry_after(queryset, limit: int, now: datetime, window: timedelta) -> int | None:
    """Seconds until `queryset` holds fewer than `limit` failures in the window, else None.

    One query: the limit-th most recent failure in the window, if there is one. The lock
    ends when that failure leaves the window.
    """
    if limit <= 0:  # a limit of 0 turns that throttle off
        return None
    nth = list(
        queryset.filter(at__gte=now - window)
        .order_by("-at")
        .values_list("at", flat=True)[limit - 1 : limit]
    )
    if not nth:
        return None
    return max(1, math.ceil((nth[0] + window - now).total_seconds()))


def lockout(username: str | None, address: str | None) -> Lockout | None:
    """The lock that applies to this username or address now, if any (account first)."""
    now = timezone.now()
    window = _window()
    key = normalize_username(username)
    if key:
        seconds = _retry_after(LoginFailure.objects.filter(username=key), _per_user(), now, window)
        if seconds is not None:
            return Lockout("account", seconds)
    address = normalize_address(address)
    if address is not None:
        seconds = _retry_after(
            LoginFailure.objects.filter(address=address), _per_address(), now, window
        )
        if seconds is not None:
            return Lockout("address", seconds)
    return None


def record_failure(username: str | None, address: str | None) -> None:
    """Count one failed sign-in; log (once) when it locks the account or the address."""
    key = normalize_username(username)
    address = normalize_address(address)
    failure = LoginFailure.objects.create(username=key, address=address)
    since = failure.at - _window()
    if key and LoginFailure.objects.filter(username=key, at__gte=since).count() == _per_user():
        logger.warning("Sign-in locked for username %r after repeated failures", key)
    if (
        address is not None
        and LoginFailure.objects.filter(address=address, at__gte=since).count() == _per_address()
    ):
        logger.warning("Sign-in locked for address %s after repeated failures", address)


def clear(username: str | None) -> int:
    """Forget a username's failures (after it signs in); returns how many were removed."""
    key = normalize_username(username)
    if not key:
        return 0
    deleted, _ = LoginFailure.objects.filter(username=key).delete()
    return deleted


def prune(older_than: timedelta | datetime | None = None) -> int:
    """Delete failures older than a cutoff (a datetime, or an age; default: the window)."""
    if older_than is None:
        older_than = _window()
    cutoff = timezone.now() - older_than if isinstance(older_than, timedelta) else older_than
    deleted, _ = LoginFailure.objects.filter(at__lt=cutoff).delete()
    return deleted
