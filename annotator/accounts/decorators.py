"""`role_required`: what every HTML view declares about who may open it."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.accounts.roles import ROLES, has_role


def role_required(role: str) -> Callable:
    """Anonymous visitors go to the login page; a signed-in user below `role` gets a 403
    page that says which role the page needs."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                return render(request, "web/forbidden.html", {"needed": role}, status=403)
            return view(request, *args, **kwargs)

        wrapped.required_role = role
        return wrapped

    return decorate
