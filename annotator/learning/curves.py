"""What the clinic's labels bought: the project's learning curve (labels against validation
macro AUROC per model version), the saved benchmark curves to hold it against, and how many
labeled positives each finding has per split. Reads rows only; no torch."""

import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from annotator.learning.dataset import current_labels
from annotator.learning.models import BenchmarkCurve, Evaluation, ModelVersion
from annotator.vocab import FINDING_LABELS, FINDINGS, Split

SPLITS: list[str] = [Split.TRAIN, Split.VAL, Split.TEST]


@dataclass(frozen=True)
class ProjectPoint:
    """One model version: the labeled training slices it learned from and its val score."""

    version: int
    status: str
    labels: int
    macro_auroc: float

    @property
    def promoted(self) -> bool:
        return self.status == ModelVersion.Status.PROMOTED


@dataclass(frozen=True)
class Benchmark:
    """A saved `simulate_al` curve: mean test macro AUROC over its seeds, per labels used."""

    strategy: str
    points: list[tuple[int, float]]
    dogs: int | None
    seeds: int
    batch: int | None
    saved_at: datetime


@dataclass(frozen=True)
class FindingCount:
    finding: str
    name: str
    per_split: list[int]  # in SPLITS order
    total: int


@dataclass(frozen=True)
class LabelCounts:
    """Slices whose current label shows each finding, per split of their dog."""

    findings: list[FindingCount]
    cant_tell: list[int]
    labeled: list[int]

    @property
    def cant_tell_total(self) -> int:
        return sum(self.cant_tell)

    @property
    def labeled_total(self) -> int:
        return sum(self.labeled)


def project_curve() -> list[ProjectPoint]:
    """One point per model version with a validation macro AUROC, oldest version first."""
    evaluations = (
        Evaluation.objects.filter(split=Split.VAL).select_related("model__run").order_by("model_id")
    )
    points = []
    for evaluation in evaluations:
        value = evaluation.metrics.get("macro_auroc")
        # Undefined when the validation labels lack a positive or a negative of every class.
        if not isinstance(value, int | float) or math.isnan(value):
            continue
        version = evaluation.model
        points.append(
            ProjectPoint(
                version=version.pk,
                status=version.status,
                labels=version.run.train_count,
                macro_auroc=float(value),
            )
        )
    return points


def benchmarks() -> list[Benchmark]:
    """The latest saved `random` curve and the latest of the default strategy, if saved."""
    strategies = ["random"]
    if settings.AL_STRATEGY != "random":
        strategies.append(settings.AL_STRATEGY)
    found = []
    for strategy in strategies:
        curve = BenchmarkCurve.objects.filter(strategy=strategy).order_by("-id").first()
        if curve is not None:
            found.append(_benchmark(curve))
    return found


def _benchmark(curve: BenchmarkCurve) -> Benchmark:
    saved = curve.settings or {}
    return Benchmark(
        strategy=curve.strategy,
        points=curve.mean_curve(),
        dogs=saved.get("dogs"),
        seeds=len(curve.seeds or {}),
        batch=saved.get("batch"),
        saved_at=curve.created_at,
    )


def label_counts() -> LabelCounts:
    """Per finding, per split: slices whose standing label shows it; can't-tell; labeled."""
    labels = {split: list(current_labels(split).values()) for split in SPLITS}
    findings = []
    for finding in FINDINGS:
        per_split = [sum(finding in label.findings for label in labels[s]) for s in SPLITS]
        findings.append(FindingCount(finding, FINDING_LABELS[finding], per_split, sum(per_split)))
    return LabelCounts(
        findings=findings,
        cant_tell=[sum(bool(label.cant_tell) for label in labels[s]) for s in SPLITS],
        labeled=[len(labels[s]) for s in SPLITS],
    )
