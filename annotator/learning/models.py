"""Training runs, the model versions they produce, their evaluations and their scores."""

from statistics import fmean

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotator.imaging.models import Instance
from annotator.vocab import Split, choices


class TrainingRun(models.Model):
    """One request to train: queued, then run by a worker, then finished, failed or cancelled.

    A queued run without an rq job id is a trigger that could not reach the job queue yet;
    the next label (or button press) retries sending it.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Started by hand"
        LABELS = "labels", "Enough new labels"
        NIGHTLY = "nightly", "Nightly"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rq_job_id = models.CharField(max_length=64, blank=True)
    enqueue_error = models.CharField(max_length=500, blank=True)
    enqueue_attempted_at = models.DateTimeField(null=True, blank=True)
    # The id of the newest label when the run was requested: "new labels" counts from here.
    labels_seen = models.PositiveBigIntegerField(default=0)
    train_count = models.PositiveIntegerField(default=0)
    val_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # At most one run waits; triggers that arrive meanwhile join it (coalesce).
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="queued"), name="one_queued_training_run"
            ),
            # One training at a time, however many workers listen to the training queue.
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="one_running_training_run"
            ),
        ]

    def __str__(self) -> str:
        return f"training run {self.pk} ({self.status})"


class ModelVersion(models.Model):
    """The weights one finished run produced: a candidate until the registry promotes it."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        PROMOTED = "promoted", "Promoted"
        RETIRED = "retired", "Retired"

    run = models.OneToOneField(TrainingRun, on_delete=models.PROTECT, related_name="model")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CANDIDATE)
    checkpoint_key = models.CharField(max_length=200)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=300, blank=True, help_text="Why the registry chose.")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="promoted"), name="one_promoted_model"
            )
        ]

    def __str__(self) -> str:
        return f"model v{self.pk} ({self.status})"


class Evaluation(models.Model):
    """One model version measured on one split's labeled slices."""

    model = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="evaluations")
    split = models.CharField(max_length=8, choices=choices(Split))
    n = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "split"], name="one_evaluation_per_split")
        ]

    def __str__(self) -> str:
        return f"model v{self.model_id} on {self.split} ({self.n} slices)"


class Prediction(models.Model):
    """What one model version thinks of one slice: a probability per finding."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="predictions")
    model = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="predictions")
    finding = models.CharField(max_length=16)
    probabilities = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "model"], name="one_prediction_per_model")
        ]

    def __str__(self) -> str:
        return f"slice {self.instance_id}, model v{self.model_id}: {self.finding}"


class Score(models.Model):
    """One uncertainty measure of one slice under one model version."""

    class Measure(models.TextChoices):
        ENTROPY = "entropy", "Predictive entropy (nats)"
        MARGIN = "margin", "Margin to the nearest threshold"
        BALD = "bald", "BALD mutual information (nats)"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="scores")
    model = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores")
    measure = models.CharField(max_length=16, choices=Measure.choices)
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "model", "measure"], name="one_score_per_measure"
            )
        ]

    def __str__(self) -> str:
        return f"slice {self.instance_id}, model v{self.model_id}: {self.measure} {self.value:.3f}"


class Heatmap(models.Model):
    """Where one model version looked on one slice for the finding it found most likely:
    a class activation map, 0..255, at most HEATMAP_SIDE pixels on its longer side."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="heatmaps")
    model = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="heatmaps")
    finding = models.CharField(max_length=16)
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    data = models.BinaryField(help_text="zlib-compressed uint8, row by row")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "model"], name="one_heatmap_per_model")
        ]

    def __str__(self) -> str:
        return f"heatmap of slice {self.instance_id}, model v{self.model_id}: {self.finding}"


class Embedding(models.Model):
    """A slice's pooled image features under the promoted version, for spreading a labeling
    batch over what the slices look like (k-center). Only the promoted version keeps them."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="embeddings")
    model = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="embeddings")
    vector = models.BinaryField(help_text="float16, little-endian")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "model"], name="one_embedding_per_model")
        ]

    def __str__(self) -> str:
        return f"embedding of slice {self.instance_id}, model v{self.model_id}"


class BenchmarkCurve(models.Model):
    """A learning curve saved by `manage.py simulate_al --save`, for the learning page:
    labels used against test macro AUROC, per seed, on a synthetic cohort."""

    strategy = models.CharField(max_length=16)
    settings = models.JSONField(help_text="dogs, rounds, batch, steps, seeds")
    seeds = models.JSONField(help_text='{"0": [{"labels", "macro_auroc", "rare_positives"}]}')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.strategy} curve of {self.created_at:%Y-%m-%d}"

    def mean_curve(self) -> list[tuple[int, float]]:
        """(labels, mean macro AUROC over the seeds) per round, where every seed has one."""
        runs = list(self.seeds.values())
        if not runs:
            return []
        points = []
        for step in zip(*runs, strict=False):
            values = [p["macro_auroc"] for p in step if p.get("macro_auroc") is not None]
            if len(values) == len(step):
                points.append((round(fmean(p["labels"] for p in step)), fmean(values)))
        return points
