"""Signing out gives the user's slices back: they return to the queues at once, not when
their leases expire (the page's own release on leaving may not reach the server after the
session has ended)."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from annotator.worklist import claim
from annotator.worklist.models import LeaseKind


@receiver(user_logged_out, dispatch_uid="worklist-release-on-logout")
def release_on_logout(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    for kind in LeaseKind.values:
        claim.release(user, kind)
