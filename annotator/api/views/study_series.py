"""Every series of a slice's study, so the labeling page can show another plane beside it."""

from django.http import Http404
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.permissions import IsAnnotator
from annotator.api.serializers import series_payload
from annotator.imaging.models import Instance, Series


@api_view(["GET"])
@permission_classes([IsAnnotator])
def slice_study_series(request: Request, slice_id: int) -> Response:
    """``{"study": id, "series": [series]}``: a series as in a claim (``{"id", "plane",
    "sequence", "description", "slices": [{"id", "dicom_url", "position_mm"}]}``), ordered by
    plane, weighting and series number.

    ``position_mm`` (the slice's offset along its plane's normal, null when its headers gave
    no geometry) lets the page find the slice of the other weighting at the same place
    without loading every image of that series first.
    """
    instance = Instance.objects.select_related("series").filter(pk=slice_id).first()
    if instance is None:
        raise Http404("no such slice")
    study_id = instance.series.study_id
    series = Series.objects.filter(study_id=study_id).order_by(
        "plane", "sequence", "series_number", "id"
    )
    positions = dict(
        Instance.objects.filter(series__study_id=study_id).values_list("id", "position_mm")
    )
    payload = []
    for one in series:
        shaped = series_payload(one)
        for item in shaped["slices"]:
            item["position_mm"] = positions.get(item["id"])
        payload.append(shaped)
    return Response({"study": study_id, "series": payload})
