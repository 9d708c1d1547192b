"""Stored DICOM slices as model inputs."""

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

from annotator.models import Slice
from ml.preprocess import to_model_input


def model_input(slice_: Slice, size: int) -> np.ndarray:
    ds = pydicom.dcmread(slice_.dicom_file)
    pixels = apply_modality_lut(ds.pixel_array, ds)
    return to_model_input(np.asarray(pixels), size=size)


def model_inputs(slices: list[Slice], size: int) -> np.ndarray:
    """(N, 1, size, size) float32 for the given slices, in order."""
    if not slices:
        return np.zeros((0, 1, size, size), dtype=np.float32)
    return np.stack([model_input(s, size)[None] for s in slices]).astype(np.float32)
