"""The synthetic cohort: real DICOM that reads back, honest geometry, honest ground truth.

One six-dog cohort (every finding present) is written once per module and read by most
tests; the determinism test writes it a second time.
"""

import csv
import io
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from annotator.synth.cohort import MANIFEST_COLUMNS, plan_cohort, write_cohort
from annotator.synth.findings import FINDINGS
from annotator.synth.geometry import SliceGeometry
from annotator.synth.phantom import clean_signal, lesion_mask, tissue_labels

SEED, DOGS = 5, 6


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, dogs=DOGS, seed=SEED)
    return out


@pytest.fixture(scope="module")
def manifest(cohort: Path) -> list[dict[str, str]]:
    with (cohort / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def headers(cohort: Path, manifest: list[dict[str, str]]) -> dict[str, pydicom.Dataset]:
    return {row["path"]: pydicom.dcmread(cohort / row["path"]) for row in manifest}


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(cohort: Path, tmp_path: Path):
    write_cohort(tmp_path / "again", dogs=DOGS, seed=SEED)
    write_cohort(tmp_path / "other", dogs=1, seed=SEED + 1)

    first, again = files_under(cohort), files_under(tmp_path / "again")
    assert sorted(first) == sorted(again)
    assert [name for name in first if first[name] != again[name]] == []

    other = files_under(tmp_path / "other")
    assert len(other) > 40
    assert set(other.values()).isdisjoint(first.values())


def test_manifest_lists_every_file_once_in_the_apps_vocabulary(
    cohort: Path, manifest: list[dict[str, str]]
):
    with (cohort / "manifest.csv").open() as handle:
        assert handle.readline().strip() == ",".join(MANIFEST_COLUMNS)
    on_disk = {p.relative_to(cohort).as_posix() for p in cohort.rglob("*.dcm")}
    assert sorted(row["path"] for row in manifest) == sorted(on_disk)
    assert len({row["sop_instance_uid"] for row in manifest}) == len(manifest)

    for row in manifest:
        assert re.fullmatch(rf"{row['patient_id']}/\d\d_[a-z0-9_]+/\d{{4}}\.dcm", row["path"])
        assert row["path"].endswith(f"/{int(row['instance_number']):04d}.dcm")
    assert {row["finding"] for row in manifest} == set(FINDINGS)
    per_dog = {}
    for row in manifest:
        per_dog.setdefault(row["patient_id"], set()).add((row["plane"], row["sequence"]))
    assert len(per_dog) == DOGS
    expected = {(p, s) for p in ("sagittal", "transverse") for s in ("T1W", "T2W")}
    assert all(kinds == expected for kinds in per_dog.values())


def test_every_file_is_an_mr_image_whose_headers_match_the_manifest(
    manifest: list[dict[str, str]], headers: dict[str, pydicom.Dataset]
):
    for row in manifest:
        ds = headers[row["path"]]
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID == MRImageStorage
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPInstanceUID == row["sop_instance_uid"]
        assert ds.SeriesInstanceUID == row["series_instance_uid"]
        assert ds.StudyInstanceUID == row["study_instance_uid"]
        assert ds.PatientID == row["patient_id"]
        assert ds.InstanceNumber == int(row["instance_number"])
        assert ds.Modality == "MR" and ds.ScanningSequence == "SE"
        assert ds.PhotometricInterpretation == "MONOCHROME2"
        assert (ds.BitsAllocated, ds.PixelRepresentation) == (16, 0)
        pixels = ds.pixel_array
        assert pixels.dtype == np.uint16 and pixels.shape == (ds.Rows, ds.Columns)
        assert pixels.std() > 0

        tr, te = float(ds.RepetitionTime), float(ds.EchoTime)
        if row["sequence"] == "T1W":
            assert 400 <= tr <= 700 and 8 <= te <= 20
        else:
            assert 2500 <= tr <= 4000 and 80 <= te <= 110
        assert 0.2 <= float(ds.MagneticFieldStrength) <= 1.5
        assert ds.BodyPartExamined in ("TSPINE", "LSPINE")
        assert ds.PatientSpeciesDescription == "Canis lupus familiaris"
        assert ds.PatientBreedDescription and ds.PatientSex in ("M", "F")
        assert re.fullmatch(r"0\d\dY", ds.PatientAge) and float(ds.PatientWeight) > 0
        assert ds.PatientName.family_name == ds.ResponsiblePerson.family_name
        assert ds.PatientName.given_name and ds.StudyDate and ds.StudyTime

        normal = np.cross(ds.ImageOrientationPatient[:3], ds.ImageOrientationPatient[3:])
        dominant = ("sagittal", "dorsal", "transverse")[int(np.argmax(np.abs(normal)))]
        assert dominant == row["plane"]


def test_slices_step_along_the_normal_by_the_spacing_between_slices(
    manifest: list[dict[str, str]], headers: dict[str, pydicom.Dataset]
):
    series: dict[str, list[pydicom.Dataset]] = {}
    for row in manifest:
        series.setdefault(row["series_instance_uid"], []).append(headers[row["path"]])
    angled = 0
    for slices in series.values():
        slices.sort(key=lambda ds: ds.InstanceNumber)
        iop = slices[0].ImageOrientationPatient
        assert all(ds.ImageOrientationPatient == iop for ds in slices)
        normal = np.cross(iop[:3], iop[3:])
        step = float(slices[0].SpacingBetweenSlices)
        assert float(slices[0].SliceThickness) <= step
        blocks = 1
        for before, after in zip(slices, slices[1:], strict=False):
            move = np.subtract(after.ImagePositionPatient, before.ImagePositionPatient)
            along = float(move @ normal)
            assert along == pytest.approx(
                float(after.SliceLocation - before.SliceLocation), abs=2e-3
            )
            if along == pytest.approx(step, abs=1e-3):
                assert np.allclose(move, step * normal, atol=1e-3)  # no in-plane drift
            else:
                assert along > step  # the next transverse block, further caudal
                blocks += 1
        plane = "sagittal" if abs(normal[0]) > 0.9 else "transverse"
        assert blocks == (1 if plane == "sagittal" else 3)
        angled += plane == "transverse" and abs(normal[2]) < 0.9999
    assert angled > 0, "some transverse series should be angled to the disc space"


# Where domain.md gives a direction: (finding, sequence) -> sign of the change.
DIRECTION = {
    ("syringomyelia", "T2W"): +1,
    ("syringomyelia", "T1W"): -1,
    ("fce_annpe", "T2W"): +1,
    ("ivde", "T2W"): -1,
    ("ivdp", "T2W"): -1,
}


def test_a_slice_is_abnormal_exactly_where_it_shows_the_lesion_as_domain_md_says(
    manifest: list[dict[str, str]], headers: dict[str, pydicom.Dataset]
):
    studies = {study.patient.patient_id: study for study in plan_cohort(DOGS, SEED)}
    checked = set()
    for row in manifest:
        ds, study = headers[row["path"]], studies[row["patient_id"]]
        if study.lesion is None:
            assert row["finding"] == "unremarkable"
            continue
        # The plane comes from the file's own headers, so wrong tags would miss the lesion.
        geometry = SliceGeometry.from_header(
            ds.ImagePositionPatient,
            ds.ImageOrientationPatient,
            ds.PixelSpacing[0],
            ds.Rows,
            ds.Columns,
        )
        labels = tissue_labels(study.spine, study.lesion, geometry)
        mask = lesion_mask(labels)
        normal = clean_signal(tissue_labels(study.spine, None, geometry), row["sequence"])
        # Part of a lesion can match what it replaces (a bulge over the annulus).
        visible = mask & (np.abs(clean_signal(labels, row["sequence"]) - normal) > 0.1)
        if row["finding"] == "unremarkable":
            assert visible.sum() < 6, row["path"]  # at most a sliver nobody could call
            continue

        assert row["finding"] == study.finding
        assert visible.sum() >= 6, row["path"]
        pixels = ds.pixel_array.astype(float)
        rows, cols = np.nonzero(mask)
        window = np.zeros_like(mask)
        window[max(rows.min() - 8, 0) : rows.max() + 9, max(cols.min() - 8, 0) : cols.max() + 9] = 1
        reference = window & ~mask & (normal > 0.15)
        gain = float(np.median(pixels[reference] / normal[reference]))  # scanner scaling
        assert np.abs(pixels[visible] / gain - normal[visible]).mean() > 0.1, row["path"]
        sign = DIRECTION.get((row["finding"], row["sequence"]))
        if sign is not None:
            assert sign * (pixels[mask] / gain - normal[mask]).mean() > 0.15, row["path"]
            checked.add((row["finding"], row["sequence"]))
    assert checked == set(DIRECTION)


def test_every_class_appears_once_there_are_six_dogs():
    for seed in range(5):
        assert {study.finding for study in plan_cohort(6, seed)} == set(FINDINGS)


def test_refuses_to_mix_a_new_cohort_into_a_folder_that_holds_files(tmp_path: Path):
    (tmp_path / "old.dcm").write_bytes(b"")
    with pytest.raises(FileExistsError):
        write_cohort(tmp_path, dogs=1, seed=0)
    assert [p.name for p in tmp_path.iterdir()] == ["old.dcm"]


def test_command_prints_a_one_line_summary(tmp_path: Path):
    settings = pytest.importorskip("django.conf").settings
    if not settings.configured:
        pytest.skip("Django settings are not configured (run without -p no:django)")
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command(
        "synth_cohort", "--dogs", "1", "--out", str(tmp_path / "c"), "--seed", "2", stdout=out
    )
    line = out.getvalue().strip()
    assert "\n" not in line
    assert line.startswith("Wrote 1 dogs, 4 series, ")
    assert (tmp_path / "c" / "manifest.csv").exists()
    with pytest.raises(CommandError, match="not empty"):
        call_command("synth_cohort", "--dogs", "1", "--out", str(tmp_path / "c"), stdout=out)
