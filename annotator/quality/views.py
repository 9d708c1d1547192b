"""The quality page and its JSON twin: agreement between annotators, for reviewers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.decorators import role_required
from annotator.accounts.permissions import IsReviewer
from annotator.accounts.roles import REVIEWER
from annotator.quality import agreement, reads
from annotator.quality.chart import kappa_bars_svg
from annotator.vocab import FINDING_LABELS, FINDINGS


def current_report() -> dict:
    return agreement.report(*reads.load(), findings=FINDINGS)


@api_view(["GET"])
@permission_classes([IsReviewer])
def agreement_api(request: Request) -> Response:
    return Response(current_report())


@role_required(REVIEWER)
def quality(request: HttpRequest) -> HttpResponse:
    body = current_report()
    rows = [
        {"finding": f, "name": FINDING_LABELS[f], **stats}
        for f, stats in body["per_finding"].items()
    ]
    return render(
        request,
        "web/quality.html",
        {
            "report": body,
            "findings": rows,
            "pairs": [
                {**pair, "cells": [(FINDING_LABELS[f], c) for f, c in pair["per_finding"].items()]}
                for pair in body["pairs"]
            ],
            "chart": _chart(rows) if body["overall"]["slices"] else None,
        },
    )


def _chart(rows: list[dict]) -> SafeString:
    keys = ("name", "fleiss_kappa", "fleiss_kappa_ci", "fleiss_kappa_undefined")
    return kappa_bars_svg([tuple(row[k] for k in keys) for row in rows])
