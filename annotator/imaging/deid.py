"""Strip the people out of a veterinary MRI file before it enters the archive.

The patient is a dog, so DICOM's basic confidentiality profile (PS3.15 Annex E) is applied
to the *people* around it only: the owner, the vets and the operators. What identifies the
dog and the scan (UIDs, PatientID, dates, breed, geometry, pixels) is what the archive is
for, so it is kept untouched; re-ingest and de-duplication rely on the UIDs and PatientID.

PatientName of an animal is "Owner^Dog": the owner's family name goes, the dog's name stays.

Plain pydicom on purpose (no Django) so it can run in scripts and workers alike.
"""

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

# LO allows 64 characters; the longer story lives in KEPT_NOTES and the README.
DEID_METHOD = "Dachs basic profile: people removed; UIDs, PatientID, dates kept"

# Removed wherever they occur, sequences included. Every PN element other than the top-level
# PatientName is removed as well, by its VR, so person names need not all be listed here.
REMOVED_KEYWORDS: tuple[str, ...] = (
    # The owner, reached through the patient module.
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientTelecomInformation",
    "CountryOfResidence",
    "RegionOfResidence",
    "MilitaryRank",
    "BranchOfService",
    "Occupation",
    "PatientReligiousPreference",
    "PatientInsurancePlanCodeSequence",
    "MedicalRecordLocator",
    # Other ids could be the owner's (a human hospital's MRN, an insurance number).
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    # Free text, where receptionists type the owner's name and phone.
    "PatientComments",
    "AdditionalPatientHistory",
    "ImageComments",
    "RequestedProcedureComments",
    "ImagingServiceRequestComments",
    # Vets, operators and other persons: contact data and coded identities.
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence",
    "ConsultingPhysicianIdentificationSequence",
    "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianIdentificationSequence",
    "PhysiciansReadingStudyIdentificationSequence",
    "OperatorIdentificationSequence",
    "RequestingPhysicianIdentificationSequence",
    "PersonIdentificationCodeSequence",
    "PersonAddress",
    "PersonTelephoneNumbers",
    "PersonTelecomInformation",
    # A small clinic's address is often the vet's home address.
    "InstitutionAddress",
)

KEPT_NOTES: tuple[str, ...] = (
    "PatientName: only the dog's name (the part after the first '^'); the owner's goes.",
    "PatientID: the clinic's id of the dog; ingest keys dogs on it.",
    "All UIDs (Study, Series, SOP Instance, Frame of Reference, ...): re-ingest and"
    " de-duplication depend on them, and they name scans, not people.",
    "Dates and times: a dog's scan dates and birth date are not person data; the"
    " longitudinal history is needed for follow-up studies.",
    "PatientBreedDescription, PatientSpeciesDescription, PatientSex, PatientAge,"
    " PatientWeight: the dog's data, used for labelling and cohort statistics.",
    "ResponsibleOrganization, InstitutionName, StationName: the clinic and scanner, not a person.",
    "Acquisition parameters, geometry and pixel data: untouched, byte for byte.",
)

_PATIENT_NAME = Tag("PatientName")
_PN = "PN"
_SQ = "SQ"
_REMOVED_TAGS = frozenset(
    Tag(tag) for tag in (tag_for_keyword(k) for k in REMOVED_KEYWORDS) if tag is not None
)
# Private data in the file meta header is as opaque as private elements in the body.
_FILE_META_PRIVATE = (Tag("PrivateInformationCreatorUID"), Tag("PrivateInformation"))


@dataclass
class DeidResult:
    """What deidentify did. `removed` names elements (never values), for logging counts."""

    dog_name: str
    removed: list[str] = field(default_factory=list)


def deidentify(ds: Dataset) -> DeidResult:
    """Remove person data from `ds` in place; keep what identifies the dog and the scan."""
    dog_name = _dog_name(ds)
    removed: list[str] = []
    _strip(ds, removed, top_level=True)
    dog_name = _set_patient_name(ds, dog_name)
    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None:
        for tag in _FILE_META_PRIVATE:
            if tag in file_meta:
                del file_meta[tag]
                removed.append(_name(tag))
    _mark(ds)
    return DeidResult(dog_name=dog_name, removed=removed)


def _methods(ds: Dataset) -> list[str]:
    try:
        existing = ds.get("DeidentificationMethod")
        values = list(existing) if isinstance(existing, MultiValue) else [existing]
        return [str(v) for v in values if v is not None and str(v).strip()]
    except Exception:
        return []  # an unreadable record of earlier methods is replaced by ours


def _already_ours(ds: Dataset) -> bool:
    # Run twice, PatientName is already just "Bella"; the no-'^' rule would wipe it.
    try:
        identity_removed = ds.get("PatientIdentityRemoved") == "YES"
    except Exception:
        return False
    return identity_removed and DEID_METHOD in _methods(ds)


def _dog_name(ds: Dataset) -> str:
    if _PATIENT_NAME not in ds:
        return ""
    try:
        value = ds[_PATIENT_NAME].value
    except Exception:
        # An undecodable name is treated like a missing one rather than failing the file.
        return ""
    if isinstance(value, MultiValue | list | tuple):
        # PatientName is VM 1; an extra value is most likely an alias of the same owner.
        value = value[0] if len(value) else ""
    if value is None or isinstance(value, bytes | bytearray):
        return ""
    # Only the alphabetic group: ideographic and phonetic groups repeat the owner's name.
    alphabetic = str(value).split("=", 1)[0]
    parts = alphabetic.split("^")
    if len(parts) < 2:
        if _already_ours(ds):
            return alphabetic.strip()
        # A bare name may be a person's ("Miller"); keeping nothing is the safe reading.
        return ""
    # Further components (middle name, prefix, suffix) belong to no one we want to keep.
    return parts[1].strip()


def _set_patient_name(ds: Dataset, dog_name: str) -> str:
    """Replace PatientName by the dog's name; return the name actually stored."""
    if _PATIENT_NAME in ds:
        del ds[_PATIENT_NAME]
    try:
        ds.add_new(_PATIENT_NAME, _PN, dog_name)
        return dog_name
    except Exception:
        # Only a strict pydicom validation mode could refuse the name; an empty one never is.
        ds.add_new(_PATIENT_NAME, _PN, "")
        return ""


def _vrs(ds: Dataset, tag: BaseTag) -> set[str]:
    # Look at both the VR in the file and the dictionary's: implicit-VR files carry none, and
    # a mis-encoded file may claim a person name is LO or UN.
    vrs: set[str] = set()
    raw_vr = getattr(ds.get_item(tag), "VR", None)
    if raw_vr:
        vrs.add(str(raw_vr))
    with suppress(KeyError):  # private and unknown tags are not in the dictionary
        vrs.add(dictionary_VR(tag))
    return vrs


def _strip(ds: Dataset, removed: list[str], *, top_level: bool) -> None:
    # Decisions use tags and VRs only, so a weird value is dropped without ever being decoded.
    for tag in list(ds.keys()):
        tag = Tag(tag)
        if tag.group == 0x0002 or (top_level and tag == _PATIENT_NAME):
            continue  # file meta is handled apart; PatientName is rewritten afterwards
        vrs = _vrs(ds, tag)
        if (
            tag.is_private
            or tag in _REMOVED_TAGS
            or _PN in vrs
            # Group lengths (retired) would be wrong once elements are gone.
            or tag.element == 0x0000
        ):
            del ds[tag]
            removed.append(_name(tag))
        elif _SQ in vrs:
            for item in _items(ds, tag):
                _strip(item, removed, top_level=False)


def _items(ds: Dataset, tag: BaseTag) -> Iterable[Dataset]:
    try:
        value = ds[tag].value
    except Exception:
        return ()
    if isinstance(value, Sequence):
        return [item for item in value if isinstance(item, Dataset)]
    return ()


def _mark(ds: Dataset) -> None:
    methods = _methods(ds)
    ds.PatientIdentityRemoved = "YES"
    # A method already applied upstream stays on record; ours is added once.
    if DEID_METHOD not in methods:
        methods.append(DEID_METHOD)
    ds.DeidentificationMethod = methods if len(methods) > 1 else methods[0]
    if "LongitudinalTemporalInformationModified" not in ds:
        # PS3.15 E.3.6: receivers must be able to tell that the dates are the real ones.
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"


def _name(tag: BaseTag) -> str:
    return keyword_for_tag(tag) or str(tag)
