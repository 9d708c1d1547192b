"""Stored DICOM bytes for the viewer, and the served model's heatmap over them."""

from django.http import FileResponse, Http404, HttpResponse
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request

from annotator.accounts.permissions import IsAnnotator
from annotator.imaging import storage
from annotator.imaging.models import Instance
from annotator.learning import heatmaps


@api_view(["GET"])
@permission_classes([IsAnnotator])
def slice_dicom(request: Request, slice_id: int) -> FileResponse:
    instance = Instance.objects.filter(pk=slice_id).first()
    if instance is None:
        raise Http404("no such slice")
    try:
        fh = storage.open_file(instance.file_key)
    except FileNotFoundError:
        raise Http404("the DICOM file of this slice is missing from storage") from None
    response = FileResponse(fh, content_type="application/dicom")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@api_view(["GET"])
@permission_classes([IsAnnotator])
def slice_heatmap(request: Request, slice_id: int) -> HttpResponse:
    """Where the served model looked on this slice, as a red RGBA PNG to lay over the image
    (stretched to the slice's rows and columns); 404 until the served model has scored it."""
    heatmap = heatmaps.served(slice_id)
    if heatmap is None:
        raise Http404("the served model has no heatmap of this slice")
    response = HttpResponse(heatmaps.png(heatmap), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Model-Version"] = str(heatmap.model_id)
    response["X-Finding"] = heatmap.finding
    return response
