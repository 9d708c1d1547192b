"""Decoding a stored image, with a size limit checked before a single pixel is decoded.

A file declaring 30000×30000 pixels, or a deflated file that inflates to hundreds of MB,
would otherwise take gigabytes in ingest and in every training run after it. The header's
Rows and Columns are not the only size a decoder believes: a JPEG, JPEG-LS or JPEG 2000
codestream carries its own, and an RLE segment can expand 64-fold, so those are checked
against the header before a codec sees the data.
"""

import io
import struct
import zlib

import numpy as np
import pydicom
from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragmented_frames
from pydicom.pixels import apply_modality_lut
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    JPEG2000TransferSyntaxes,
    JPEGLSTransferSyntaxes,
    JPEGTransferSyntaxes,
    RLELossless,
)

# Room for headers on top of the pixels when bounding a deflated stream.
HEADER_ALLOWANCE = 16 * 1024 * 1024
# A deflated body is inflated piece by piece and only counted, never kept whole.
_INFLATE_IN = 64 * 1024
_INFLATE_OUT = 1024 * 1024
# Padding tolerated at the end of an RLE segment (pydicom accepts and drops it).
_RLE_SLACK = 64 * 1024
# JPEG 2000 numbers tiles with 16 bits (Isot).
_J2K_MAX_TILES = 65535
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
# JPEG SOFn markers (not DHT C4, JPG C8, DAC CC) and JPEG-LS SOF55.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
_JPEG_SOS, _JPEG_EOI, _JPEG_LSE = 0xDA, 0xD9, 0xF8


class PixelError(Exception):
    """The image cannot or may not be decoded; the message says why in plain words."""


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


def _transfer_syntax(ds: Dataset) -> UID | None:
    meta = getattr(ds, "file_meta", None)
    value = meta.get("TransferSyntaxUID") if meta is not None else None
    return UID(str(value)) if value else None


def _first_frame(ds: Dataset) -> bytes:
    """The encoded bytes of the (single) frame of encapsulated pixel data."""
    try:
        fragments = next(generate_fragmented_frames(ds.PixelData, number_of_frames=1), ())
    except Exception as exc:
        raise PixelError(f"image data cannot be decoded: {exc}") from None
    if not fragments:
        raise PixelError("image data cannot be decoded: no compressed frame found")
    return fragments[0] if len(fragments) == 1 else b"".join(fragments)


def _rle_segment_length(segment: memoryview, stop_after: int) -> int:
    """Bytes an RLE segment decodes to (as pydicom decodes it), counted up to stop_after."""
    pos, total, end = 0, 0, len(segment)
    while pos < end and total <= stop_after:
        header = segment[pos]
        pos += 1
        if header > 128:  # replicate the next byte 257 - header times
            total += 257 - header
            pos += 1
        elif header < 128:  # copy the next header + 1 bytes literally
            total += header + 1
            pos += header + 1
    return total


def _check_rle(frame: bytes, rows: int, columns: int) -> None:
    if len(frame) < 64:
        raise PixelError("image data cannot be decoded: the RLE header is missing")
    count, *offsets = struct.unpack("<16L", frame[:64])
    if not 1 <= count <= 15:
        raise PixelError(f"image data cannot be decoded: {count} RLE segments")
    bounds = [*offsets[:count], len(frame)]
    expected = rows * columns
    stop_after = expected + _RLE_SLACK
    view = memoryview(frame)
    for start, end in zip(bounds, bounds[1:], strict=False):
        segment = view[start:end]  # as pydicom slices it; out-of-order offsets give nothing
        # A run of two bytes expands to at most 128: only a long segment needs counting.
        if 64 * len(segment) <= stop_after:
            continue
        if _rle_segment_length(segment, stop_after) > stop_after:
            raise PixelError(
                f"image data does not match its header: an RLE segment expands beyond the "
                f"{rows}×{columns} pixels the header declares"
            )


def _jpeg_size(data: bytes) -> tuple[int, int, int]:
    """(rows, columns, components) from a JPEG or JPEG-LS frame header."""
    if data[:2] != b"\xff\xd8":
        raise PixelError("image data cannot be decoded: the JPEG data has no start marker")
    size: tuple[int, int, int] | None = None
    oversize: tuple[int, int] | None = None
    pos, end = 2, len(data)
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise PixelError("image data cannot be decoded: no JPEG frame header found")
        while pos < end and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= end:
            raise PixelError("image data cannot be decoded: no JPEG frame header found")
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (_JPEG_SOS, _JPEG_EOI):
            break
        if pos + 2 > end:
            raise PixelError("image data cannot be decoded: the JPEG header is truncated")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        segment = data[pos + 2 : pos + length]
        if length < 2 or len(segment) != length - 2:
            raise PixelError("image data cannot be decoded: the JPEG header is truncated")
        if marker in _JPEG_SOF:
            if size is not None or len(segment) < 6:
                raise PixelError("image data cannot be decoded: bad JPEG frame header")
            _precision, rows, columns, components = struct.unpack(">BHHB", segment[:6])
            size = (rows, columns, components)
        elif marker == _JPEG_LSE and segment[:1] == b"\x04":
            # JPEG-LS "oversize image dimension": a size given outside SOF55, which a
            # decoder believes instead.
            width = segment[1] if len(segment) > 1 else 0
            if width not in (2, 3, 4) or len(segment) < 2 + 2 * width:
                raise PixelError("image data cannot be decoded: bad JPEG-LS size")
            oversize = (
                int.from_bytes(segment[2 : 2 + width], "big"),
                int.from_bytes(segment[2 + width : 2 + 2 * width], "big"),
            )
        pos += length
    if size is None:
        raise PixelError("image data cannot be decoded: no JPEG frame header found")
    if oversize is not None:
        size = (*oversize, size[2])
    return size


def _j2k_size(data: bytes) -> tuple[int, int, int]:
    """(rows, columns, components) from a JPEG 2000 codestream (or a JP2 file around one)."""
    if data.startswith(_JP2_SIGNATURE):
        data = _jp2_codestream(data)
    if data[:4] != b"\xff\x4f\xff\x51" or len(data) < 42:
        raise PixelError("image data cannot be decoded: no JPEG 2000 image header found")
    (_lsiz, _rsiz, xsiz, ysiz, xosiz, yosiz, xtsiz, ytsiz, xtosiz, ytosiz, components) = (
        struct.unpack(">HHIIIIIIIIH", data[4:42])
    )
    if xosiz >= xsiz or yosiz >= ysiz or not xtsiz or not ytsiz:
        raise PixelError("image data cannot be decoded: bad JPEG 2000 image header")
    tiles = -(-(xsiz - xtosiz) // xtsiz) * -(-(ysiz - ytosiz) // ytsiz)
    if xtosiz > xosiz or ytosiz > yosiz or tiles > _J2K_MAX_TILES:
        raise PixelError("image data cannot be decoded: bad JPEG 2000 tiling")
    return ysiz - yosiz, xsiz - xosiz, components


def _jp2_codestream(data: bytes) -> bytes:
    pos = 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if length == 1:
            if pos + 16 > len(data):
                break
            (length,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        if kind == b"jp2c":
            return data[pos + header :]
        if length < header:
            break
        pos += length
    raise PixelError("image data cannot be decoded: no JPEG 2000 codestream found")


def check_encoded_frame(ds: Dataset) -> None:
    """The size a codec will believe must be the size the header declares (already checked)."""
    syntax = _transfer_syntax(ds)
    if syntax is None or not syntax.is_compressed:
        return  # native pixels: decoded from Rows and Columns, which are checked
    rows, columns = int(ds.Rows), int(ds.Columns)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    frame = _first_frame(ds)
    if syntax == RLELossless:
        _check_rle(frame, rows, columns)
        return
    if syntax in JPEGTransferSyntaxes or syntax in JPEGLSTransferSyntaxes:
        size = _jpeg_size(frame)
    elif syntax in JPEG2000TransferSyntaxes:
        size = _j2k_size(frame)
    else:
        raise PixelError(f"images compressed as {syntax.name} are not supported")
    if size != (rows, columns, samples):
        raise PixelError(
            f"image data does not match its header: the compressed image is "
            f"{size[0]}×{size[1]} pixels with {size[2]} samples, the header declares "
            f"{rows}×{columns} with {samples}"
        )


def decode(ds: Dataset) -> np.ndarray:
    """The 2-D image in modality units (RescaleSlope/Intercept applied)."""
    if "PixelData" not in ds:
        raise PixelError("no image in this DICOM file")
    check_declared_size(ds)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise PixelError(f"multi-frame image ({frames} frames) is not supported yet")
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
