from django.urls import reverse
from rest_framework import serializers

from annotator.models import Annotation, Finding, ModelVersion, Prediction, Series, Slice


def dicom_url(slice_id: int) -> str:
    return reverse("slice-dicom", args=[slice_id])


class AnnotationCreateSerializer(serializers.Serializer):
    slice = serializers.IntegerField(min_value=1)
    finding = serializers.ChoiceField(choices=Finding.choices)


class AnnotationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Annotation
        fields = ["id", "slice", "finding", "version", "created_at"]


class PredictionSerializer(serializers.ModelSerializer):
    model_version = serializers.IntegerField(source="model_version_id")

    class Meta:
        model = Prediction
        fields = ["finding", "probabilities", "uncertainty", "model_version"]


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "status",
            "trigger",
            "created_at",
            "started_at",
            "finished_at",
            "train_slices",
            "val_slices",
            "metrics",
            "error",
        ]


def series_payload(series: Series) -> dict:
    slices = series.slices.order_by("position_mm", "instance_number", "id").values_list(
        "id", flat=True
    )
    return {
        "id": series.pk,
        "plane": series.plane,
        "sequence": series.sequence,
        "description": series.description,
        "slices": [{"id": pk, "dicom_url": dicom_url(pk)} for pk in slices],
    }


def claim_payload(claim, labeled_by_you: int, remaining: int) -> dict:  # claim: queue.Claim
    slice_: Slice = claim.slice
    series = series_payload(slice_.series)
    index = [s["id"] for s in series["slices"]].index(slice_.pk)
    dog = slice_.series.study.dog
    return {
        "slice": {
            "id": slice_.pk,
            "sop_instance_uid": slice_.sop_instance_uid,
            "index": index,
            "dicom_url": dicom_url(slice_.pk),
        },
        "series": series,
        "dog": {"patient_id": dog.patient_id, "breed": dog.breed},
        "lease_expires_at": claim.lease_expires_at.isoformat(),
        "prediction": PredictionSerializer(claim.prediction).data if claim.prediction else None,
        "progress": {"labeled_by_you": labeled_by_you, "remaining": remaining},
    }
