"""Plane and weighting of a series, read from the physics in its DICOM headers.

Names (SeriesDescription) vary wildly by vendor, so they are only a fallback.
"""

import re

import numpy as np
from pydicom.dataset import Dataset

# Short TR with short TE is T1-weighted; long TR with long TE is T2-weighted (ms).
T1_MAX_TR, T1_MAX_TE = 1000.0, 30.0
T2_MIN_TR, T2_MIN_TE = 1500.0, 60.0
# Inversion times below this null fat (STIR); longer ones null fluid (FLAIR).
STIR_MAX_TI = 300.0

_PLANE_WORDS = [
    ("sagittal", re.compile(r"sag", re.I)),
    ("transverse", re.compile(r"\b(tra|trans|ax|axial)|_tra|_ax", re.I)),
    ("dorsal", re.compile(r"\b(dor|cor)|_dor|_cor", re.I)),
]
_SEQUENCE_WORDS = [
    ("STIR", re.compile(r"stir", re.I)),
    ("T1W", re.compile(r"t1", re.I)),
    ("T2W", re.compile(r"t2", re.I)),
]


def _float(ds: Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def slice_normal(ds: Dataset) -> np.ndarray | None:
    """Unit normal of the image plane: row cosines × column cosines, or None."""
    iop = ds.get("ImageOrientationPatient")
    if iop is None or len(iop) != 6:
        return None
    try:
        cosines = np.array([float(v) for v in iop], dtype=float)
    except (TypeError, ValueError):
        return None
    normal = np.cross(cosines[:3], cosines[3:])
    length = np.linalg.norm(normal)
    if not np.isfinite(length) or length < 1e-6:
        return None
    return normal / length


def derive_plane(ds: Dataset) -> str:
    """sagittal | transverse | dorsal | unknown, from the dominant axis of the normal.

    Animal positioning makes the signs unreliable, the dominant axis is not; a transverse
    slice angled to a disc space is still transverse.
    """
    normal = slice_normal(ds)
    if normal is not None:
        return ("sagittal", "dorsal", "transverse")[int(np.argmax(np.abs(normal)))]
    description = str(ds.get("SeriesDescription", ""))
    for plane, pattern in _PLANE_WORDS:
        if pattern.search(description):
            return plane
    return "unknown"


def derive_sequence(ds: Dataset) -> str:
    """T1W | T2W | STIR | other, from TR/TE/TI and the scanning sequence first."""
    scanning = " ".join(str(v) for v in _as_list(ds.get("ScanningSequence")))
    description = str(ds.get("SeriesDescription", ""))
    ti = _float(ds, "InversionTime")
    if "IR" in scanning.split() or (ti is not None and ti > 0):
        if ti is not None and ti <= STIR_MAX_TI or re.search("stir", description, re.I):
            return "STIR"
        return "other"  # FLAIR and other inversion recovery
    if "GR" in scanning.split() and "SE" not in scanning.split():
        return "other"  # gradient echo has its own contrast
    tr, te = _float(ds, "RepetitionTime"), _float(ds, "EchoTime")
    if tr is not None and te is not None:
        if tr < T1_MAX_TR and te < T1_MAX_TE:
            return "T1W"
        if tr > T2_MIN_TR and te > T2_MIN_TE:
            return "T2W"
    for sequence, pattern in _SEQUENCE_WORDS:
        if pattern.search(description):
            return sequence
    return "other"


def _as_list(value: object) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return value.replace("\\", " ").split()
    try:
        return list(value)  # type: ignore[call-overload]
    except TypeError:
        return [value]
