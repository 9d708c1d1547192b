"""Decoding a stored image, with a size limit checked before a single pixel is decoded.

A file declaring 30000×30000 pixels, or a deflated file that inflates to hundreds of MB,
would otherwise take gigabytes in ingest and in every training run after it. Compressed
frames are checked against the header too (codestreams.py) before a codec sees them.
"""

import io
import zlib

import numpy as np
import pydicom
from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut
from pydicom.uid import DeflatedExplicitVRLittleEndian

from annotator.imaging.codestreams import check_encoded_frame
from annotator.imaging.errors import PixelError

# Room for headers on top of the pixels when bounding a deflated stream.
HEADER_ALLOWANCE = 16 * 1024 * 1024
# A deflated body is inflated piece by piece and only counted, never kept whole.
_INFLATE_IN = 64 * 1024
_INFLATE_OUT = 1024 * 1024


def limit() -> int:
    return settings.MAX_DECODED_BYTES


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def declared_bytes(ds: Dataset) -> int:
    """Bytes the decoded image would take, from its header alone."""
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        bits = int(ds.get("BitsAllocated", 16) or 16)
    except (AttributeError, TypeError, ValueError) as exc:
        raise PixelError(f"image size cannot be read from the header: {exc}") from None
    if min(rows, columns, samples, frames, bits) <= 0:
        raise PixelError(f"image size in the header is not positive ({rows}×{columns})")
    return rows * columns * samples * frames * max(1, (bits + 7) // 8)


def check_declared_size(ds: Dataset) -> None:
    size = declared_bytes(ds)
    if size > limit():
        raise PixelError(
            f"image too large: {int(ds.Rows)}×{int(ds.Columns)} pixels would decode to "
            f"{_mib(size)}, over the limit of {_mib(limit())}"
        )


def check_deflate_bound(data: bytes) -> None:
    """A deflated dataset is inflated whole by pydicom: refuse one that inflates too far.

    The body is inflated in pieces that are counted and dropped, so the check itself never
    holds more than a megabyte, whatever the stream claims to expand to.
    """
    with io.BytesIO(data) as fh:
        try:
            pydicom.filereader.read_preamble(fh, force=False)
            meta = pydicom.filereader._read_file_meta_info(fh)
        except Exception:  # no file meta: not deflated; the full parse reports real damage
            return
        if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
            return
        # The deflated body starts right after the file meta group, as pydicom reads it.
        start = fh.tell()
    bound = limit() + HEADER_ALLOWANCE
    body = memoryview(data)[start:]
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    inflated = 0
    try:
        for offset in range(0, len(body), _INFLATE_IN):
            pending: bytes | memoryview = body[offset : offset + _INFLATE_IN]
            while pending:
                inflated += len(inflater.decompress(pending, _INFLATE_OUT))
                if inflated > bound:
                    raise PixelError(
                        f"image too large: the deflated data inflates to more than "
                        f"{_mib(bound)}, over the limit of {_mib(limit())} for an image"
                    )
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        inflated += len(inflater.flush())
    except zlib.error as exc:
        raise PixelError(f"deflated data is damaged: {exc}") from None
    if inflated > bound:
        raise PixelError(
            f"image too large: the deflated data inflates to more than {_mib(bound)}, "
            f"over the limit of {_mib(limit())} for an image"
        )


def parse(data: bytes) -> Dataset:
    """The whole dataset (pixels still encoded), after the deflate bound."""
    check_deflate_bound(data)
    return pydicom.dcmread(io.BytesIO(data), force=False)


def decode(ds: Dataset) -> np.ndarray:
    """The 2-D image in modality units (RescaleSlope/Intercept applied)."""
    if "PixelData" not in ds:
        raise PixelError("no image in this DICOM file")
    check_declared_size(ds)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise PixelError(f"multi-frame image ({frames} frames) is not supported yet")
    check_encoded_frame(ds)
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # each codec raises its own kinds on damaged data
        raise PixelError(f"image data cannot be decoded: {exc}") from None
    if pixels.ndim != 2:
        raise PixelError(f"expected a 2-D greyscale image, got shape {pixels.shape}")
    return np.asarray(apply_modality_lut(pixels, ds))


def read_image(data: bytes) -> np.ndarray:
    """Parse and decode stored bytes, under the same limits as ingest."""
    try:
        ds = parse(data)
    except PixelError:
        raise
    except Exception as exc:
        raise PixelError(f"cannot be read as DICOM: {exc}") from None
    return decode(ds)
