"""The admin's audit log and a slice's history, as HTML pages."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from annotator.accounts.decorators import role_required
from annotator.accounts.roles import ADMIN, REVIEWER
from annotator.audit import display, history, search
from annotator.imaging.models import Instance

EVENTS_PER_PAGE = 50


@role_required(ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every event, newest first; filters in the query string (see search.EventFilter)."""
    form = search.EventFilter(request.GET)
    context = {"form": form, "kinds": search.kinds(), "rows": [], "page": None}
    if not form.is_valid():
        return render(request, "web/audit_log.html", context, status=400)
    page = Paginator(search.matching(form.cleaned_data), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context.update(rows=display.rows(page), page=page)
    return render(request, "web/audit_log.html", context)


@role_required(REVIEWER)
def slice_history(request: HttpRequest, slice_id: int) -> HttpResponse:
    instance = get_object_or_404(Instance.objects.select_related("series__study__dog"), pk=slice_id)
    return render(request, "web/slice_history.html", {"history": history.of_slice(instance)})
