"""Ingest under attack: one test per hole a hostile file or folder opened.

Each builds the hostile input, runs ingest as `manage.py ingest --json` would (the report
it prints), and checks what a user would notice: the error in the report, the rows, the
files in storage and the bytes the viewer is served.
"""

import errno
import io
import os
import struct
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import OperationalError
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import FileDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import DeflatedExplicitVRLittleEndian, generate_uid

from annotator.imaging import pixels
from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Dog, Instance
from tests.conftest import client_for

pytestmark = [
    pytest.mark.django_db,
    # The hostile headers are invalid on purpose; pydicom warns about each when reading.
    pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning"),
    pytest.mark.filterwarnings("ignore:The value length:UserWarning"),
]

MiB = 2**20
# Every hostile file below would make a decoder allocate 500 MiB to several GiB; refusing it
# must cost less than the largest image ingest accepts (MAX_DECODED_BYTES, 64 MiB).
MEMORY_CEILING = 64 * MiB


@pytest.fixture(autouse=True)
def default_limit(settings) -> None:
    """The shipped limit, whatever DACHS_MAX_DECODED_BYTES says where the tests run."""
    settings.MAX_DECODED_BYTES = 64 * MiB


# --- building files ---------------------------------------------------------------------


def bundled(name: str) -> Path:
    return Path(get_testdata_file(name, download=False))


def mr(name: str = "MR_small.dcm", **attrs: object) -> FileDataset:
    """pydicom's 64×64 MR slice as a new instance, with attributes overridden (even invalid
    ones: pydicom only warns)."""
    ds = dcmread(bundled(name))
    attrs.setdefault("SOPInstanceUID", generate_uid())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keyword, value in attrs.items():
            setattr(ds, keyword, value)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def save(ds: FileDataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path)
    return path


def first_frame(ds: FileDataset) -> bytearray:
    return bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))


def deflated(path: Path, rows: int, columns: int) -> Path:
    """A Deflated Explicit VR Little Endian file of rows×columns 16-bit zeros.

    Written as a stream (header, pixel element header, then zeros a MiB at a time through
    the compressor), so a 512 MiB image costs the test a MiB of memory and a second.
    """
    ds = mr(Rows=rows, Columns=columns, BitsAllocated=16, BitsStored=16, HighBit=15)
    del ds.PixelData
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    header = DicomBytesIO()
    header.is_little_endian, header.is_implicit_VR = True, False
    write_dataset(header, ds)
    size = rows * columns * 2
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [
        compressor.compress(
            header.getvalue() + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, size)
        )
    ]
    zeros = bytes(MiB)
    for offset in range(0, size, MiB):
        parts.append(compressor.compress(zeros[: min(MiB, size - offset)]))
    parts.append(compressor.flush())
    meta = DicomBytesIO()
    meta.is_little_endian, meta.is_implicit_VR = True, False
    write_file_meta_info(meta, ds.file_meta, enforce_standard=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00" * 128 + b"DICM" + meta.getvalue() + b"".join(parts))
    return path


def rle_declaring(rows: int, columns: int) -> FileDataset:
    """MR_small_RLE.dcm with a header that declares rows×columns; pixel data unchanged."""
    return mr("MR_small_RLE.dcm", Rows=rows, Columns=columns)


def rle_segment_bomb() -> FileDataset:
    """A 64×64 RLE slice whose first segment decodes to 512 MiB instead of 4 KiB."""
    ds = mr("MR_small_RLE.dcm")
    runs = b"\x81\x00" * (4 * MiB)  # each two-byte run replicates a byte 128 times
    tail = b"\x81\x00" * 32
    header = struct.pack("<16L", 2, 64, 64 + len(runs), *([0] * 13))
    ds.PixelData = encapsulate([header + runs + tail])
    return ds


def jpeg_ls_claiming_30000() -> FileDataset:
    """A 64×64 JPEG-LS slice whose codestream (SOF55) says 30000×30000."""
    ds = mr("MR_small_jpeg_ls_lossless.dcm")
    frame = first_frame(ds)
    assert frame[2:4] == b"\xff\xf7"
    struct.pack_into(">HH", frame, 7, 30000, 30000)
    ds.PixelData = encapsulate([bytes(frame)])
    return ds


def j2k_claiming_30000() -> FileDataset:
    """A 64×64 JPEG 2000 slice whose codestream (SIZ) says 30000×30000."""
    ds = mr("MR_small_jp2klossless.dcm")
    frame = first_frame(ds)
    assert frame[:4] == b"\xff\x4f\xff\x51"
    struct.pack_into(">II", frame, 8, 30000, 30000)  # Xsiz, Ysiz
    struct.pack_into(">II", frame, 24, 30000, 30000)  # XTsiz, YTsiz: one tile
    ds.PixelData = encapsulate([bytes(frame)])
    return ds


# --- running ingest and looking at the outcome --------------------------------------------


def ingest(*paths: Path) -> dict:
    """The report `manage.py ingest --json` prints."""
    return ingest_paths(list(paths)).as_dict()


def with_peak_memory(run: Callable[[], object]) -> tuple[object, int]:
    """run()'s result and the most memory Python allocated while it ran, in bytes."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = run()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()


def errors(report: dict) -> dict[str, str]:
    return {Path(e["path"]).name: e["error"] for e in report["errors"]}


def files_in_storage() -> set[str]:
    root = Path(settings.DICOM_DIR)
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def assert_storage_matches_rows() -> None:
    """No orphan file (every stored file has its row) and no row without its file."""
    assert files_in_storage() == set(Instance.objects.values_list("file_key", flat=True))


def stored_sops() -> set[str]:
    return set(Instance.objects.values_list("sop_instance_uid", flat=True))


def served(user, instance: Instance) -> bytes:
    response = client_for(user).get(f"/api/slices/{instance.pk}/dicom/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)  # the test client closes it when exhausted


# --- 1. a header declaring 30000×30000 ----------------------------------------------------


def test_a_30000_square_rle_image_is_refused_without_allocating_gigabytes(tmp_path: Path):
    good = mr()
    save(good, tmp_path / "batch" / "a_good.dcm")
    save(rle_declaring(30000, 30000), tmp_path / "batch" / "b_huge.dcm")

    report, peak = with_peak_memory(lambda: ingest(tmp_path / "batch"))

    failed = errors(report)
    assert set(failed) == {"b_huge.dcm"}
    assert "too large" in failed["b_huge.dcm"]
    assert "30000" in failed["b_huge.dcm"]
    assert report["ingested"] == 1
    assert stored_sops() == {good.SOPInstanceUID}
    assert_storage_matches_rows()
    assert peak < MEMORY_CEILING, f"ingest allocated {peak / MiB:.0f} MiB"


# --- 2. a deflate bomb --------------------------------------------------------------------


def test_a_deflated_512_mib_image_is_refused_without_inflating_it(tmp_path: Path):
    bomb = deflated(tmp_path / "batch" / "b_bomb.dcm", 16384, 16384)
    assert bomb.stat().st_size < 2 * MiB  # 512 MiB of pixels, deflated
    # The same construction at a sane size is an ordinary image that ingest stores.
    deflated(tmp_path / "batch" / "a_small.dcm", 64, 64)

    report, peak = with_peak_memory(lambda: ingest(tmp_path / "batch"))

    failed = errors(report)
    assert set(failed) == {"b_bomb.dcm"}
    assert "too large" in failed["b_bomb.dcm"]
    assert report["ingested"] == 1
    assert Instance.objects.get().rows == 64
    assert_storage_matches_rows()
    assert peak < MEMORY_CEILING, f"ingest allocated {peak / MiB:.0f} MiB"


# --- 3. UIDs that are paths ---------------------------------------------------------------


def snapshot(root: Path, leave_out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and leave_out not in p.parents
    }


def test_dot_dot_uids_are_invalid_and_nothing_lands_outside_storage(tmp_path: Path):
    batch = tmp_path / "batch"
    save(mr(StudyInstanceUID=".."), batch / "a_study.dcm")
    save(mr(SeriesInstanceUID=".."), batch / "b_series.dcm")
    save(mr(StudyInstanceUID="..", SeriesInstanceUID=".."), batch / "c_both.dcm")
    good = mr()
    save(good, batch / "d_good.dcm")
    dicom_dir = Path(settings.DICOM_DIR)
    assert dicom_dir.parent.parent == tmp_path  # "../.." from the storage folder
    before = snapshot(tmp_path, leave_out=dicom_dir)

    report = ingest(batch)

    failed = errors(report)
    assert set(failed) == {"a_study.dcm", "b_series.dcm", "c_both.dcm"}
    assert failed["a_study.dcm"].startswith("invalid StudyInstanceUID '..'")
    assert failed["b_series.dcm"].startswith("invalid SeriesInstanceUID '..'")
    assert failed["c_both.dcm"].startswith("invalid StudyInstanceUID '..'")
    assert snapshot(tmp_path, leave_out=dicom_dir) == before
    assert stored_sops() == {good.SOPInstanceUID}
    assert_storage_matches_rows()


# --- 4. SOP UIDs with path characters; distinct instances, distinct files -----------------


def test_sop_uids_with_plus_or_slash_are_invalid_and_each_instance_serves_its_own_bytes(
    tmp_path: Path, alice
):
    batch = tmp_path / "batch"
    # Identical but for the SOP Instance UID, so nothing else could tell their files apart.
    save(mr(SOPInstanceUID="1.2.3.77.1", InstanceNumber=1), batch / "a.dcm")
    save(mr(SOPInstanceUID="1.2.3.77+1", InstanceNumber=1), batch / "b.dcm")
    save(mr(SOPInstanceUID="1.2.3.77/1", InstanceNumber=1), batch / "c.dcm")
    save(mr(SOPInstanceUID="1.2.3.77.11", InstanceNumber=1), batch / "d.dcm")

    report = ingest(batch)

    failed = errors(report)
    assert set(failed) == {"b.dcm", "c.dcm"}
    assert failed["b.dcm"].startswith("invalid SOPInstanceUID '1.2.3.77+1'")
    assert failed["c.dcm"].startswith("invalid SOPInstanceUID '1.2.3.77/1'")
    instances = list(Instance.objects.all())
    assert {i.sop_instance_uid for i in instances} == {"1.2.3.77.1", "1.2.3.77.11"}
    assert len({i.file_key for i in instances}) == 2
    for instance in instances:
        assert dcmread(io.BytesIO(served(alice, instance))).SOPInstanceUID == (
            instance.sop_instance_uid
        )
    assert_storage_matches_rows()


# --- 5. a UID over 64 characters in the middle of a batch ---------------------------------


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
def test_a_uid_over_64_characters_is_reported_and_the_batch_goes_on(tmp_path: Path, keyword: str):
    batch = tmp_path / "batch"
    too_long = "1.2.826.0.1.3680043.10.543." + "1" * 60
    first, last = mr(), mr()
    save(first, batch / "a_first.dcm")
    save(mr(**{keyword: too_long}), batch / "b_long.dcm")
    save(last, batch / "c_last.dcm")

    report = ingest(batch)

    failed = errors(report)
    assert set(failed) == {"b_long.dcm"}
    assert failed["b_long.dcm"].startswith(f"invalid {keyword}")
    assert f"({len(too_long)} characters)" in failed["b_long.dcm"]
    assert "at most 64" in failed["b_long.dcm"]
    assert report["ingested"] == 2
    assert stored_sops() == {first.SOPInstanceUID, last.SOPInstanceUID}
    assert_storage_matches_rows()


# --- 6. a named pipe in the folder --------------------------------------------------------


@pytest.mark.timeout(20)
def test_a_named_pipe_in_the_folder_is_reported_and_does_not_hang_ingest(tmp_path: Path):
    batch = tmp_path / "batch"
    first, last = mr(), mr()
    save(first, batch / "a.dcm")
    os.mkfifo(batch / "b_pipe.dcm")  # no writer: opening it for reading would block
    save(last, batch / "c.dcm")

    report = ingest(batch)

    assert errors(report) == {"b_pipe.dcm": "not a regular file"}
    assert (report["files"], report["ingested"]) == (3, 2)
    assert stored_sops() == {first.SOPInstanceUID, last.SOPInstanceUID}
    assert_storage_matches_rows()


# --- 7. owner names in the served file ----------------------------------------------------


def test_the_served_file_carries_no_owner_names(tmp_path: Path, alice):
    ds = mr(
        PatientName="Owner^Dog",
        PatientID="CLINIC-0042",
        ResponsiblePerson="Owner^Bob",
        ResponsibleOrganization="Kleintierpraxis am Park",
        PatientAddress="Ownerweg 1, 12345 Ownerstadt",
        PatientTelephoneNumbers="Owner +49 30 1234567",
        OtherPatientNames="Owner^Dog^^Mrs",
        PatientComments="Mr Owner calls after 5",
        ReferringPhysicianName="Vet^Owner",
    )
    ds.add_new((0x0029, 0x0010), "LO", "OWNER DATA")  # private creator
    ds.add_new((0x0029, 0x1001), "LO", "Owner private note")
    path = save(ds, tmp_path / "owner.dcm")
    assert b"Owner" in path.read_bytes()

    report = ingest(path)

    assert report["ingested"] == 1
    instance = Instance.objects.get()
    data = served(alice, instance)
    assert b"Owner" not in data
    assert b"Bob" not in data
    stored = dcmread(io.BytesIO(data))
    assert (str(stored.PatientName), stored.PatientID) == ("Dog", "CLINIC-0042")
    dog = Dog.objects.get()
    assert (dog.name, dog.patient_id) == ("Dog", "CLINIC-0042")
    assert "Owner" not in str(vars(dog))


# --- 8. a failure while writing rows ------------------------------------------------------


def test_a_failure_while_writing_rows_leaves_no_orphan_file_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    batch = tmp_path / "batch"
    datasets = [mr() for _ in range(3)]
    for name, ds in zip("abc", datasets, strict=True):
        save(ds, batch / f"{name}.dcm")
    create = Instance.objects.create
    calls: list[str] = []

    def fails_once(**fields):
        calls.append(fields["sop_instance_uid"])
        if len(calls) == 1:
            raise OperationalError("disk I/O error")
        return create(**fields)

    monkeypatch.setattr(Instance.objects, "create", fails_once)

    report = ingest(batch)

    assert errors(report) == {"a.dcm": "could not be stored (OperationalError)"}
    assert report["ingested"] == 2
    assert stored_sops() == {ds.SOPInstanceUID for ds in datasets[1:]}
    assert_storage_matches_rows()
    # Nothing half-stored blocks a retry: the same batch again stores the failed file.
    again = ingest(batch)
    assert (again["ingested"], again["skipped_existing"], again["errors"]) == (1, 2, [])
    assert_storage_matches_rows()


# --- 9. training-side decoding ------------------------------------------------------------


def encoded(ds: FileDataset) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buffer)
    return buffer.getvalue()


HOSTILE = {
    "rle declaring 30000x30000": lambda tmp: encoded(rle_declaring(30000, 30000)),
    "deflated 512 MiB": lambda tmp: deflated(tmp / "bomb.dcm", 16384, 16384).read_bytes(),
    "rle segment expanding 128-fold": lambda tmp: encoded(rle_segment_bomb()),
    "jpeg-ls codestream claiming 30000x30000": lambda tmp: encoded(jpeg_ls_claiming_30000()),
    "jpeg 2000 codestream claiming 30000x30000": lambda tmp: encoded(j2k_claiming_30000()),
}


@pytest.mark.parametrize("hostile", HOSTILE)
def test_training_side_decoding_refuses_oversized_images_too(tmp_path: Path, hostile: str):
    data = HOSTILE[hostile](tmp_path)
    assert pixels.read_image(encoded(mr())).shape == (64, 64)

    def decode() -> None:
        with pytest.raises(pixels.PixelError, match="too large|does not match its header"):
            pixels.read_image(data)

    _, peak = with_peak_memory(decode)
    assert peak < MEMORY_CEILING, f"decoding allocated {peak / MiB:.0f} MiB"


# --- 10. compressed data that lies about its size -----------------------------------------


@pytest.mark.parametrize(
    "build",
    [rle_segment_bomb, jpeg_ls_claiming_30000, j2k_claiming_30000],
    ids=lambda f: f.__name__,
)
def test_compressed_data_bigger_than_its_header_is_refused_without_decoding_it(
    tmp_path: Path, build: Callable[[], FileDataset]
):
    """The header says 64×64 (well under the limit); the compressed data says otherwise."""
    good = mr()
    save(good, tmp_path / "batch" / "a_good.dcm")
    save(build(), tmp_path / "batch" / "b_lying.dcm")

    report, peak = with_peak_memory(lambda: ingest(tmp_path / "batch"))

    failed = errors(report)
    assert set(failed) == {"b_lying.dcm"}
    assert failed["b_lying.dcm"].startswith("image data does not match its header")
    assert stored_sops() == {good.SOPInstanceUID}
    assert_storage_matches_rows()
    assert peak < MEMORY_CEILING, f"ingest allocated {peak / MiB:.0f} MiB"


# --- 11. a write that fails half-way ------------------------------------------------------


def test_a_write_failing_half_way_leaves_no_torn_file_and_a_retry_stores_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alice
):
    """The key is the hash of the whole file: a torn file under it must not be trusted."""
    path = save(mr(), tmp_path / "a.dcm")

    def disk_fills_up(self, chunk_size=None):
        yield self.file.getvalue()[:1000]
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(ContentFile, "chunks", disk_fills_up)
        report = ingest(path)

    assert errors(report) == {"a.dcm": "could not be stored (OSError)"}
    assert files_in_storage() == set()
    again = ingest(path)
    assert again["ingested"] == 1
    instance = Instance.objects.get()
    assert dcmread(io.BytesIO(served(alice, instance))).pixel_array.shape == (64, 64)
    assert_storage_matches_rows()
