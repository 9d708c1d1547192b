from django.http import FileResponse, Http404
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from annotator import labeling, learning, queue
from annotator.api.permissions import IsClinicAdmin
from annotator.api.serializers import (
    AnnotationCreateSerializer,
    AnnotationSerializer,
    ModelVersionSerializer,
    claim_payload,
)
from annotator.models import Annotation, ModelVersion, Slice


@api_view(["POST"])
def queue_next(request: Request) -> Response:
    """Lease the next slice to label to the asking user."""
    claim = queue.claim_next(request.user)
    if claim is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    labeled = Annotation.objects.filter(annotator=request.user).count()
    remaining = queue.unlabeled().count()
    return Response(claim_payload(claim, labeled, remaining))


@api_view(["GET", "POST"])
def annotations(request: Request) -> Response:
    if request.method == "GET":
        mine = Annotation.objects.filter(annotator=request.user).order_by("-id")[:200]
        return Response(AnnotationSerializer(mine, many=True).data)
    form = AnnotationCreateSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    annotation = labeling.submit_annotation(
        request.user, form.validated_data["slice"], form.validated_data["finding"]
    )
    return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


@api_view(["GET"])
def slice_dicom(request: Request, slice_id: int) -> FileResponse:
    slice_ = Slice.objects.filter(pk=slice_id).first()
    if slice_ is None:
        raise Http404("no such slice")
    path = slice_.dicom_file
    if not path.is_file():
        raise Http404("the DICOM file of this slice is missing from storage")
    response = FileResponse(path.open("rb"), content_type="application/dicom")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@api_view(["GET"])
def model_versions(request: Request) -> Response:
    versions = ModelVersion.objects.all()[:50]
    return Response(ModelVersionSerializer(versions, many=True).data)


@api_view(["POST"])
@permission_classes([IsClinicAdmin])
def retrain(request: Request) -> Response:
    version, created = learning.request_retrain(ModelVersion.Trigger.MANUAL, request.user)
    body = ModelVersionSerializer(version).data
    body["created"] = created
    return Response(body, status=status.HTTP_202_ACCEPTED)
