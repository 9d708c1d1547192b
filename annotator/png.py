"""PNG files from numpy arrays with zlib alone (no imaging library at run time)."""

import struct
import zlib

import numpy as np

COLOUR_TYPES = {3: 2, 4: 6}  # channels -> PNG colour type: truecolour, truecolour + alpha


def png_bytes(pixels: np.ndarray) -> bytes:
    """An 8-bit PNG of an (height, width, 3) RGB or (height, width, 4) RGBA uint8 array."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, channels = pixels.shape
    if channels not in COLOUR_TYPES:
        raise ValueError(f"expected 3 or 4 channels, got {channels}")

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    # each row starts with filter type 0 (none)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[channels], 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
