"""One slice as an MR Image Storage file: explicit VR little endian, 16-bit MONOCHROME2."""

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from annotator.synth.geometry import SliceGeometry
from annotator.synth.plan import SeriesPlan, StudyPlan

GYROMAGNETIC_MHZ_PER_T = 42.577478  # hydrogen; ImagingFrequency follows the field
INSTITUTION = "Dachs Synthetic Veterinary Clinic"


def _ds(value: float, decimals: int = 4) -> str:
    """A DS string within its 16-character limit, without float noise like 1.0999999."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def series_header(study: StudyPlan, series: SeriesPlan) -> Dataset:
    """Every tag that is the same for all slices of `series`."""
    patient = study.patient
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.SOPClassUID = MRImageStorage
    for prefix in ("Study", "Series", "Acquisition", "Content"):
        setattr(ds, f"{prefix}Date", study.date)
    ds.StudyTime = study.time
    ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = series.time
    ds.AccessionNumber = f"A{study.seed % 10000:04d}{study.number:05d}"
    ds.Modality = "MR"
    ds.Manufacturer = "Dachs synthetic"
    ds.ManufacturerModelName = study.vendor.model
    ds.InstitutionName = INSTITUTION
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "MRI thoracolumbar spine"
    ds.SeriesDescription = series.description
    ds.ImageComments = "Synthetic phantom written by Dachs synth_cohort; not patient data"

    ds.PatientName = patient.dicom_name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = patient.sex
    ds.PatientAge = f"{patient.age_years:03d}Y"
    ds.PatientWeight = _ds(patient.weight_kg, 1)
    ds.PatientSpeciesDescription = "Canis lupus familiaris"
    ds.PatientBreedDescription = patient.breed.name
    ds.PatientSexNeutered = "ALTERED" if patient.neutered else "UNALTERED"
    ds.ResponsiblePerson = patient.owner_dicom_name
    ds.ResponsiblePersonRole = "OWNER"
    # Quadruped axes: +x the dog's left, +y dorsal, +z cranial (see geometry.py).
    ds.AnatomicalOrientationType = "QUADRUPED"
    ds.PatientPosition = "HFP"
    ds.BodyPartExamined = series.body_part

    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "SK" if series.echo_train > 1 else "NONE"  # SK: turbo/fast SE
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = _ds(series.repetition_ms, 1)
    ds.EchoTime = _ds(series.echo_ms, 1)
    ds.EchoTrainLength = series.echo_train
    ds.NumberOfAverages = "2"
    ds.EchoNumbers = "1"
    ds.FlipAngle = "90"
    ds.MagneticFieldStrength = _ds(study.field_tesla, 2)
    ds.ImagingFrequency = _ds(study.field_tesla * GYROMAGNETIC_MHZ_PER_T, 6)
    ds.ImagedNucleus = "1H"
    ds.SliceThickness = _ds(series.thickness_mm, 2)
    ds.SpacingBetweenSlices = _ds(series.step_mm, 2)
    ds.InPlanePhaseEncodingDirection = "ROW" if series.plane == "sagittal" else "COL"

    ds.StudyInstanceUID = study.study_uid
    ds.SeriesInstanceUID = series.uid
    ds.StudyID = f"{study.number}"
    ds.SeriesNumber = series.number
    ds.AcquisitionNumber = 1
    ds.FrameOfReferenceUID = study.frame_uid
    ds.PositionReferenceIndicator = ""

    geometry = series.slices[0]
    ds.ImageOrientationPatient = [_ds(v, 6) for v in geometry.orientation]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = geometry.rows, geometry.columns
    ds.PixelSpacing = [_ds(geometry.spacing_mm, 3)] * 2
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.BurnedInAnnotation = "NO"
    return ds


def slice_dataset(
    header: Dataset, instance: int, geometry: SliceGeometry, pixels: np.ndarray, sop_uid: str
) -> Dataset:
    """Slice `instance` (1-based): the series header plus its own position and pixels.

    The header's elements are shared, not copied (building them is most of the cost of a
    file); that is safe because every tag set here is absent from the header.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.update(header)
    ds.file_meta = meta
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = instance
    ds.PatientBreedCodeSequence = []  # type 2C for animals: present, may be empty
    ds.BreedRegistrationSequence = []
    ds.ImagePositionPatient = [_ds(v) for v in geometry.position]
    # Vendors differ on SliceLocation; here it is the plane's offset along its normal.
    ds.SliceLocation = _ds(float(np.dot(geometry.centre, geometry.normal)), 3)
    low, high = np.percentile(pixels, [1, 99.5])
    ds.WindowCenter = _ds((low + high) / 2, 0)
    ds.WindowWidth = _ds(max(high - low, 1.0), 0)
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    return ds


def write_slice(ds: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
