"""The admin's label export: a CSV download that `manage.py import_labels` can read back."""

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from annotator.accounts.decorators import role_required
from annotator.accounts.roles import ADMIN
from annotator.audit.log import record
from annotator.labeling import export


@require_GET
@role_required(ADMIN)
def labels_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every standing label (`?accepted=1`: only approved, corrected or imported ones)."""
    accepted_only = request.GET.get("accepted", "") in ("1", "true", "yes")
    record(
        "labels.exported",
        actor=request.user,
        rows=export.count(accepted_only),
        accepted_only=accepted_only,
    )
    name = f"dachs-labels-{timezone.localdate():%Y-%m-%d}{'-accepted' if accepted_only else ''}"
    response = StreamingHttpResponse(export.csv_lines(accepted_only), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Cache-Control"] = "no-store"
    return response
