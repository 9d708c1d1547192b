"""Turn a DICOM pixel array into the square float32 image SliceNet reads.

Choices, and why:
- Intensity: clip to the 1st..99th percentile, then scale to 0..1. MRI signal has no absolute
  unit and varies by scanner and sequence; percentiles ignore a few hot pixels, and the result
  is the same whether or not RescaleSlope/Intercept were applied (any positive linear map).
- Shape: pad to a square with 0 (black, like the air around the patient), centred, then a
  bilinear resize with antialiasing. Padding rather than stretching keeps vertebrae and discs
  their true shape on non-square acquisitions (e.g. 320x256 sagittal).
- The caller resolves DICOM quirks before this: MONOCHROME1 inversion, one frame of a
  multi-frame object, anisotropic pixel spacing. This module sees a plain 2-D array.
"""

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

LOW_PERCENTILE = 1.0
HIGH_PERCENTILE = 99.0


def normalise_intensity(pixels: np.ndarray) -> np.ndarray:
    """Clip to the 1st..99th percentile and scale to 0..1; a flat image becomes all zeros."""
    x = np.asarray(pixels, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros(x.shape, dtype=np.float32)
    lo, hi = np.percentile(x[finite], [LOW_PERCENTILE, HIGH_PERCENTILE])
    if hi <= lo:
        # constant (or nearly so) image: nothing to show, and dividing would give NaN
        return np.zeros(x.shape, dtype=np.float32)
    x = np.where(finite, x, lo)  # NaN / inf from a broken decode become background
    return ((np.clip(x, lo, hi) - lo) / (hi - lo)).astype(np.float32)


def pad_to_square(image: np.ndarray) -> np.ndarray:
    """Centre the image on a zero-filled square canvas."""
    h, w = image.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    out = np.zeros((side, side), dtype=image.dtype)
    out[top : top + h, left : left + w] = image
    return out


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a 2-D float32 image; antialiased so 512 -> 128 does not alias."""
    if image.shape == (size, size):
        return image
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]  # (1,1,H,W)
    out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return out[0, 0].numpy()


def to_model_input(pixels: np.ndarray, size: int = 128) -> np.ndarray:
    """A 2-D pixel array of any dtype and shape -> float32 (size, size) in 0..1."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale slice, got shape {pixels.shape}")
    if pixels.size == 0:
        raise ValueError("empty pixel array")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    image = resize(pad_to_square(normalise_intensity(pixels)), size)
    # bilinear interpolation stays within the input range up to rounding; keep the promise
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)


def stack_inputs(arrays: Sequence[np.ndarray], size: int = 128) -> np.ndarray:
    """Stack model inputs (outputs of ``to_model_input``) into a batch (N, 1, size, size).

    Raises ValueError for any other shape, which also catches raw pixel arrays passed by
    mistake; an empty list gives an empty batch.
    """
    bad = {np.shape(a) for a in arrays} - {(size, size)}
    if bad:
        raise ValueError(f"expected model inputs of shape ({size}, {size}), got {sorted(bad)}")
    if len(arrays) == 0:
        return np.zeros((0, 1, size, size), dtype=np.float32)
    return np.stack(arrays).astype(np.float32, copy=False)[:, None]  # (N, 1, size, size)


def inputs_from_pixels(pixel_arrays: Sequence[np.ndarray], size: int = 128) -> np.ndarray:
    """Raw DICOM pixel arrays -> batch (N, 1, size, size): ``to_model_input`` then stack."""
    return stack_inputs([to_model_input(p, size) for p in pixel_arrays], size)
