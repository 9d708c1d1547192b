"""What the API accepts and answers. Serializers validate shapes; services apply rules."""

import math

from django.urls import reverse
from rest_framework import serializers

from annotator.imaging.models import Instance, Series
from annotator.labeling.models import Label
from annotator.labeling.services import MAX_BOXES, LabelContent
from annotator.learning import predictions
from annotator.learning.models import Evaluation, ModelVersion, Prediction, TrainingRun
from annotator.vocab import CANT_TELL_LABELS, FINDING_LABELS, FINDINGS, CantTell, choices
from annotator.worklist import claim as worklist
from annotator.worklist import items
from annotator.worklist.models import QueueItem


def dicom_url(instance_id: int) -> str:
    return reverse("slice-dicom", args=[instance_id])


class FiniteFloat(serializers.FloatField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("must be a finite number")
        return value


class BoxSerializer(serializers.Serializer):
    finding = serializers.ChoiceField(choices=list(FINDING_LABELS.items()))
    x = FiniteFloat(min_value=0)
    y = FiniteFloat(min_value=0)
    width = FiniteFloat(min_value=0, max_value=100_000)
    height = FiniteFloat(min_value=0, max_value=100_000)

    def validate(self, attrs: dict) -> dict:
        if attrs["width"] <= 0 or attrs["height"] <= 0:
            raise serializers.ValidationError("a box needs a width and a height above 0")
        return attrs


class LabelInputSerializer(serializers.Serializer):
    """`findings` (or the older single `finding`), or `cant_tell` with a reason."""

    slice = serializers.IntegerField(min_value=1, max_value=2**62)
    findings = serializers.ListField(
        child=serializers.ChoiceField(choices=list(FINDING_LABELS.items())),
        required=False,
        max_length=len(FINDINGS),
    )
    finding = serializers.ChoiceField(choices=list(FINDING_LABELS.items()), required=False)
    cant_tell = serializers.ChoiceField(
        choices=choices(CantTell, CANT_TELL_LABELS), required=False, allow_null=True
    )
    boxes = BoxSerializer(many=True, required=False, max_length=MAX_BOXES)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31)

    def validate(self, attrs: dict) -> dict:
        if "finding" in attrs and "findings" in attrs:
            raise serializers.ValidationError("send `findings` or `finding`, not both")
        if "finding" in attrs:
            attrs["findings"] = [attrs.pop("finding")]
        return attrs

    def content(self) -> LabelContent:
        data = self.validated_data
        return LabelContent(
            findings=data.get("findings", []),
            cant_tell=data.get("cant_tell"),
            boxes=[dict(b) for b in data.get("boxes", [])],
            comment=data.get("comment", ""),
        )


class LabelEditSerializer(LabelInputSerializer):
    slice = None
    version = serializers.IntegerField(min_value=1, max_value=2**31)


class LabelSerializer(serializers.ModelSerializer):
    slice = serializers.IntegerField(source="instance_id")
    reader = serializers.CharField(source="reader.get_username")
    author = serializers.CharField(source="author.get_username")
    finding = serializers.SerializerMethodField()

    class Meta:
        model = Label
        fields = [
            "id",
            "slice",
            "reader",
            "author",
            "version",
            "findings",
            "finding",
            "cant_tell",
            "boxes",
            "comment",
            "source",
            "withdrawn",
            "created_at",
        ]

    def get_finding(self, label: Label) -> str | None:
        """The one finding, for clients that send and show a single finding."""
        return label.findings[0] if len(label.findings) == 1 else None


class EvaluationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evaluation
        fields = ["split", "n", "metrics", "created_at"]


class TrainingRunSerializer(serializers.ModelSerializer):
    waiting_for_job_queue = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "trigger",
            "created_at",
            "started_at",
            "finished_at",
            "train_count",
            "val_count",
            "timings",
            "error",
            "waiting_for_job_queue",
            "enqueue_error",
        ]

    def get_waiting_for_job_queue(self, run: TrainingRun) -> bool:
        return run.status == TrainingRun.Status.QUEUED and not run.rq_job_id


class ModelVersionSerializer(serializers.ModelSerializer):
    evaluations = EvaluationSerializer(many=True, read_only=True)
    run = TrainingRunSerializer(read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "status",
            "created_at",
            "promoted_at",
            "retired_at",
            "decision",
            "evaluations",
            "run",
        ]


def prediction_payload(prediction: Prediction | None, entropy: float | None) -> dict | None:
    if prediction is None:
        return None
    return {
        "finding": prediction.finding,
        "probabilities": prediction.probabilities,
        "uncertainty": entropy,
        "model_version": prediction.model_id,
    }


def series_payload(series: Series) -> dict:
    ids = series.instances.order_by("position_mm", "instance_number", "id").values_list(
        "id", flat=True
    )
    return {
        "id": series.pk,
        "plane": series.plane,
        "sequence": series.sequence,
        "description": series.description,
        "slices": [{"id": pk, "dicom_url": dicom_url(pk)} for pk in ids],
    }


def item_payload(instance: Instance, prediction: dict | None) -> dict:
    series = series_payload(instance.series)
    index = [s["id"] for s in series["slices"]].index(instance.pk)
    dog = instance.series.study.dog
    return {
        "slice": {
            "id": instance.pk,
            "sop_instance_uid": instance.sop_instance_uid,
            "index": index,
            "dicom_url": dicom_url(instance.pk),
            "heatmap_url": reverse("slice-heatmap", args=[instance.pk]),
            "rows": instance.rows,
            "columns": instance.columns,
        },
        "series": series,
        "dog": {"patient_id": dog.patient_id, "name": dog.name, "breed": dog.breed},
        "prediction": prediction,
    }


def claim_payload(user, claim: worklist.Claim) -> dict:
    """A claim as the labeling page reads it: the current slice, the lookahead, progress."""
    instances = [claim.current, *claim.lookahead]
    guesses = predictions.for_instances([i.pk for i in instances])

    def payload(instance: Instance) -> dict:
        guess = guesses.get(instance.pk)
        return item_payload(instance, prediction_payload(*guess) if guess else None)

    body = payload(claim.current)
    body["lease_expires_at"] = claim.expires_at.isoformat()
    body["lookahead"] = [payload(i) for i in claim.lookahead]
    body["progress"] = {
        "labeled_by_you": QueueItem.readers.through.objects.filter(user_id=user.pk).count(),
        "remaining": items.remaining(),
    }
    return body
