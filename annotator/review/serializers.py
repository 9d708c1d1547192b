"""What the review API accepts and answers. Shapes only: the rules live in services.py."""

from rest_framework import serializers

from annotator.api.serializers import BoxSerializer
from annotator.labeling.models import Label
from annotator.labeling.services import MAX_BOXES
from annotator.review.models import Decision, Review
from annotator.vocab import FINDING_LABELS, FINDINGS

MAX_REASON = 2000


class DecisionInputSerializer(serializers.Serializer):
    """`findings` and `boxes` count for "correct" only; `reason` is required for "reject"."""

    label = serializers.IntegerField(min_value=1, max_value=2**62)
    decision = serializers.ChoiceField(choices=Decision.choices)
    findings = serializers.ListField(
        child=serializers.ChoiceField(choices=list(FINDING_LABELS.items())),
        required=False,
        max_length=len(FINDINGS),
    )
    boxes = BoxSerializer(many=True, required=False, max_length=MAX_BOXES)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=MAX_REASON)

    def arguments(self) -> dict:
        data = self.validated_data
        return {
            "label_id": data["label"],
            "decision": data["decision"],
            "findings": list(data.get("findings", [])),
            "boxes": [dict(b) for b in data.get("boxes", [])],
            "reason": data.get("reason", ""),
        }


class ReviewSerializer(serializers.ModelSerializer):
    result_label = serializers.IntegerField(source="result_id", allow_null=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "label",
            "decision",
            "findings",
            "boxes",
            "reason",
            "result_label",
            "created_at",
        ]


def label_payload(label: Label) -> dict:
    """A label version as the review page shows it."""
    return {
        "id": label.pk,
        "version": label.version,
        "reader": label.reader.get_username(),
        "findings": list(label.findings),
        "cant_tell": label.cant_tell or None,
        "boxes": list(label.boxes),
        "comment": label.comment,
        "created_at": label.created_at.isoformat(),
    }
