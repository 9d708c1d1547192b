"""Stored DICOM bytes for the viewer."""

from django.http import FileResponse, Http404
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request

from annotator.accounts.permissions import IsAuthenticated
from annotator.imaging import storage
from annotator.imaging.models import Instance


@api_view(["GET"])
@permission_classes([IsAuthenticated])
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
