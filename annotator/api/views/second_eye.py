"""The second eye as JSON: the study list, one study's read, and a slice as a PNG."""

from dataclasses import asdict

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import generics
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.permissions import IsAnnotator
from annotator.imaging import preview
from annotator.imaging.errors import PixelError
from annotator.imaging.models import Instance, Study
from annotator.learning import second_eye


class StudyList(generics.ListAPIView):
    """Studies, the most recently ingested first, each with its status under the served model.

    A page: ``{"count", "next", "previous", "results": [row]}``, a row being
    ``{"study": {"id", "study_instance_uid", "study_date", "description", "ingested_at",
    "patient_id", "dog_name", "breed"}, "slices", "scored", "status", "summary",
    "suspected": [lesion], "labeled_slices"}``. ``status`` is ``no_model``, ``not_scored``,
    ``partly_scored`` or ``scored``; ``summary`` says it in words ("scored: 2 suspected
    findings"); ``suspected`` lists the lesions called on the study, most probable first;
    ``labeled_slices`` counts its slices with a standing (not withdrawn) label.
    """

    permission_classes = [IsAnnotator]

    def get_queryset(self):
        return second_eye.newest_first()

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([asdict(r) for r in second_eye.rows(page)])


@api_view(["GET"])
@permission_classes([IsAnnotator])
def study_read(request: Request, study_id: int) -> Response:
    """One study as the served model reads it; what the read page shows.

    ``{"study": {...as in the list}, "model": version id | null, "status", "slices",
    "scored", "call": [lesion] | ["unremarkable"], "dog_calls": [call], "series": [series],
    "test_dogs": n | null}``.

    A call: ``{"finding", "label", "probability", "threshold", "called", "uncertainty_bits",
    "uncertainty": "low" | "medium" | "high", "test_dogs": {"tp", "fn", "tn", "fp",
    "sensitivity", "specificity", "sensitivity_ci", "specificity_ci"} | null}``: every
    lesion (its highest slice probability in the study against its threshold), most probable
    first, then ``unremarkable`` (probability 1 - the highest lesion probability, threshold
    null, called when no lesion is). ``test_dogs`` (top level) is the number of test dogs
    the version's report rests on, null without a report.

    A series: ``{"id", "plane", "sequence", "description", "series_number", "slices",
    "scored", "findings": [{"finding", "label", "probability", "threshold", "called",
    "key_slices": [{"id", "instance_number", "position_mm", "probability",
    "heatmap_finding"}]}]}``: lesions ranked by their highest slice probability in the
    series; key slices (top 3) for the called findings and the top-ranked one, empty for
    the rest; ``findings`` is empty while the series is not scored.
    """
    study = get_object_or_404(Study.objects.select_related("dog"), pk=study_id)
    return Response(asdict(second_eye.read(study)))


@api_view(["GET"])
@permission_classes([IsAnnotator])
def slice_preview(request: Request, slice_id: int) -> HttpResponse:
    """The slice as a grey PNG of its own size (percentile window), for an <img>."""
    instance = Instance.objects.filter(pk=slice_id).first()
    if instance is None:
        raise Http404("no such slice")
    try:
        body = preview.preview_png(instance)
    except FileNotFoundError:
        raise Http404("the DICOM file of this slice is missing from storage") from None
    except PixelError as exc:
        raise Http404(f"this slice cannot be shown: {exc}") from None
    response = HttpResponse(body, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
