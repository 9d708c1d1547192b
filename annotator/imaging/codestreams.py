"""The sizes compressed frames claim, checked against the header before a codec runs.

The header's Rows and Columns are not the only size a decoder believes: a JPEG, JPEG-LS or
JPEG 2000 codestream carries its own, and an RLE segment can expand 64-fold. A small file
can therefore make a codec allocate gigabytes; these checks read only the codestream's
headers.
"""

import struct

from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragmented_frames
from pydicom.uid import (
    UID,
    JPEG2000TransferSyntaxes,
    JPEGLSTransferSyntaxes,
    JPEGTransferSyntaxes,
    RLELossless,
)

from annotator.imaging.errors import PixelError

# Padding tolerated at the end of an RLE segment (pydicom accepts and drops it).
_RLE_SLACK = 64 * 1024
# JPEG 2000 numbers tiles with 16 bits (Isot).
_J2K_MAX_TILES = 65535
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
# JPEG SOFn markers (not DHT C4, JPG C8, DAC CC) and JPEG-LS SOF55.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
_JPEG_SOS, _JPEG_EOI, _JPEG_LSE = 0xDA, 0xD9, 0xF8


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
