"""The second-eye pages: the studies, newest first, and one study as the served model reads
it (suspected findings per series, key slices with the heatmap, the dog-level call)."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from annotator.accounts.decorators import role_required
from annotator.accounts.roles import ANNOTATOR
from annotator.imaging.models import Study
from annotator.learning import second_eye
from annotator.vocab import FINDING_LABELS

STUDIES_PER_PAGE = 50


@role_required(ANNOTATOR)
def studies(request: HttpRequest) -> HttpResponse:
    page = Paginator(second_eye.newest_first(), STUDIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/studies.html",
        {"rows": second_eye.rows(list(page)), "page": page, "labels": FINDING_LABELS},
    )


@role_required(ANNOTATOR)
def study_read(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_object_or_404(Study.objects.select_related("dog"), pk=study_id)
    return render(
        request,
        "web/study_read.html",
        {"read": second_eye.read(study), "scale": second_eye.UNCERTAINTY_SCALE},
    )
