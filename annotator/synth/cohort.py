"""Write a whole synthetic cohort: DICOM files per dog and series, plus manifest.csv."""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from annotator.synth.dicom_writer import series_header, slice_dataset, write_slice
from annotator.synth.dogs import assign_findings
from annotator.synth.findings import FINDINGS
from annotator.synth.geometry import SliceGeometry
from annotator.synth.phantom import LabelledSlice, acquire, clean_signal, label_slice
from annotator.synth.plan import StudyPlan, plan_study, synthetic_uid

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = [
    "patient_id",
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "plane",
    "sequence",
    "instance_number",
    "finding",
    "path",
]


@dataclass
class CohortSummary:
    out_dir: Path
    dogs: int = 0
    series: int = 0
    slices: int = 0
    slices_by_finding: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FINDINGS, 0))
    dogs_by_finding: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FINDINGS, 0))

    def line(self) -> str:
        per_class = " ".join(f"{k}={v}" for k, v in self.slices_by_finding.items())
        per_dog = " ".join(f"{k}={v}" for k, v in self.dogs_by_finding.items() if v)
        return (
            f"Wrote {self.dogs} dogs, {self.series} series, {self.slices} slices to "
            f"{self.out_dir}; slices by finding: {per_class}; dogs by diagnosis: {per_dog}"
        )


def plan_cohort(dogs: int, seed: int) -> list[StudyPlan]:
    """The studies write_cohort would write, without drawing or writing anything."""
    if dogs < 1 or seed < 0:
        raise ValueError("dogs must be at least 1 and seed must not be negative")
    findings = assign_findings(dogs, seed)
    return [plan_study(seed, number, findings[number - 1]) for number in range(1, dogs + 1)]


def write_cohort(out_dir: Path, dogs: int, seed: int) -> CohortSummary:
    """Write `dogs` synthetic dogs under out_dir; the same seed gives identical bytes.

    Raises FileExistsError if out_dir holds anything, so an old cohort's files can never
    mix with a new manifest.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty")
    studies = plan_cohort(dogs, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = CohortSummary(out_dir=out_dir)
    rows: list[dict[str, object]] = []
    for study in studies:
        rows += _write_study(study, out_dir, summary)
    with (out_dir / MANIFEST).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return summary


def _write_study(study: StudyPlan, out_dir: Path, summary: CohortSummary) -> list[dict]:
    patient_id = study.patient.patient_id
    # T1W and T2W series share their planes, so each plane is labelled once.
    labelled: dict[SliceGeometry, dict[str, LabelledSlice]] = {}
    rows = []
    for series in study.series:
        header = series_header(study, series)
        for instance, geometry in enumerate(series.slices, start=1):
            if geometry not in labelled:
                labelled[geometry] = label_slice(study.spine, study.lesion, geometry)
            truth = labelled[geometry][series.sequence]
            noise_rng = np.random.default_rng([study.seed, study.number, series.number, instance])
            signal = clean_signal(truth.labels, series.sequence)
            pixels = acquire(signal, series.acquisition, noise_rng)
            sop_uid = synthetic_uid(study.seed, study.number, series.number, instance)
            relative = Path(patient_id, series.folder, f"{instance:04d}.dcm")
            ds = slice_dataset(header, instance, geometry, pixels, sop_uid)
            write_slice(ds, out_dir / relative)
            summary.slices += 1
            summary.slices_by_finding[truth.finding] += 1
            rows.append(
                {
                    "patient_id": patient_id,
                    "study_instance_uid": study.study_uid,
                    "series_instance_uid": series.uid,
                    "sop_instance_uid": sop_uid,
                    "plane": series.plane,
                    "sequence": series.sequence,
                    "instance_number": instance,
                    "finding": truth.finding,
                    "path": relative.as_posix(),
                }
            )
        summary.series += 1
    summary.dogs += 1
    summary.dogs_by_finding[study.finding] += 1
    return rows
