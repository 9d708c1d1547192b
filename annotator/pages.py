"""HTML pages; everything they do goes through the JSON API."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.models import Finding


@login_required
def label(request: HttpRequest) -> HttpResponse:
    findings = [
        {"hotkey": str(i), "value": value, "label": label}
        for i, (value, label) in enumerate(Finding.choices, start=1)
    ]
    return render(request, "annotator/label.html", {"findings": findings})
