"""De-identification: the owner and the vets leave the file; the dog and the scan stay.

Real files bundled with pydicom, loaded offline, with owner data written into a copy.
"""

import io
import re

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset, FileDataset
from pydicom.sequence import Sequence

from annotator.imaging.deid import DEID_METHOD, KEPT_NOTES, REMOVED_KEYWORDS, deidentify

# Every one of these is written into the file and must be gone from the saved bytes.
OWNER_STRINGS = {
    "owner family name": "Miller",
    "owner given name": "John",
    "address": "12 Elm Street, Springfield",
    "phone": "+49 30 5550199",
    "referring vet": "Schmidt",
    "operator": "Weber",
    "vet inside a sequence": "Keller",
    "private tag": "Account4711",
    "private creator": "ACME CLINIC",
    "other names": "Millerova",
    "comments": "call Mrs",
}
# Kept on purpose: the clinic and the dog.
DOG_DATA = {
    "PatientBreedDescription": "Dachshund",
    "PatientSpeciesDescription": "Canine",
    "PatientSex": "M",
    "PatientAge": "007Y",
    "PatientWeight": "9.5",
    "ResponsibleOrganization": "Tierklinik Nord",
    "ResponsiblePersonRole": "OWNER",
}
BUNDLED = ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm"]


def bundled(name: str = "MR_small.dcm") -> FileDataset:
    # download=False: without it pydicom goes to the network for files it lacks and hangs.
    return dcmread(get_testdata_file(name, download=False))


def with_owner(ds: FileDataset) -> FileDataset:
    """The bundled file as a veterinary clinic would send it."""
    ds.PatientName = "Miller^Bella"
    ds.ResponsiblePerson = "Miller^John"
    ds.PatientAddress = OWNER_STRINGS["address"]
    ds.PatientTelephoneNumbers = OWNER_STRINGS["phone"]
    ds.ReferringPhysicianName = "Schmidt^Anna^^Dr."
    ds.OperatorsName = ["Weber^Tom", "Miller^John"]
    ds.OtherPatientNames = "Millerova^Bella"
    ds.PatientComments = "Owner John Miller, call Mrs Miller after 5"
    for keyword, value in DOG_DATA.items():
        setattr(ds, keyword, value)

    request = Dataset()
    request.RequestedProcedureID = "RP-17"
    request.ScheduledPerformingPhysicianName = "Keller^Ursula"
    ds.RequestAttributesSequence = Sequence([request])

    block = ds.private_block(0x0009, OWNER_STRINGS["private creator"], create=True)
    block.add_new(0x01, "LO", "Miller Account4711")
    return ds


def save(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def uids(ds: Dataset) -> dict[str, str]:
    return {e.keyword: str(e.value) for e in ds if e.VR == "UI"}


def clinic_file(name: str = "MR_small.dcm") -> bytes:
    """Saved and not yet decoded, as ingest meets it: implicit-VR elements carry no VR yet."""
    return save(with_owner(bundled(name)))


@pytest.mark.parametrize("name", BUNDLED)
def test_owner_and_vets_leave_the_file_dog_and_scan_stay(name: str) -> None:
    sent = clinic_file(name)
    original = dcmread(io.BytesIO(sent))
    before_uids = uids(original)
    assert len(before_uids) >= 5 and "FrameOfReferenceUID" in before_uids
    ds = dcmread(io.BytesIO(sent))

    result = deidentify(ds)
    raw = save(ds)
    back = dcmread(io.BytesIO(raw))

    for what, text in OWNER_STRINGS.items():
        assert text.encode() not in raw, f"{what} still in the saved file"
    assert result.dog_name == "Bella"
    assert back.PatientName == "Bella"
    assert back.PatientID == original.PatientID
    assert back.StudyDate == original.StudyDate
    assert uids(back) == before_uids
    assert back.file_meta.MediaStorageSOPInstanceUID == before_uids["SOPInstanceUID"]
    assert back.file_meta.TransferSyntaxUID == bundled(name).file_meta.TransferSyntaxUID
    assert back.PixelData == original.PixelData == bundled(name).PixelData
    assert np.array_equal(back.pixel_array, original.pixel_array)
    assert back.PatientIdentityRemoved == "YES"
    assert back.DeidentificationMethod == DEID_METHOD
    for keyword, value in DOG_DATA.items():
        assert str(back.data_element(keyword).value) == value, keyword
    # The sequence stays; only the person inside it goes.
    (request,) = back.RequestAttributesSequence
    assert request.RequestedProcedureID == "RP-17"
    assert "ScheduledPerformingPhysicianName" not in request
    assert not [e for e in back.iterall() if e.tag.is_private]
    assert [e.keyword for e in back.iterall() if e.VR == "PN"] == ["PatientName"]
    for keyword in ("ResponsiblePerson", "PatientAddress", "PatientTelephoneNumbers"):
        assert keyword not in back
        assert keyword in result.removed


def test_removed_names_elements_never_values() -> None:
    result = deidentify(dcmread(io.BytesIO(clinic_file())))

    for entry in result.removed:
        assert re.fullmatch(r"[A-Za-z]+|\([0-9A-F]{4},[0-9A-F]{4}\)", entry), entry
    assert "ReferringPhysicianName" in result.removed
    assert "ScheduledPerformingPhysicianName" in result.removed
    assert "(0009,0010)" in result.removed and "(0009,1001)" in result.removed


@pytest.mark.parametrize(
    ("patient_name", "dog_name"),
    [
        ("Miller", ""),  # no "^": it could be a person's name, so nothing is kept
        ("Miller^", ""),
        ("^Bella", "Bella"),
        ("Miller^Bella^Marie^Mrs^III", "Bella"),
        ("Miller^Bella=Miller^Bella", "Bella"),
        ("", ""),
    ],
)
def test_only_the_dog_part_of_patient_name_is_kept(patient_name: str, dog_name: str) -> None:
    ds = bundled()
    ds.PatientName = patient_name

    result = deidentify(ds)
    raw = save(ds)

    assert result.dog_name == dog_name
    assert dcmread(io.BytesIO(raw)).PatientName == dog_name
    assert b"Miller" not in raw


def test_multi_valued_patient_name_keeps_the_first_dog() -> None:
    ds = bundled()
    ds.PatientName = ["Miller^Bella", "Smith^Rex"]

    result = deidentify(ds)
    raw = save(ds)

    assert result.dog_name == "Bella"
    assert dcmread(io.BytesIO(raw)).PatientName == "Bella"
    assert b"Miller" not in raw and b"Smith" not in raw and b"Rex" not in raw


def test_a_file_without_patient_name_is_deidentified() -> None:
    ds = with_owner(bundled())
    del ds.PatientName

    result = deidentify(ds)
    back = dcmread(io.BytesIO(save(ds)))

    assert result.dog_name == ""
    assert back.PatientName == ""
    assert "ResponsiblePerson" not in back
    assert back.PatientIdentityRemoved == "YES"


def test_umlauts_in_utf8_names() -> None:
    ds = bundled()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Bällchen"
    ds.ResponsiblePerson = "Müller^Jürgen"

    result = deidentify(ds)
    raw = save(ds)

    assert result.dog_name == "Bällchen"
    assert dcmread(io.BytesIO(raw)).PatientName == "Bällchen"
    assert "Müller".encode() not in raw and "Jürgen".encode() not in raw


def test_undecodable_person_names_are_removed_without_raising() -> None:
    ds = bundled()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Zzzz^Rex"
    ds.ResponsiblePerson = "Qqqq^Wwww"
    # Bytes that are not UTF-8, as a misconfigured modality writes them.
    raw = save(ds).replace(b"Zzzz", b"\xff\xfe\xfd\xfc").replace(b"Qqqq", b"\xfc\xfd\xfe\xff")
    odd = dcmread(io.BytesIO(raw))

    with pytest.warns(UserWarning):  # pydicom reports the bad bytes when it decodes them
        result = deidentify(odd)
    out = save(odd)

    assert result.dog_name == "Rex"
    assert b"\xff\xfe\xfd\xfc" not in out and b"\xfc\xfd\xfe\xff" not in out
    assert b"Wwww" not in out


def test_running_twice_keeps_the_dog_name_and_records_the_method_once() -> None:
    ds = with_owner(bundled())
    deidentify(ds)
    back = dcmread(io.BytesIO(save(ds)))

    again = deidentify(back)

    assert again.dog_name == "Bella"
    assert back.PatientName == "Bella"
    assert back.DeidentificationMethod == DEID_METHOD


def test_a_bare_name_that_another_tool_marked_removed_is_still_dropped() -> None:
    ds = bundled()
    ds.PatientName = "Miller"
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "Some other tool"

    result = deidentify(ds)

    assert result.dog_name == ""
    assert list(ds.DeidentificationMethod) == ["Some other tool", DEID_METHOD]


def test_private_information_in_the_file_meta_is_removed() -> None:
    ds = bundled()
    ds.file_meta.PrivateInformationCreatorUID = "1.2.3.4"
    ds.file_meta.PrivateInformation = b"Miller\x00"

    deidentify(ds)
    raw = save(ds)

    assert b"Miller" not in raw
    assert "PrivateInformation" not in dcmread(io.BytesIO(raw)).file_meta


def test_removed_keywords_are_real_and_spare_what_we_keep() -> None:
    for keyword in REMOVED_KEYWORDS:
        assert tag_for_keyword(keyword) is not None, keyword
    kept = {"PatientName", "PatientID", "StudyDate", "PatientBirthDate", *DOG_DATA}
    assert not kept & set(REMOVED_KEYWORDS)
    assert all(dictionary_VR(tag_for_keyword(k)) != "UI" for k in REMOVED_KEYWORDS)
    assert KEPT_NOTES and all(isinstance(line, str) and line for line in KEPT_NOTES)


def test_a_person_name_under_a_tag_newer_than_pydicom_is_removed_by_its_vr() -> None:
    ds = bundled()
    ds.add_new(0x00109990, "PN", "Miller^John")  # public, but not in pydicom's dictionary
    ds = dcmread(io.BytesIO(save(ds)))

    deidentify(ds)

    assert 0x00109990 not in ds
    assert b"Miller" not in save(ds)


def test_stale_group_lengths_are_dropped() -> None:
    ds = bundled()
    ds.add_new(0x00100000, "UL", 1234)  # retired; wrong once PN elements are gone

    deidentify(ds)

    assert 0x00100000 not in ds
