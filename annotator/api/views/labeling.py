"""The queue and labels: claim the next slices, submit, edit and withdraw labels."""

from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.permissions import IsAnnotator
from annotator.api.serializers import (
    LabelEditSerializer,
    LabelInputSerializer,
    LabelSerializer,
    claim_payload,
)
from annotator.labeling import services
from annotator.labeling.models import Label
from annotator.worklist import claim as worklist


@api_view(["POST"])
@permission_classes([IsAnnotator])
def queue_next(request: Request) -> Response:
    """Lease the current slice and the next ones (for prefetching) to the asking user."""
    claim = worklist.claim(request.user)
    if claim is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(claim_payload(request.user, claim))


@api_view(["GET", "POST"])
@permission_classes([IsAnnotator])
def labels(request: Request) -> Response:
    """GET: the asking user's labels, newest first. POST: label the current slice."""
    if request.method == "GET":
        mine = Label.objects.filter(reader=request.user).select_related("reader", "author")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(mine.order_by("-id"), request)
        return paginator.get_paginated_response(LabelSerializer(page, many=True).data)
    form = LabelInputSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    instance_id, version = form.validated_data["slice"], form.validated_data.get("version")
    if version is not None:
        label = services.edit_own(request.user, instance_id, form.content(), version)
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)
    label, created = services.submit(request.user, instance_id, form.content())
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return Response(LabelSerializer(label).data, status=code)


@api_view(["PUT"])
@permission_classes([IsAnnotator])
def label_detail(request: Request, label_id: int) -> Response:
    """A new version of this label (its reader, or an admin); `version` is the one replaced."""
    form = LabelEditSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    label = services.edit(request.user, label_id, form.content(), form.validated_data["version"])
    return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)


@api_view(["POST"])
@permission_classes([IsAnnotator])
def label_withdraw(request: Request, label_id: int) -> Response:
    """Undo a label: a withdrawn version; the slice goes back to the queue."""
    label = services.withdraw(request.user, label_id)
    return Response(LabelSerializer(label).data)
