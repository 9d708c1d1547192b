"""Model versions, training runs, and the admin's retrain button."""

from rest_framework import generics, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.permissions import IsAuthenticated, IsClinicAdmin
from annotator.api.serializers import ModelVersionSerializer, TrainingRunSerializer
from annotator.learning import policy
from annotator.learning.models import ModelVersion, TrainingRun


class ModelVersionList(generics.ListAPIView):
    """Model versions, newest first, with their evaluations and runs."""

    permission_classes = [IsAuthenticated]
    serializer_class = ModelVersionSerializer
    queryset = (
        ModelVersion.objects.select_related("run").prefetch_related("evaluations").order_by("-id")
    )


class TrainingRunList(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = TrainingRunSerializer
    queryset = TrainingRun.objects.order_by("-id")


@api_view(["POST"])
@permission_classes([IsClinicAdmin])
def retrain(request: Request) -> Response:
    """Queue a training run (202), or answer with the one already waiting."""
    run, created = policy.request_training(TrainingRun.Trigger.MANUAL, request.user)
    body = TrainingRunSerializer(run).data
    body["created"] = created
    return Response(body, status=status.HTTP_202_ACCEPTED)
