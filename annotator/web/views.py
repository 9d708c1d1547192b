"""HTML pages; everything they do goes through the JSON API."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.accounts.decorators import role_required
from annotator.accounts.roles import ANNOTATOR
from annotator.review import services as review_services
from annotator.vocab import FINDING_LABELS


@role_required(ANNOTATOR)
def label(request: HttpRequest) -> HttpResponse:
    findings = [
        {"hotkey": str(i), "value": value, "label": text}
        for i, (value, text) in enumerate(FINDING_LABELS.items(), start=1)
    ]
    returned = review_services.returned_count(request.user)
    return render(request, "web/label.html", {"findings": findings, "returned": returned})
