"""Write a whole synthetic cohort: DICOM files per dog and series, plus manifest.csv.

Dogs are drawn in a process pool; each dog's pixels come from its own seeded generators
and rows are gathered in dog order, so the bytes do not depend on the pool.
"""

import csv
import json
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from annotator.synth.dicom_writer import series_header, slice_dataset, write_slice
from annotator.synth.dogs import assign_findings
from annotator.synth.findings import FINDINGS, UNREMARKABLE
from annotator.synth.geometry import SliceGeometry
from annotator.synth.phantom import LabelledPlane, acquire, label_slice, textured_signal
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
    "finding",  # the primary finding: the first of `findings` in vocabulary order
    "path",
    "findings",  # every finding on the slice, ";"-separated; "unremarkable" alone if none
    "boxes",  # JSON [{"finding", "x", "y", "width", "height"}] in pixels, one per finding
    "canal_box",  # JSON {"x", "y", "width", "height"} of the vertebral canal, or null
]


@dataclass
class CohortSummary:
    out_dir: Path
    dogs: int = 0
    series: int = 0
    slices: int = 0
    slices_by_finding: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FINDINGS, 0))
    dogs_by_finding: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FINDINGS, 0))
    lesion_areas_mm2: dict[str, list[float]] = field(
        default_factory=lambda: {f: [] for f in FINDINGS if f != UNREMARKABLE}
    )

    def median_area_mm2(self) -> dict[str, float]:
        """Median visible lesion area per labelled slice and finding (mm²)."""
        return {f: float(np.median(a)) for f, a in self.lesion_areas_mm2.items() if a}

    def line(self) -> str:
        per_class = " ".join(f"{k}={v}" for k, v in self.slices_by_finding.items())
        per_dog = " ".join(f"{k}={v}" for k, v in self.dogs_by_finding.items() if v)
        areas = " ".join(f"{k}={v:.0f}" for k, v in self.median_area_mm2().items())
        return (
            f"Wrote {self.dogs} dogs, {self.series} series, {self.slices} slices to "
            f"{self.out_dir}; slices by finding: {per_class}; dogs by diagnosis: {per_dog}; "
            f"median lesion area (mm²): {areas or 'none'}"
        )


def plan_cohort(dogs: int, seed: int) -> list[StudyPlan]:
    """The studies write_cohort would write, without drawing or writing anything."""
    if dogs < 1 or seed < 0:
        raise ValueError("dogs must be at least 1 and seed must not be negative")
    findings = assign_findings(dogs, seed)
    return [plan_study(seed, number, findings[number - 1]) for number in range(1, dogs + 1)]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def write_cohort(out_dir: Path, dogs: int, seed: int, workers: int | None = None) -> CohortSummary:
    """Write `dogs` synthetic dogs under out_dir; the same seed gives identical bytes.

    `workers` processes draw the dogs (default: one per available core). Raises
    FileExistsError if out_dir holds anything, so an old cohort's files can never mix
    with a new manifest.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty")
    studies = plan_cohort(dogs, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers or default_workers(), dogs))
    # Workers are forked: they start in milliseconds with everything imported. A lock
    # held by another thread (a test's live server) would stay held in a forked child
    # for ever, and spawn cannot re-import every caller's __main__, so with other
    # threads running the dogs are drawn here, one after another.
    if workers == 1 or threading.active_count() > 1 or sys.platform != "linux":
        results = [_write_study(study, out_dir) for study in studies]
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = list(pool.map(_write_study, studies, [out_dir] * dogs, chunksize=1))
    summary = CohortSummary(out_dir=out_dir)
    rows: list[dict[str, object]] = []
    for study, (study_rows, areas) in zip(studies, results, strict=True):
        rows += study_rows
        summary.dogs += 1
        summary.series += len(study.series)
        summary.slices += len(study_rows)
        summary.dogs_by_finding[study.finding] += 1
        for row in study_rows:
            summary.slices_by_finding[str(row["finding"])] += 1
        for finding, area in areas:
            summary.lesion_areas_mm2[finding].append(area)
    with (out_dir / MANIFEST).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return summary


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _write_study(
    study: StudyPlan, out_dir: Path
) -> tuple[list[dict[str, object]], list[tuple[str, float]]]:
    """One dog's files; returns its manifest rows and (finding, area mm²) per lesion image."""
    patient_id = study.patient.patient_id
    # T1W and T2W series share their planes, so each plane is labelled once.
    labelled: dict[SliceGeometry, LabelledPlane] = {}
    rows, areas = [], []
    for series in study.series:
        header = series_header(study, series)
        for instance, geometry in enumerate(series.slices, start=1):
            if geometry not in labelled:
                labelled[geometry] = label_slice(
                    study.spine, study.lesions, geometry, series.acquisition.blur_px
                )
            plane = labelled[geometry]
            truth = plane.truth[series.sequence]
            noise_rng = np.random.default_rng([study.seed, study.number, series.number, instance])
            signal = textured_signal(truth.labels, series.sequence, plane.texture)
            pixels = acquire(signal, series.acquisition, noise_rng)
            sop_uid = synthetic_uid(study.seed, study.number, series.number, instance)
            relative = Path(patient_id, series.folder, f"{instance:04d}.dcm")
            ds = slice_dataset(header, instance, geometry, pixels, sop_uid)
            write_slice(ds, out_dir / relative)
            areas += zip(truth.findings, truth.areas_mm2, strict=True)
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
                    "findings": ";".join(truth.findings) or UNREMARKABLE,
                    "boxes": _json(list(truth.boxes)),
                    "canal_box": _json(plane.canal_box),
                }
            )
    return rows, areas
