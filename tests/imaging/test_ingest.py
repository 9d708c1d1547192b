"""Ingest: real DICOM in, one broken file reported, the good ones kept."""

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from annotator.imaging import storage
from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Dog, Instance, Series

BUNDLED = [
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
]

pytestmark = pytest.mark.django_db


def bundled(name: str) -> Path:
    return Path(get_testdata_file(name, download=False))


def ingest_json(*paths: Path) -> dict:
    out = io.StringIO()
    call_command("ingest", *[str(p) for p in paths], "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def bundled_batch(tmp_path: Path) -> Path:
    """pydicom's MR slice in six encodings, each made a distinct instance, plus two bad files."""
    batch = tmp_path / "batch"
    batch.mkdir()
    for i, name in enumerate(BUNDLED):
        ds = dcmread(bundled(name))
        ds.SOPInstanceUID = generate_uid(entropy_srcs=["bundled", name])
        ds.InstanceNumber = i + 1
        ds.save_as(batch / name)
    shutil.copy(bundled("MR_truncated.dcm"), batch / "MR_truncated.dcm")
    (batch / "notes.txt").write_text("not an image")
    return batch


def test_broken_files_are_reported_and_the_good_ones_stored(bundled_batch: Path):
    report = ingest_json(bundled_batch)

    assert report["files"] == 8
    assert report["ingested"] == 6
    assert report["skipped_existing"] == 0
    failed = {Path(e["path"]).name: e["error"] for e in report["errors"]}
    assert set(failed) == {"MR_truncated.dcm", "notes.txt"}
    assert "not a DICOM file" in failed["notes.txt"]
    assert "cannot be decoded" in failed["MR_truncated.dcm"]
    assert report["series"] == [
        {
            "series_instance_uid": dcmread(bundled("MR_small.dcm")).SeriesInstanceUID,
            "plane": "transverse",
            "sequence": "T2W",
            "slices": 6,
        }
    ]
    # Every stored file is readable, de-identified, and shows the original's pixels.
    original = dcmread(bundled("MR_small.dcm")).pixel_array
    for instance in Instance.objects.all():
        with storage.open_file(instance.file_key) as fh:
            stored = dcmread(fh)
        assert stored.SOPInstanceUID == instance.sop_instance_uid
        assert stored.PatientIdentityRemoved == "YES"
        assert np.array_equal(stored.pixel_array, original)


def test_ingesting_again_skips_what_is_already_there(bundled_batch: Path):
    ingest_json(bundled_batch)
    again = ingest_json(bundled_batch)
    assert again["ingested"] == 0
    assert again["skipped_existing"] == 6
    assert Instance.objects.count() == 6


def test_the_same_instance_in_another_encoding_is_not_stored_twice():
    report = ingest_json(bundled("MR_small.dcm"), bundled("MR_small_RLE.dcm"))
    assert (report["ingested"], report["skipped_existing"]) == (1, 1)


def test_nothing_ingestable_exits_nonzero(tmp_path: Path):
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 300)
    with pytest.raises(CommandError) as failure:
        call_command("ingest", str(junk), str(tmp_path / "missing"), "--json")
    assert failure.value.returncode == 1


def test_synthetic_cohort_lands_with_plane_weighting_and_frozen_splits(tiny_cohort: Path):
    manifest = list(csv.DictReader((tiny_cohort / "manifest.csv").open()))
    report = ingest_json(tiny_cohort)

    # The manifest beside the images is not DICOM: reported, and nothing else is lost.
    assert [Path(e["path"]).name for e in report["errors"]] == ["manifest.csv"]
    assert report["ingested"] == len(manifest)
    expected = {(r["series_instance_uid"], r["plane"], r["sequence"]) for r in manifest}
    got = {(s["series_instance_uid"], s["plane"], s["sequence"]) for s in report["series"]}
    assert got == expected
    assert Dog.objects.count() == 6
    assert Series.objects.count() == 24
    assert set(Dog.objects.values_list("split", flat=True)) == {"train", "val", "test"}
    # No owner names are kept anywhere: not on the dogs, not in the stored files.
    owners: set[str] = set()
    for row in manifest:
        original = dcmread(tiny_cohort / row["path"], stop_before_pixels=True)
        owners.add(original.PatientName.family_name)
        owners.update(str(original.get("ResponsiblePerson", "")).split("^"))
    owners.discard("")
    assert owners
    for dog in Dog.objects.all():
        assert not any(owner in str(vars(dog)) for owner in owners)
    for instance in Instance.objects.all():
        stored = storage.read(instance.file_key)
        assert not any(owner.encode() in stored for owner in owners)

    splits_before = dict(Dog.objects.values_list("patient_id", "split"))
    ingest_paths([tiny_cohort])
    assert dict(Dog.objects.values_list("patient_id", "split")) == splits_before
