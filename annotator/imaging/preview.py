"""A slice as a picture a browser can show without a DICOM viewer (the second-eye view's
key slices): 8-bit grey, windowed by percentiles, at the slice's own size."""

import numpy as np

from annotator.imaging import pixels, storage
from annotator.imaging.errors import PixelError
from annotator.imaging.models import Instance
from annotator.png import png_bytes

PERCENTILES = (1.0, 99.5)


def preview_png(instance: Instance) -> bytes:
    """The slice as an 8-bit grey PNG (as RGB) of its own size, windowed by percentiles.

    FileNotFoundError when the file is missing; PixelError when it cannot be decoded.
    """
    try:
        ds = pixels.parse(storage.read(instance.file_key))
    except (FileNotFoundError, PixelError):
        raise
    except Exception as exc:
        raise PixelError(f"cannot be read as DICOM: {exc}") from None
    image = np.asarray(pixels.decode(ds), dtype=np.float64)
    grey = window(image)
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":  # low values are white
        grey = 255 - grey
    return png_bytes(np.repeat(grey[..., None], 3, axis=2))


def window(image: np.ndarray) -> np.ndarray:
    """uint8 grey levels: the percentile window stretched to 0..255; a flat image is black."""
    finite = np.isfinite(image)
    if not finite.any():
        return np.zeros(image.shape, dtype=np.uint8)
    low, high = np.percentile(image[finite], PERCENTILES)
    if high <= low:
        return np.zeros(image.shape, dtype=np.uint8)
    scaled = (np.clip(np.where(finite, image, low), low, high) - low) / (high - low)
    return np.round(scaled * 255).astype(np.uint8)
