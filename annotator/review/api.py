"""The review API: the next slice to review, decisions, and labels sent back to readers."""

from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.accounts.permissions import IsAnnotator, IsReviewer
from annotator.api.serializers import dicom_url, item_payload, prediction_payload
from annotator.learning import predictions
from annotator.review import queue, services, tiers
from annotator.review.models import Review
from annotator.review.serializers import DecisionInputSerializer, ReviewSerializer, label_payload


@api_view(["POST"])
@permission_classes([IsReviewer])
def review_next(request: Request) -> Response:
    """Lease the next slice to review (or renew the one held); 204 when nothing waits."""
    claim = queue.claim_review(request.user)
    if claim is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    guess = predictions.for_instances([claim.instance.pk]).get(claim.instance.pk)
    place = item_payload(claim.instance, None)
    return Response(
        {
            "label": label_payload(claim.label),
            "slice": place["slice"],
            "series": place["series"],
            "dog": place["dog"],
            "other_labels": [label_payload(label) for label in claim.other_labels],
            "model": prediction_payload(*guess) if guess else None,
            "priority": {"tier": claim.tier, "reasons": tiers.reasons(claim.tier)},
            "lease_expires_at": claim.expires_at.isoformat(),
            "remaining": claim.remaining,
            # Not leased: the slices likely to come next, for the page to prefetch.
            "upcoming": [
                {"slice": pk, "dicom_url": dicom_url(pk)}
                for pk in queue.upcoming(request.user, claim.instance.pk)
            ],
        }
    )


@api_view(["GET", "POST"])
@permission_classes([IsReviewer])
def reviews(request: Request) -> Response:
    """GET: the asking reviewer's decisions, newest first. POST: decide on a label."""
    if request.method == "GET":
        mine = Review.objects.filter(reviewer=request.user).order_by("-created_at", "-id")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(mine, request)
        return paginator.get_paginated_response(ReviewSerializer(page, many=True).data)
    form = DecisionInputSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    review, created = services.decide_once(request.user, **form.arguments())
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return Response(ReviewSerializer(review).data, status=code)


@api_view(["GET"])
@permission_classes([IsAnnotator])
def returned(request: Request) -> Response:
    """The asking reader's labels a reviewer rejected, with the reviewer's reason."""
    rows = services.returned_labels(request.user)
    return Response(
        {
            "results": [
                {
                    "label": r.label,
                    "slice": r.slice,
                    "series": r.series,
                    "dog": r.dog,
                    "series_description": r.series_description,
                    "plane": r.plane,
                    "sequence": r.sequence,
                    "instance_number": r.instance_number,
                    "findings": r.findings,
                    "reason": r.reason,
                    "reviewer": r.reviewer,
                    "decided_at": r.decided_at.isoformat(),
                }
                for r in rows
            ]
        }
    )
