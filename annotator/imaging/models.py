"""Dogs and their MR studies, down to single images (instances, "slices" to a vet)."""

from django.db import models

from annotator.vocab import Plane, Sequence, Split, choices


class Dog(models.Model):
    """A patient. The split is drawn once, at first ingest, and never changes."""

    patient_id = models.CharField(max_length=64, unique=True, help_text="The clinic's id.")
    # The dog's own name (the part of PatientName after "^"); the owner's is never kept.
    name = models.CharField(max_length=64, blank=True)
    breed = models.CharField(max_length=128, blank=True)
    sex = models.CharField(max_length=16, blank=True)
    age = models.CharField(max_length=16, blank=True)
    weight_kg = models.FloatField(null=True, blank=True)
    split = models.CharField(max_length=8, choices=choices(Split))
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.patient_id} {self.name}".strip()


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
    plane = models.CharField(max_length=12, choices=choices(Plane))
    sequence = models.CharField(max_length=8, choices=choices(Sequence))
    description = models.CharField(max_length=128, blank=True)
    series_number = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.description or self.series_instance_uid} ({self.plane} {self.sequence})"


class Instance(models.Model):
    """One stored DICOM image: what a vet calls a slice."""

    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    instance_number = models.IntegerField(null=True, blank=True)
    # Position along the series' slice normal in mm; orders slices anatomically.
    position_mm = models.FloatField(null=True, blank=True)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    # The storage key, derived from the stored bytes (sha256), never from a header.
    file_key = models.CharField(max_length=80)
    file_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["series_id", "position_mm", "instance_number", "id"]
        verbose_name = "slice"

    def __str__(self) -> str:
        return self.sop_instance_uid


class CanalBox(models.Model):
    """Where the vertebral canal lies on a slice, in image pixels: what the spine localiser
    learns from. Anatomy, not a diagnosis: imported with the labels' manifest."""

    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, related_name="canal_box")
    x = models.FloatField()
    y = models.FloatField()
    width = models.FloatField()
    height = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"canal of slice {self.instance_id}: {self.width:.0f}×{self.height:.0f} px"

    def as_list(self) -> list[float]:
        return [self.x, self.y, self.width, self.height]
