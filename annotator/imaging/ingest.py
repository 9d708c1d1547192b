"""Ingest DICOM files and folders: validate, de-identify, store, record dog → study → series →
slice.

A file that cannot be ingested is reported with the reason and the rest of the batch goes
on. A stored file always has its row and a row always has its file: the file is written
first, and removed again if its rows cannot be written.
"""

import io
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from annotator.imaging import pixels, storage
from annotator.imaging.deid import deidentify
from annotator.imaging.headers import derive_plane, derive_sequence, slice_normal
from annotator.imaging.models import Dog, Instance, Series, Study
from annotator.imaging.splits import next_split

log = logging.getLogger(__name__)

REQUIRED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
# PS3.5 9.1: at most 64 characters, digits in dot-separated components.
UID_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)*")


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
        counts = dict(
            Instance.objects.filter(series__in=series)
            .values("series__series_instance_uid")
            .annotate(n=Count("id"))
            .values_list("series__series_instance_uid", "n")
        )
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
    """Every file under the given files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    yield Path(root) / name
        elif path.exists() or path.is_symlink():
            yield path
        else:
            report.files += 1
            report.errors.append({"path": str(path), "error": "no such file or folder"})


def ingest_paths(paths: Iterable[Path]) -> IngestReport:
    from annotator.worklist.items import add_new_instances

    report = IngestReport()
    seen_series: dict[str, None] = {}
    for path in iter_files(paths, report):
        report.files += 1
        try:
            series_uid, created = ingest_file(path)
        except IngestFileError as exc:
            report.errors.append({"path": str(path), "error": str(exc)})
            continue
        except Exception as exc:  # one bad file must never stop the batch
            log.exception("ingest: unexpected error on one file")
            report.errors.append(
                {"path": str(path), "error": f"could not be stored ({type(exc).__name__})"}
            )
            continue
        seen_series.setdefault(series_uid)
        if created:
            report.ingested += 1
        else:
            report.skipped_existing += 1
    report.series_uids = list(seen_series)
    # Also after a batch that added nothing: it heals slices an interrupted ingest stored
    # without their queue item (one cheap query when there are none).
    add_new_instances()
    log.info(
        "ingest: %d files, %d ingested, %d already present, %d errors",
        report.files,
        report.ingested,
        report.skipped_existing,
        len(report.errors),
    )
    return report


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file; a pipe, socket or device would block or never end."""
    try:
        info = path.stat()
    except OSError as exc:
        raise IngestFileError(f"cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):  # checked before opening: opening a device can act
        raise IngestFileError("not a regular file")
    largest = settings.MAX_DECODED_BYTES + pixels.HEADER_ALLOWANCE
    try:
        # O_NONBLOCK: should the path be swapped for a pipe after the check, never hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())  # what was opened is what counts
            if not stat.S_ISREG(info.st_mode):
                raise IngestFileError("not a regular file")
            if info.st_size > largest:
                raise IngestFileError(f"file too large ({info.st_size / 2**20:.0f} MiB)")
            # The size fstat gave, plus a byte to notice a file still being written; never
            # a buffer of the largest size allowed for every small file.
            data = fh.read(info.st_size + 1)
    except OSError as exc:
        raise IngestFileError(f"cannot be read: {exc.strerror}") from None
    if len(data) != info.st_size:
        raise IngestFileError("the file changed while it was being read")
    return data


def parse(data: bytes) -> Dataset:
    try:
        ds = pixels.parse(data)
    except pixels.PixelError as exc:
        raise IngestFileError(str(exc)) from None
    except InvalidDicomError:
        raise IngestFileError("not a DICOM file") from None
    except Exception as exc:  # pydicom raises many kinds on damaged files
        raise IngestFileError(f"cannot be read as DICOM: {exc}") from None
    for keyword in REQUIRED_UIDS:
        check_uid(ds, keyword)
    return ds


def check_uid(ds: Dataset, keyword: str) -> str:
    value = str(ds.get(keyword, "") or "").strip()
    if not value:
        raise IngestFileError(f"missing {keyword}")
    if len(value) > 64 or not UID_PATTERN.fullmatch(value):
        shown = value[:70].encode("ascii", "backslashreplace").decode()
        raise IngestFileError(
            f"invalid {keyword} {shown!r} ({len(value)} characters): "
            "a UID is at most 64 digits and dots"
        )
    return value


def ingest_file(path: Path) -> tuple[str, bool]:
    """Store one file. Returns (series uid, True if new, False if already present)."""
    ds = parse(read_regular_file(path))
    sop_uid, series_uid = str(ds.SOPInstanceUID).strip(), str(ds.SeriesInstanceUID).strip()
    if Instance.objects.filter(sop_instance_uid=sop_uid).exists():
        return series_uid, False
    try:
        pixels.decode(ds)  # a slice we store can be shown and learned from
    except pixels.PixelError as exc:
        raise IngestFileError(str(exc)) from None
    deid = deidentify(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    try:
        key, digest = storage.put(data)
    except BaseException:
        # A write that failed half-way (disk full) must not stay under the content key:
        # the next ingest of this file would find the key taken and trust the torn file.
        _forget_unreferenced(storage.key_for(data, ".dcm")[0])
        raise
    try:
        with transaction.atomic():
            series = get_or_create_series(ds, deid.dog_name)
            Instance.objects.create(
                series=series,
                sop_instance_uid=sop_uid,
                instance_number=_int(ds.get("InstanceNumber")),
                position_mm=position_along_normal(ds),
                rows=int(ds.Rows),
                columns=int(ds.Columns),
                file_key=key,
                file_sha256=digest,
            )
    except IntegrityError:
        _forget_unreferenced(key)
        if Instance.objects.filter(sop_instance_uid=sop_uid).exists():
            # Another ingest stored the same instance between our check and our insert.
            return series_uid, False
        raise
    except BaseException:
        _forget_unreferenced(key)
        raise
    return series_uid, True


def _forget_unreferenced(key: str) -> None:
    """Remove a file no row points at, so the store holds no orphans."""
    try:
        if not Instance.objects.filter(file_key=key).exists():
            storage.delete(key)
    except Exception:
        # The database is unreachable: a file that may be referenced is kept (an orphan can
        # be swept later; a row without its file cannot be served). The original error wins.
        log.exception("ingest: could not tell whether stored file %s is referenced", key)


def get_or_create_series(ds: Dataset, dog_name: str) -> Series:
    series_uid = str(ds.SeriesInstanceUID).strip()
    series = Series.objects.filter(series_instance_uid=series_uid).first()
    if series is not None:
        return series
    study = get_or_create_study(ds, dog_name)
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


def get_or_create_study(ds: Dataset, dog_name: str) -> Study:
    study_uid = str(ds.StudyInstanceUID).strip()
    study = Study.objects.filter(study_instance_uid=study_uid).first()
    if study is not None:
        return study
    study, _ = Study.objects.get_or_create(
        study_instance_uid=study_uid,
        defaults={
            "dog": get_or_create_dog(ds, dog_name),
            "study_date": _date(ds.get("StudyDate")),
            "description": str(ds.get("StudyDescription", ""))[:128],
        },
    )
    return study


def get_or_create_dog(ds: Dataset, dog_name: str) -> Dog:
    patient_id = str(ds.get("PatientID", "") or "").strip()[:64]
    patient_id = patient_id or f"unknown-{str(ds.StudyInstanceUID).strip()}"[:64]
    dog = Dog.objects.filter(patient_id=patient_id).first()
    if dog is not None:
        return dog
    dog, _ = Dog.objects.get_or_create(
        patient_id=patient_id,
        defaults={
            "name": dog_name[:64],
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


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _float(value: object) -> float | None:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return result if result == result and abs(result) != float("inf") else None


def _date(value: object) -> date | None:
    try:
        return datetime.strptime(str(value), "%Y%m%d").date()
    except (TypeError, ValueError):
        return None
