"""The second eye: what the served model says about one study, for a vet reading it.

Read from stored rows only (Prediction, Heatmap, the test Evaluation), never from torch:

* per series, the lesion findings ranked by their highest slice probability in that series,
  each called when that probability reaches the version's dog-level threshold (``>=``, as
  ``ml.report`` calls; a highest-of-many-slices runs higher than one slice, so it gets the
  cut chosen for it on the validation dogs), with the key slices (the top KEY_SLICES by
  that finding's probability) of the called findings and of the top-ranked one;
* the dog-level call, as the evaluation report makes it: a lesion is called on the study when
  its most suspicious scored slice is; "unremarkable" when no lesion is. Beside each call, the
  test dogs' sensitivity and specificity for it (with the counts), so a vet knows how far to
  trust it;
* for the study list, a status per study (not scored, or how many findings are suspected)
  and whether any of its slices has a standing label.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, F, FloatField, Max, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from annotator.imaging.models import Instance, Series, Study
from annotator.labeling.models import Label
from annotator.learning import dataset
from annotator.learning.models import Evaluation, Heatmap, ModelVersion, Prediction
from annotator.learning.registry import promoted
from annotator.vocab import FINDING_LABELS, Finding, Split

UNREMARKABLE = Finding.UNREMARKABLE.value
KEY_SLICES = 3
# The uncertainty of a call is the binary entropy of its probability, in bits (0 at p = 0 or
# 1, 1 at p = 0.5), put in words: low below 0.5 bits (p <= 0.11 or p >= 0.89), high from 0.9
# bits on (p between about 0.32 and 0.68), medium between.
LOW_BELOW_BITS = 0.5
HIGH_FROM_BITS = 0.9
UNCERTAINTY_SCALE = (
    "the binary entropy of the probability: low below 0.5 bits (p at most 0.11 or at least "
    "0.89), high from 0.9 bits (p between about 0.32 and 0.68), medium between"
)
# A slice preview is windowed like the cohort's contact sheet: a few hot pixels must not
# turn the rest of the slice black.

# What a study's status says: no model serves, none of its slices is scored yet, some are,
# all are.
NO_MODEL, NOT_SCORED, PARTLY_SCORED, SCORED = "no_model", "not_scored", "partly_scored", "scored"


@dataclass
class KeySlice:
    id: int
    instance_number: int | None
    position_mm: float | None
    probability: float
    # The finding whose map the served heatmap shows (the slice's most likely one); None
    # when the slice has no heatmap.
    heatmap_finding: str | None = None


@dataclass
class SeriesFinding:
    finding: str
    label: str
    probability: float
    threshold: float
    called: bool
    key_slices: list[KeySlice] = field(default_factory=list)


@dataclass
class SeriesRead:
    id: int
    plane: str
    sequence: str
    description: str
    series_number: int | None
    slices: int
    scored: int
    findings: list[SeriesFinding]


@dataclass
class DogCall:
    finding: str
    label: str
    probability: float
    threshold: float | None  # None for unremarkable: called when no lesion is
    called: bool
    uncertainty_bits: float
    uncertainty: str  # low | medium | high
    # The test dogs' {tp, fn, tn, fp, sensitivity, specificity, *_ci} for this call, from
    # the version's test Evaluation; None until it is computed.
    test_dogs: dict | None


@dataclass
class StudyInfo:
    id: int
    study_instance_uid: str
    study_date: date | None
    description: str
    ingested_at: datetime
    patient_id: str
    dog_name: str
    breed: str


@dataclass
class StudyRead:
    study: StudyInfo
    model: int | None
    status: str
    slices: int
    scored: int
    call: list[str]  # the called lesions, most probable first, or ["unremarkable"]
    dog_calls: list[DogCall]  # every lesion, most probable first, then unremarkable
    series: list[SeriesRead]
    test_dogs: int | None  # how many test dogs the report's dog-level numbers rest on


@dataclass
class StudyRow:
    study: StudyInfo
    slices: int
    scored: int
    status: str
    summary: str
    suspected: list[str]
    labeled_slices: int


def uncertainty(probability: float) -> tuple[float, str]:
    """(binary entropy in bits, low | medium | high) of one probability."""
    p = min(max(float(probability), 0.0), 1.0)
    bits = -sum(x * math.log2(x) for x in (p, 1.0 - p) if x > 0)
    if bits < LOW_BELOW_BITS:
        return bits, "low"
    return bits, "high" if bits >= HIGH_FROM_BITS else "medium"


def thresholds(version: ModelVersion) -> dict[str, float]:
    """{lesion: threshold} in the version's lesion order (0.5 where it has none)."""
    lesions = version.config.get("lesions") or dataset.LESIONS
    values = version.config.get("thresholds") or []
    return {
        lesion: float(values[i]) if i < len(values) else 0.5 for i, lesion in enumerate(lesions)
    }


def study_thresholds(version: ModelVersion) -> dict[str, float]:
    """{lesion: cut} for calls on a series or a study (its most suspicious slice): the
    version's dog-level thresholds, or its slice thresholds when it predates them."""
    cuts = thresholds(version)
    values = version.config.get("dog_thresholds") or []
    if len(values) != len(cuts):
        return cuts
    return {lesion: float(value) for lesion, value in zip(cuts, values, strict=True)}


def _info(study: Study) -> StudyInfo:
    return StudyInfo(
        id=study.pk,
        study_instance_uid=study.study_instance_uid,
        study_date=study.study_date,
        description=study.description,
        ingested_at=study.created_at,
        patient_id=study.dog.patient_id,
        dog_name=study.dog.name,
        breed=study.dog.breed,
    )


def _status(slices: int, scored: int) -> str:
    if not scored:
        return NOT_SCORED
    return SCORED if scored >= slices else PARTLY_SCORED


def _test_dogs(version: ModelVersion) -> dict | None:
    """The test report's dog-level block {"n_dogs", "per_finding"}, or None."""
    evaluation = Evaluation.objects.filter(model=version, split=Split.TEST).first()
    return evaluation.metrics.get("dogs") if evaluation else None


# --- the read view ------------------------------------------------------------------------


def read(study: Study) -> StudyRead:
    """Everything the read view shows about one study under the promoted model."""
    series_rows = list(
        Series.objects.filter(study=study)
        .annotate(n=Count("instances"))
        .order_by(F("series_number").asc(nulls_last=True), "id")
    )
    slices = sum(s.n for s in series_rows)
    version = promoted()
    result = StudyRead(_info(study), None, NO_MODEL, slices, 0, [], [], [], None)
    if version is None:
        result.series = [_series_read(s, [], {}) for s in series_rows]
        return result
    result.model = version.pk
    cuts = study_thresholds(version)
    rows = list(
        Prediction.objects.filter(model=version, instance__series__study=study)
        .order_by("instance_id")
        .values_list(
            "instance_id",
            "instance__series_id",
            "instance__instance_number",
            "instance__position_mm",
            "probabilities",
        )
    )
    by_series: dict[int, list[tuple]] = {}
    for row in rows:
        by_series.setdefault(row[1], []).append(row)
    result.series = [_series_read(s, by_series.get(s.pk, []), cuts) for s in series_rows]
    result.scored = len(rows)
    result.status = _status(slices, len(rows))
    if not rows:
        return result
    _attach_heatmaps(version, result.series)
    dogs = _test_dogs(version) or {}
    result.test_dogs = dogs.get("n_dogs")
    result.dog_calls = _dog_calls(rows, cuts, dogs.get("per_finding", {}))
    result.call = [c.finding for c in result.dog_calls if c.called]
    return result


def _dog_calls(rows: list[tuple], cuts: dict[str, float], trust: dict) -> list[DogCall]:
    """Every lesion called or not on the study, most probable first, then unremarkable."""

    def call(finding: str, p: float, threshold: float | None, called: bool) -> DogCall:
        label = FINDING_LABELS.get(finding, finding)
        return DogCall(finding, label, p, threshold, called, *uncertainty(p), trust.get(finding))

    lesions = []
    for lesion, cut in cuts.items():
        highest = max(_p(row[4], lesion) for row in rows)
        lesions.append(call(lesion, highest, cut, highest >= cut))
    lesions.sort(key=lambda c: -c.probability)
    top = lesions[0].probability if lesions else 0.0
    nothing = call(UNREMARKABLE, 1.0 - top, None, not any(c.called for c in lesions))
    # "Nothing found" is as unsure as its least sure lesion.
    if lesions:
        least_sure = max(lesions, key=lambda c: c.uncertainty_bits)
        nothing.uncertainty_bits = least_sure.uncertainty_bits
        nothing.uncertainty = least_sure.uncertainty
    return [*lesions, nothing]


def _p(probabilities: dict, finding: str) -> float:
    value = probabilities.get(finding)
    return float(value) if isinstance(value, int | float) else 0.0


def _series_read(series: Series, rows: list[tuple], cuts: dict[str, float]) -> SeriesRead:
    findings = []
    for lesion, threshold in cuts.items() if rows else []:
        ranked = sorted(rows, key=lambda row: -_p(row[4], lesion))[:KEY_SLICES]
        keys = [KeySlice(row[0], row[2], row[3], _p(row[4], lesion)) for row in ranked]
        best = keys[0].probability
        label = FINDING_LABELS.get(lesion, lesion)
        findings.append(SeriesFinding(lesion, label, best, threshold, best >= threshold, keys))
    findings.sort(key=lambda f: -f.probability)
    for rank, finding in enumerate(findings):
        if rank and not finding.called:
            finding.key_slices = []
    return SeriesRead(
        series.pk,
        series.plane,
        series.sequence,
        series.description,
        series.series_number,
        series.n,
        len(rows),
        findings,
    )


def _attach_heatmaps(version: ModelVersion, series: list[SeriesRead]) -> None:
    keys = [k for s in series for f in s.findings for k in f.key_slices]
    shown = dict(
        Heatmap.objects.filter(model=version, instance_id__in={k.id for k in keys}).values_list(
            "instance_id", "finding"
        )
    )
    for key in keys:
        key.heatmap_finding = shown.get(key.id)


# --- the study list -----------------------------------------------------------------------


def newest_first():
    """Studies, the most recently ingested first (what "newly ingested" means to a reader)."""
    return Study.objects.select_related("dog").order_by("-created_at", "-id")


def rows(studies: list[Study]) -> list[StudyRow]:
    """A status line per study of one page of the list; a fixed number of queries."""
    ids = [s.pk for s in studies]
    slices = dict(
        Instance.objects.filter(series__study_id__in=ids)
        .values("series__study_id")
        .annotate(n=Count("id"))
        .values_list("series__study_id", "n")
    )
    labeled = _labeled_slices(ids)
    version = promoted()
    cuts = study_thresholds(version) if version else {}
    scored: dict[int, dict] = {}
    if version is not None and ids:
        highest = {
            lesion: Max(Cast(KT(f"probabilities__{lesion}"), FloatField())) for lesion in cuts
        }
        for row in (
            Prediction.objects.filter(model=version, instance__series__study_id__in=ids)
            .values("instance__series__study_id")
            .annotate(n=Count("id"), **highest)
        ):
            scored[row.pop("instance__series__study_id")] = row
    out = []
    for study in studies:
        n = slices.get(study.pk, 0)
        highest = scored.get(study.pk, {})
        k = highest.get("n", 0)
        suspected = sorted(
            (lesion for lesion, cut in cuts.items() if (highest.get(lesion) or 0.0) >= cut),
            key=lambda lesion: -highest[lesion],
        )
        status = NO_MODEL if version is None else _status(n, k)
        out.append(
            StudyRow(
                _info(study),
                n,
                k,
                status,
                _summary(status, n, k, suspected),
                suspected,
                labeled.get(study.pk, 0),
            )
        )
    return out


def _summary(status: str, slices: int, scored: int, suspected: list[str]) -> str:
    if status == NO_MODEL:
        return "no model served"
    if status == NOT_SCORED:
        return "not scored"
    words = f"scored: {len(suspected)} suspected finding{'' if len(suspected) == 1 else 's'}"
    return words if status == SCORED else f"{words} ({scored} of {slices} slices scored)"


def _labeled_slices(study_ids: list[int]) -> dict[int, int]:
    """{study id: slices with a standing label}: a reader's newest version, not withdrawn."""
    newest = (
        Label.objects.filter(instance=OuterRef("instance"), reader=OuterRef("reader"))
        .order_by("-version")
        .values("version")[:1]
    )
    return dict(
        Label.objects.filter(
            instance__series__study_id__in=study_ids, withdrawn=False, version=Subquery(newest)
        )
        .values("instance__series__study_id")
        .annotate(n=Count("instance", distinct=True))
        .values_list("instance__series__study_id", "n")
    )
