"""HTML pages; everything they do goes through the JSON API."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.vocab import FINDING_LABELS


@login_required
def label(request: HttpRequest) -> HttpResponse:
    findings = [
        {"hotkey": str(i), "value": value, "label": text}
        for i, (value, text) in enumerate(FINDING_LABELS.items(), start=1)
    ]
    return render(request, "web/label.html", {"findings": findings})
