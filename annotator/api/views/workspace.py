"""What the labeling page needs around the labels: preferences, the header's counts, keeping and
letting go of leases, taking back an undone slice, recent labels, and one slice's item."""

from datetime import datetime, time

from django.db.models import Max
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.models import Preferences
from annotator.accounts.permissions import IsAnnotator
from annotator.api.serializers import (
    LabelSerializer,
    claim_payload,
    item_payload,
    prediction_payload,
)
from annotator.errors import NotFound
from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.learning import predictions, registry
from annotator.worklist import claim as worklist
from annotator.worklist import items
from annotator.worklist.models import QueueItem

RECENT_LABELS = 20


class PreferencesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Preferences
        fields = ["one_key_mode", "show_guess"]


@api_view(["GET", "PUT"])
@permission_classes([IsAnnotator])
def preferences(request: Request) -> Response:
    """GET: how the asking vet likes the labeling page. PUT: change some of it."""
    current = Preferences.of(request.user)
    if request.method == "GET":
        return Response(PreferencesSerializer(current).data)
    form = PreferencesSerializer(current, data=request.data, partial=True)
    form.is_valid(raise_exception=True)
    form.save()
    return Response(form.data)


def labeled_today(user) -> int:
    """Slices the user reads now whose label they wrote or changed since midnight, in the
    clinic's time zone (TIME_ZONE), not the server's or UTC."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    read = QueueItem.readers.through.objects.filter(user_id=user.pk).values("queueitem__instance")
    return (
        Label.objects.filter(
            reader=user, author=user, created_at__gte=midnight, instance_id__in=read
        )
        .values("instance_id")
        .distinct()
        .count()
    )


@api_view(["GET"])
@permission_classes([IsAnnotator])
def stats(request: Request) -> Response:
    """The header's line: slices labeled today and in total, the queue, the ranking model."""
    served = registry.promoted()
    return Response(
        {
            "username": request.user.get_username(),
            "labeled_today": labeled_today(request.user),
            "labeled_total": QueueItem.readers.through.objects.filter(
                user_id=request.user.pk
            ).count(),
            "queue_remaining": items.remaining(),
            "model_version": served.pk if served else None,
        }
    )


@api_view(["POST"])
@permission_classes([IsAnnotator])
def queue_renew(request: Request) -> Response:
    """Keep the asking vet's slices while their page is open (the page calls it regularly)."""
    expires = worklist.renew(request.user)
    if expires is None:
        return Response(
            {"detail": "you hold no slices: ask the queue for the next one"},
            status=status.HTTP_409_CONFLICT,
        )
    return Response({"lease_expires_at": expires.isoformat()})


@api_view(["POST"])
@permission_classes([IsAnnotator])
def queue_release(request: Request) -> Response:
    """The vet left the page: their slices return to the queue at once."""
    worklist.release(request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)


class SliceSerializer(serializers.Serializer):
    slice = serializers.IntegerField(min_value=1, max_value=2**62)


@api_view(["POST"])
@permission_classes([IsAnnotator])
def queue_take_back(request: Request) -> Response:
    """After an undo: lease the slice again as the vet's current one, so they can relabel it."""
    form = SliceSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    claim = worklist.take_back(request.user, form.validated_data["slice"])
    return Response(claim_payload(request.user, claim))


@api_view(["GET"])
@permission_classes([IsAnnotator])
def recent_labels(request: Request) -> Response:
    """The newest version of each of the vet's latest labels, newest first (to reopen one)."""
    newest = (
        Label.objects.filter(reader=request.user)
        .values("instance_id")
        .annotate(last=Max("id"))
        .order_by("-last")[:RECENT_LABELS]
    )
    labels = Label.objects.filter(pk__in=[row["last"] for row in newest]).select_related(
        "reader", "author"
    )
    return Response({"results": LabelSerializer(labels.order_by("-id"), many=True).data})


@api_view(["GET"])
@permission_classes([IsAnnotator])
def slice_item(request: Request, slice_id: int) -> Response:
    """One slice as the labeling page shows it, with the served model's current guess, and
    the vet's own newest label of it (to edit) if there is one."""
    instance = Instance.objects.filter(pk=slice_id).select_related("series__study__dog").first()
    if instance is None:
        raise NotFound("no such slice")
    guess = predictions.for_instances([instance.pk]).get(instance.pk)
    body = item_payload(instance, prediction_payload(*guess) if guess else None)
    mine = Label.objects.filter(instance=instance, reader=request.user).order_by("-version")
    label = mine.select_related("reader", "author").first()
    body["label"] = LabelSerializer(label).data if label else None
    return Response(body)
