"""What Dachs keeps: dogs, their MR studies down to single slices, labels and the model."""

from pathlib import Path

from django.conf import settings
from django.db import models


class Finding(models.TextChoices):
    """The six image classes of the reference study, in hotkey order."""

    UNREMARKABLE = "unremarkable", "Unremarkable"
    IVDE = "ivde", "IVDE"
    IVDP = "ivdp", "IVDP"
    FCE_ANNPE = "fce_annpe", "FCE/ANNPE"
    SYRINGOMYELIA = "syringomyelia", "Syringomyelia"
    NEOPLASIA = "neoplasia", "Neoplasia"


FINDING_ORDER: list[str] = [value for value, _ in Finding.choices]


class Split(models.TextChoices):
    TRAIN = "train", "Training"
    VAL = "val", "Validation"
    TEST = "test", "Test"


class Plane(models.TextChoices):
    SAGITTAL = "sagittal", "Sagittal"
    TRANSVERSE = "transverse", "Transverse"
    DORSAL = "dorsal", "Dorsal"
    UNKNOWN = "unknown", "Unknown"


class Sequence(models.TextChoices):
    T1W = "T1W", "T1-weighted"
    T2W = "T2W", "T2-weighted"
    STIR = "STIR", "STIR"
    OTHER = "other", "Other"


class Dog(models.Model):
    """A patient. The split is drawn once, at first ingest, and never changes."""

    patient_id = models.CharField(max_length=64, unique=True)
    breed = models.CharField(max_length=128, blank=True)
    sex = models.CharField(max_length=16, blank=True)
    age = models.CharField(max_length=16, blank=True)
    weight_kg = models.FloatField(null=True, blank=True)
    split = models.CharField(max_length=8, choices=Split.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.patient_id


class Study(models.Model):
    dog = models.ForeignKey(Dog, on_delete=models.PROTECT, related_name="studies")
    study_instance_uid = models.CharField(max_length=64, unique=True)
    study_date = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.study_instance_uid


class Series(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="series")
    series_instance_uid = models.CharField(max_length=64, unique=True)
    plane = models.CharField(max_length=12, choices=Plane.choices)
    sequence = models.CharField(max_length=8, choices=Sequence.choices)
    description = models.CharField(max_length=128, blank=True)
    series_number = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.description or self.series_instance_uid} ({self.plane} {self.sequence})"


class Slice(models.Model):
    """One DICOM instance (one image) and, while somebody labels it, their lease."""

    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="slices")
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    instance_number = models.IntegerField(null=True, blank=True)
    # Position along the series' slice normal in mm; orders slices anatomically.
    position_mm = models.FloatField(null=True, blank=True)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    file_path = models.CharField(max_length=512, help_text="Relative to the DICOM directory.")
    file_sha256 = models.CharField(max_length=64)
    # Order before any model exists: shuffled, interleaved across series types.
    base_rank = models.PositiveIntegerField(default=0, db_index=True)
    leased_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["series_id", "position_mm", "instance_number", "id"]

    def __str__(self) -> str:
        return self.sop_instance_uid

    @property
    def dicom_file(self) -> Path:
        return Path(settings.DICOM_DIR) / self.file_path


class Annotation(models.Model):
    """A finding given by one reader to one slice. Rows are never edited: a change of
    mind is a new row with the next version, so the history stays."""

    slice = models.ForeignKey(Slice, on_delete=models.PROTECT, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    finding = models.CharField(max_length=16, choices=Finding.choices)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slice", "annotator", "version"], name="one_row_per_annotation_version"
            )
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.slice_id}: {self.finding} v{self.version}"


class ModelVersion(models.Model):
    """One training run: queued, trained, measured on the validation dogs, then active."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Started by hand"
        LABELS = "labels", "Enough new labels"
        NIGHTLY = "nightly", "Nightly"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rq_job_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    train_slices = models.PositiveIntegerField(default=0)
    val_slices = models.PositiveIntegerField(default=0)
    annotations_seen = models.PositiveIntegerField(
        default=0, help_text="Annotation count when training started."
    )
    metrics = models.JSONField(default=dict, blank=True)
    checkpoint_path = models.CharField(max_length=512, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # At most one run waits in the queue; labels that arrive meanwhile join it.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="queued"),
                name="one_queued_training_run",
            )
        ]

    def __str__(self) -> str:
        return f"model v{self.pk} ({self.status})"


class Prediction(models.Model):
    """What one model version thinks of one slice, and how unsure it is."""

    slice = models.ForeignKey(Slice, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="predictions"
    )
    finding = models.CharField(max_length=16, choices=Finding.choices)
    probabilities = models.JSONField()
    uncertainty = models.FloatField(help_text="Predictive entropy in nats.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slice", "model_version"], name="one_prediction_per_slice_and_model"
            )
        ]
        indexes = [models.Index(fields=["model_version", "-uncertainty"])]

    def __str__(self) -> str:
        return f"slice {self.slice_id}, model v{self.model_version_id}: {self.finding}"
