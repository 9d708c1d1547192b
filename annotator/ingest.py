"""Ingest DICOM files and folders: validate, store the file, record dog → study → series → slice.

A file that cannot be read is reported and skipped; the rest of the batch goes on.
"""

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pydicom
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from annotator import queue
from annotator.dicom_headers import derive_plane, derive_sequence, slice_normal
from annotator.models import Dog, Series, Slice, Study
from annotator.splits import next_split

log = logging.getLogger(__name__)

REQUIRED_UIDS = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID")


class IngestFileError(Exception):
    """One file could not be ingested; the message says why in plain words."""


@dataclass
class IngestReport:
    files: int = 0
    ingested: int = 0
    skipped_existing: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    series_uids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        series = Series.objects.filter(series_instance_uid__in=self.series_uids)
        by_uid = {s.series_instance_uid: s for s in series}
        counts = {
            row["series__series_instance_uid"]: row["n"]
            for row in Slice.objects.filter(series__in=series)
            .values("series__series_instance_uid")
            .annotate(n=Count("id"))
        }
        return {
            "files": self.files,
            "ingested": self.ingested,
            "skipped_existing": self.skipped_existing,
            "errors": self.errors,
            "series": [
                {
                    "series_instance_uid": uid,
                    "plane": by_uid[uid].plane,
                    "sequence": by_uid[uid].sequence,
                    "slices": counts.get(uid, 0),
                }
                for uid in self.series_uids
                if uid in by_uid
            ],
        }


def iter_files(paths: Iterable[Path], report: IngestReport) -> Iterator[Path]:
    """Every regular file under the given files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    yield Path(root) / name
        elif path.is_file():
            yield path
        else:
            report.files += 1
            report.errors.append({"path": str(path), "error": "no such file or folder"})


def ingest_paths(paths: Iterable[Path]) -> IngestReport:
    report = IngestReport()
    seen_series: dict[str, None] = {}
    for path in iter_files(paths, report):
        report.files += 1
        try:
            series_uid, created = ingest_file(path)
        except IngestFileError as exc:
            report.errors.append({"path": str(path), "error": str(exc)})
            continue
        seen_series.setdefault(series_uid)
        if created:
            report.ingested += 1
        else:
            report.skipped_existing += 1
    report.series_uids = list(seen_series)
    if report.ingested:
        queue.reshuffle_base_order()
    log.info(
        "ingest: %d files, %d ingested, %d already present, %d errors",
        report.files,
        report.ingested,
        report.skipped_existing,
        len(report.errors),
    )
    return report


def read_header(path: Path) -> Dataset:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        raise IngestFileError("not a DICOM file") from None
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise IngestFileError(f"cannot be read as DICOM: {exc}") from None
    missing = [uid for uid in REQUIRED_UIDS if not str(ds.get(uid, "")).strip()]
    if missing:
        raise IngestFileError(f"missing {', '.join(missing)}")
    return ds


def check_pixels(data: bytes) -> Dataset:
    """Parse the whole file and decode its image, so a slice we store can be shown."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        if "PixelData" not in ds:
            raise IngestFileError("no image in this DICOM file")
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames > 1:
            raise IngestFileError(f"multi-frame image ({frames} frames) is not supported yet")
        pixels = ds.pixel_array
    except IngestFileError:
        raise
    except Exception as exc:
        raise IngestFileError(f"image data cannot be decoded: {exc}") from None
    if pixels.ndim != 2:
        raise IngestFileError(f"expected a 2-D greyscale image, got shape {pixels.shape}")
    return ds


def ingest_file(path: Path) -> tuple[str, bool]:
    """Store one file. Returns (series uid, True if new, False if already present)."""
    header = read_header(path)
    sop_uid = str(header.SOPInstanceUID)
    series_uid = str(header.SeriesInstanceUID)
    if Slice.objects.filter(sop_instance_uid=sop_uid).exists():
        return series_uid, False
    data = path.read_bytes()  # once: decoded, hashed and stored from the same bytes
    ds = check_pixels(data)
    relative, digest = store_file(data, ds)
    try:
        with transaction.atomic():
            series = get_or_create_series(ds)
            Slice.objects.create(
                series=series,
                sop_instance_uid=sop_uid,
                instance_number=_int(ds.get("InstanceNumber")),
                position_mm=position_along_normal(ds),
                rows=int(ds.Rows),
                columns=int(ds.Columns),
                file_path=relative,
                file_sha256=digest,
            )
    except IntegrityError:
        # Another ingest stored the same instance between our check and our insert.
        return series_uid, False
    return series_uid, True


def store_file(data: bytes, ds: Dataset) -> tuple[str, str]:
    """Write the original bytes into the DICOM directory; returns (relative path, sha256)."""
    relative = Path(_safe(ds.StudyInstanceUID)) / _safe(ds.SeriesInstanceUID)
    relative = relative / f"{_safe(ds.SOPInstanceUID)}.dcm"
    target = settings.DICOM_DIR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a reader never sees half a file.
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return str(relative), hashlib.sha256(data).hexdigest()


def get_or_create_series(ds: Dataset) -> Series:
    series_uid = str(ds.SeriesInstanceUID)
    series = Series.objects.filter(series_instance_uid=series_uid).first()
    if series is not None:
        return series
    study = get_or_create_study(ds)
    series, _ = Series.objects.get_or_create(
        series_instance_uid=series_uid,
        defaults={
            "study": study,
            "plane": derive_plane(ds),
            "sequence": derive_sequence(ds),
            "description": str(ds.get("SeriesDescription", ""))[:128],
            "series_number": _int(ds.get("SeriesNumber")),
        },
    )
    return series


def get_or_create_study(ds: Dataset) -> Study:
    study_uid = str(ds.StudyInstanceUID)
    study = Study.objects.filter(study_instance_uid=study_uid).first()
    if study is not None:
        return study
    study, _ = Study.objects.get_or_create(
        study_instance_uid=study_uid,
        defaults={
            "dog": get_or_create_dog(ds),
            "study_date": _date(ds.get("StudyDate")),
            "description": str(ds.get("StudyDescription", ""))[:128],
        },
    )
    return study


def get_or_create_dog(ds: Dataset) -> Dog:
    # The owner's name (PatientName, ResponsiblePerson) is deliberately not stored.
    patient_id = str(ds.get("PatientID", "")).strip() or f"unknown-{ds.StudyInstanceUID}"
    dog = Dog.objects.filter(patient_id=patient_id).first()
    if dog is not None:
        return dog
    dog, _ = Dog.objects.get_or_create(
        patient_id=patient_id[:64],
        defaults={
            "split": next_split(),
            "breed": str(ds.get("PatientBreedDescription", ""))[:128],
            "sex": str(ds.get("PatientSex", ""))[:16],
            "age": str(ds.get("PatientAge", ""))[:16],
            "weight_kg": _float(ds.get("PatientWeight")),
        },
    )
    return dog


def position_along_normal(ds: Dataset) -> float | None:
    """Slice position in mm along the plane normal; SliceLocation if geometry is missing."""
    normal = slice_normal(ds)
    ipp = ds.get("ImagePositionPatient")
    if normal is not None and ipp is not None and len(ipp) == 3:
        try:
            return float(sum(float(p) * n for p, n in zip(ipp, normal, strict=True)))
        except (TypeError, ValueError):
            pass
    return _float(ds.get("SliceLocation"))


def _safe(uid: object) -> str:
    text = str(uid).strip()
    return "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in text)[:64] or "unknown"


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _date(value: object) -> date | None:
    try:
        return datetime.strptime(str(value), "%Y%m%d").date()
    except (TypeError, ValueError):
        return None
