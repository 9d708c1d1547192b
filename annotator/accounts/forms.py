"""Sign-in forms that refuse a locked username or address before checking the password."""

import logging
import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import ngettext

from annotator.accounts import throttle

logger = logging.getLogger(__name__)

LOCKED_MESSAGES = {
    "account": (
        "Too many failed sign-in attempts for this account. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts for this account. Try again in %(minutes)d minutes.",
    ),
    "address": (
        "Too many failed sign-in attempts from this address. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts from this address. Try again in %(minutes)d minutes.",
    ),
}


class ThrottledLoginMixin:
    """Check the lock first; count a failed authentication; forget failures on success."""

    def clean(self):
        username = self.cleaned_data.get("username")
        address = throttle.client_address(self.request)
        lock = throttle.lockout(username, address)
        if lock is not None:
            logger.info(
                "Refused sign-in while locked (%s) for username %r from %s",
                lock.reason,
                throttle.normalize_username(username),
                address,
            )
            minutes = max(1, math.ceil(lock.retry_after_seconds / 60))
            singular, plural = LOCKED_MESSAGES[lock.reason]
            raise forms.ValidationError(
                ngettext(singular, plural, minutes),
                code="locked",
                params={"minutes": minutes},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            # Only wrong credentials count: a correct password for an account the form
            # refuses (inactive, or not staff on the admin site) is not a guess.
            if self.user_cache is None and _has_code(error, "invalid_login"):
                throttle.record_failure(username, address)
            raise
        if self.user_cache is not None:
            throttle.clear(username)
        return cleaned


def _has_code(error: forms.ValidationError, code: str) -> bool:
    return any(getattr(e, "code", None) == code for e in error.error_list)


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
