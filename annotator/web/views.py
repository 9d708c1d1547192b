"""HTML pages; everything they do goes through the JSON API."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.accounts.decorators import role_required
from annotator.accounts.models import Preferences
from annotator.accounts.roles import ANNOTATOR
from annotator.review import services as review_services
from annotator.vocab import CANT_TELL_LABELS, FINDING_LABELS

# How often the labeling page asks whether a new model serves (and refreshes its header).
MODEL_POLL_SECONDS = 30


@role_required(ANNOTATOR)
def label(request: HttpRequest) -> HttpResponse:
    findings = [
        {"hotkey": str(i), "value": value, "label": text}
        for i, (value, text) in enumerate(FINDING_LABELS.items(), start=1)
    ]
    reasons = [
        {"hotkey": str(i), "value": value, "label": text}
        for i, (value, text) in enumerate(CANT_TELL_LABELS.items(), start=1)
    ]
    returned = review_services.returned_count(request.user)
    context = {
        "findings": findings,
        "reasons": reasons,
        "returned": returned,
        "preferences": Preferences.of(request.user),
        "lease_seconds": settings.QUEUE_LEASE_SECONDS,
        "poll_seconds": MODEL_POLL_SECONDS,
    }
    return render(request, "web/label.html", context)
