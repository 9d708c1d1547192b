"""Model versions, training runs, and the admin's retrain button."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import generics, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.permissions import IsAnnotator, IsClinicAdmin
from annotator.api.serializers import ModelVersionSerializer, TrainingRunSerializer
from annotator.learning import policy, registry
from annotator.learning.models import ModelVersion, TrainingRun


class ModelVersionList(generics.ListAPIView):
    """Model versions, newest first, with their evaluations and runs."""

    permission_classes = [IsAnnotator]
    serializer_class = ModelVersionSerializer
    queryset = (
        ModelVersion.objects.select_related("run").prefetch_related("evaluations").order_by("-id")
    )


class TrainingRunList(generics.ListAPIView):
    permission_classes = [IsAnnotator]
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


@api_view(["POST"])
@permission_classes([IsClinicAdmin])
def promote(request: Request, model_id: int) -> Response:
    """Serve this version now (an admin's decision over the policy's); the queue re-ranks."""
    version = get_object_or_404(ModelVersion, pk=model_id)
    registry.promote_by_hand(version, request.user)
    policy.request_scoring(version)
    version.refresh_from_db()
    return Response(ModelVersionSerializer(version).data)


@api_view(["POST"])
@permission_classes([IsClinicAdmin])
def roll_back(request: Request, model_id: int) -> Response:
    """Stop serving this (the promoted) version and serve the one before it."""
    version = get_object_or_404(ModelVersion, pk=model_id)
    before = registry.roll_back(version, request.user)
    policy.request_scoring(before)
    before.refresh_from_db()
    return Response(ModelVersionSerializer(before).data)


@api_view(["POST"])
@permission_classes([IsClinicAdmin])
def cancel_run(request: Request, run_id: int) -> Response:
    """Cancel a queued or running training run."""
    run = get_object_or_404(TrainingRun, pk=run_id)
    return Response(TrainingRunSerializer(policy.cancel(run, request.user)).data)


@api_view(["GET"])
@permission_classes([IsAnnotator])
def report(request: Request, model_id: int) -> Response:
    """The version's Table-2 report on the test dogs, as the worker last computed it."""
    version = get_object_or_404(ModelVersion, pk=model_id)
    evaluation = version.evaluations.filter(split="test").first()
    if evaluation is None:
        raise Http404(
            f"model v{version.pk} has no test report yet: "
            f"run `manage.py evaluate --model-version {version.pk}`"
        )
    return Response(evaluation.metrics)
