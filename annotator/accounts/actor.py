"""Who is acting right now, for audit events that signals record.

A signal (a user saved in the Django admin, a password changed on its page) does not get
the request, so this middleware keeps the request in a context variable while it is
handled. Outside a request (a management command, a job) there is no actor: the event is
recorded as the system's.
"""

from collections.abc import Callable
from contextvars import ContextVar

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse

_request: ContextVar[HttpRequest | None] = ContextVar("dachs_request", default=None)


def current() -> AbstractBaseUser | None:
    """The signed-in user of the request being handled, or None."""
    request = _request.get()
    # Read at the time of the event, not when the request came in: DRF and the login view
    # replace request.user while the request is handled.
    user = getattr(request, "user", None) if request is not None else None
    if user is None or not user.is_authenticated:
        return None
    return user


class ActorMiddleware:
    """Keeps the request in reach of `current()` for as long as it is handled; place it
    after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
