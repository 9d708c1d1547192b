"""The reviewer's page and the annotator's list of labels a reviewer sent back.

The review page is a shell: the browser asks the review API for the next label and posts
the decision there, like the labeling page does with the queue.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.accounts.decorators import role_required
from annotator.accounts.roles import ANNOTATOR, REVIEWER
from annotator.review.services import returned_labels
from annotator.vocab import CANT_TELL_LABELS, FINDING_LABELS


@role_required(REVIEWER)
def review(request: HttpRequest) -> HttpResponse:
    findings = [
        {"hotkey": str(i), "value": value, "label": text}
        for i, (value, text) in enumerate(FINDING_LABELS.items(), start=1)
    ]
    return render(
        request,
        "web/review.html",
        {"findings": findings, "cant_tell_labels": CANT_TELL_LABELS},
    )


@role_required(ANNOTATOR)
def returned(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/returned.html",
        {
            "returned": returned_labels(request.user),
            "labels": FINDING_LABELS,
            "cant_tell_labels": CANT_TELL_LABELS,
        },
    )
