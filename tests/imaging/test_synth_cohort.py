"""The synthetic cohort: real DICOM that reads back, honest geometry, honest ground truth.

One six-dog cohort (every finding present) is written once per module and read by most
tests; the determinism test writes it a second time.
"""

import csv
import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from annotator.synth.anatomy import Tissue
from annotator.synth.cohort import MANIFEST_COLUMNS, plan_cohort, write_cohort
from annotator.synth.findings import FINDINGS
from annotator.synth.geometry import SliceGeometry
from annotator.synth.phantom import (
    MIN_LESION_PIXELS,
    gaussian_blur,
    render,
    signal_change,
    texture,
    textured_signal,
    tissue_labels,
)
from annotator.synth.preview import GAP, TILE, write_preview

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


def test_the_pool_does_not_change_a_byte(tmp_path: Path):
    """Two forked workers (in a fresh interpreter, where nothing else runs threads) write
    the same bytes as one process does."""
    pooled = tmp_path / "pooled"
    script = (
        "import sys; from pathlib import Path; from annotator.synth.cohort import write_cohort; "
        f"write_cohort(Path(sys.argv[1]), dogs=2, seed={SEED}, workers=2)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(pooled)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    write_cohort(tmp_path / "serial", dogs=2, seed=SEED, workers=1)
    serial, forked = files_under(tmp_path / "serial"), files_under(pooled)
    assert sorted(serial) == sorted(forked)
    assert len([name for name in serial if name.endswith(".dcm")]) > 40
    assert [name for name in serial if serial[name] != forked[name]] == []


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


def geometry_of(ds: pydicom.Dataset) -> SliceGeometry:
    """The plane from the file's own headers, so wrong tags would miss the lesion."""
    return SliceGeometry.from_header(
        ds.ImagePositionPatient, ds.ImageOrientationPatient, ds.PixelSpacing[0], ds.Rows, ds.Columns
    )


def lesion_free(study, row: dict[str, str], geometry: SliceGeometry) -> np.ndarray:
    """What the scanner draws at this plane without any lesion, before bias and noise."""
    series = next(s for s in study.series if s.uid == row["series_instance_uid"])
    normal = render(study.spine, (), geometry)
    signal = textured_signal(normal.labels, row["sequence"], texture(study.spine, geometry))
    return gaussian_blur(signal, series.acquisition.blur_px)


def scanner_gain(pixels: np.ndarray, expected: np.ndarray, near: np.ndarray) -> float:
    """Stored value per unit signal around a region (it absorbs the smooth bias field)."""
    rows, cols = np.nonzero(near)
    window = np.zeros_like(near)
    window[max(rows.min() - 12, 0) : rows.max() + 13, max(cols.min() - 12, 0) : cols.max() + 13] = 1
    reference = window & ~near & (expected > 0.15)
    return float(np.median(pixels[reference] / expected[reference]))


def test_a_slice_is_abnormal_exactly_where_it_shows_the_lesion_as_domain_md_says(
    manifest: list[dict[str, str]], headers: dict[str, pydicom.Dataset]
):
    studies = {study.patient.patient_id: study for study in plan_cohort(DOGS, SEED)}
    checked, hidden = set(), 0
    for row in manifest:
        ds, study = headers[row["path"]], studies[row["patient_id"]]
        findings = row["findings"].split(";")
        if not study.lesions:
            assert findings == ["unremarkable"]
            continue
        assert set(findings) <= set(study.findings) | {"unremarkable"}, row["path"]
        geometry = geometry_of(ds)
        full, normal = render(study.spine, study.lesions, geometry), None
        series = next(s for s in study.series if s.uid == row["series_instance_uid"])
        change = signal_change(
            full.labels,
            tissue_labels(study.spine, (), geometry),
            row["sequence"],
            series.acquisition.blur_px,
        )
        pixels = ds.pixel_array.astype(float)
        for finding in study.findings:
            owners = [n for n, x in enumerate(study.lesions, start=1) if x.finding == finding]
            mask = np.isin(full.owner, owners)
            # Part of a lesion can match what it replaces (a bulge over the annulus).
            visible = mask & (np.abs(change) >= 0.1)
            if finding not in findings and visible.sum() < MIN_LESION_PIXELS:
                continue  # cut as a sliver at most: left out of the image
            normal = lesion_free(study, row, geometry) if normal is None else normal
            gain = scanner_gain(pixels, normal, mask)
            shown = np.abs(pixels[visible] / gain - normal[visible]).mean()
            if finding not in findings:
                assert shown < 0.08, row["path"]  # a lesion too faint to label is not drawn
                hidden += 1
                continue
            assert visible.sum() >= MIN_LESION_PIXELS, row["path"]
            assert shown > 0.1, row["path"]
            sign = DIRECTION.get((finding, row["sequence"]))
            # IVDE's cord oedema is T2-bright, unlike the extruded material it comes with.
            material = mask & (full.labels != Tissue.OEDEMA)
            if sign is not None and material.sum() >= MIN_LESION_PIXELS:
                shift = (pixels[material] / gain - normal[material]).mean()
                assert sign * shift > 0.15, row["path"]
                checked.add((finding, row["sequence"]))
    assert checked == set(DIRECTION)


def test_the_manifest_findings_boxes_and_canal_box_parse_and_agree(
    manifest: list[dict[str, str]], headers: dict[str, pydicom.Dataset]
):
    lesion_findings = [f for f in FINDINGS if f != "unremarkable"]
    for row in manifest:
        findings = row["findings"].split(";")
        if findings == ["unremarkable"]:
            assert row["finding"] == "unremarkable" and json.loads(row["boxes"]) == []
        else:
            assert "unremarkable" not in findings
            assert findings == [f for f in lesion_findings if f in findings]  # vocabulary order
            assert row["finding"] == findings[0]  # the primary finding
        boxes = json.loads(row["boxes"])
        assert {box["finding"] for box in boxes} == {f for f in findings if f in lesion_findings}
        ds = headers[row["path"]]
        canal = json.loads(row["canal_box"])
        for box in [*boxes, *([canal] if canal else [])]:
            assert box["width"] > 0 and box["height"] > 0
            assert box["x"] >= 0 and box["x"] + box["width"] <= ds.Columns
            assert box["y"] >= 0 and box["y"] + box["height"] <= ds.Rows
    transverse = [json.loads(r["canal_box"]) for r in manifest if r["plane"] == "transverse"]
    assert all(box is not None for box in transverse)  # every transverse slice cuts the canal
    sagittal = [json.loads(r["canal_box"]) for r in manifest if r["plane"] == "sagittal"]
    assert None in sagittal and any(box is not None for box in sagittal)


def test_every_lesion_box_holds_visible_lesion_signal(
    manifest: list[dict[str, str]], headers: dict[str, pydicom.Dataset]
):
    """In the written image, each box's mean differs from the lesion-free drawing of it."""
    studies = {study.patient.patient_id: study for study in plan_cohort(DOGS, SEED)}
    contrasts = []
    for row in manifest:
        boxes = json.loads(row["boxes"])
        if not boxes:
            continue
        ds, study = headers[row["path"]], studies[row["patient_id"]]
        normal = lesion_free(study, row, geometry_of(ds))
        pixels = ds.pixel_array.astype(float)
        for box in boxes:
            inside = np.zeros(pixels.shape, dtype=bool)
            inside[box["y"] : box["y"] + box["height"], box["x"] : box["x"] + box["width"]] = True
            gain = scanner_gain(pixels, normal, inside)
            contrast = abs((pixels[inside] / gain - normal[inside]).mean())
            contrasts.append(contrast)
            assert contrast > 0.05, (row["path"], box)
    assert len(contrasts) > 20


def test_the_preview_is_a_png_of_four_series_rows_per_dog(cohort: Path, tmp_path: Path):
    path = write_preview(cohort, tmp_path / "sheet.png", dogs=2, per_row=3)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, depth, colour) == (3 * (TILE + GAP), 8, 2)
    assert height == 2 * (4 * (TILE + GAP) + 3 * GAP)
    assert data[-8:-4] == b"IEND"
    raw = zlib.decompress(data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8])
    assert len(raw) == height * (1 + 3 * width)


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
        "synth_cohort",
        *("--dogs", "1", "--out", str(tmp_path / "c"), "--seed", "2"),
        *("--preview", str(tmp_path / "sheet.png")),
        stdout=out,
    )
    line = out.getvalue().strip()
    assert "\n" not in line
    assert line.startswith("Wrote 1 dogs, 4 series, ")
    assert "median lesion area (mm²): " in line
    assert (tmp_path / "c" / "manifest.csv").exists()
    assert (tmp_path / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(CommandError, match="not empty"):
        call_command("synth_cohort", "--dogs", "1", "--out", str(tmp_path / "c"), stdout=out)
