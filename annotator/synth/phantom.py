"""Turn tissue labels into what a low-field spin-echo scanner would store for a slice."""

from dataclasses import dataclass

import numpy as np

from annotator.synth.anatomy import (
    LESION_TISSUES,
    SIGNAL_LUT,
    WEIGHTINGS,
    Canvas,
    CordShape,
    Spine,
    paint_anatomy,
)
from annotator.synth.findings import UNREMARKABLE
from annotator.synth.geometry import SliceGeometry
from annotator.synth.lesions import Lesion

# A lesion pixel counts as shown on a weighting when it changes the drawn signal by at
# least this much (relative units; about three noise sigmas at 0.3 T). Oedema, for one,
# is T2-bright but T1-isointense, so a slice through oedema alone is T1-unremarkable.
CONSPICUOUS = 0.1
# A slice that shows fewer lesion pixels than this would be a coin toss for a reader; it
# is drawn without the lesion so its label "unremarkable" is honest.
MIN_LESION_PIXELS = 6
MAX_STORED = 4095  # BitsStored 12, what most MR scanners store


def tissue_labels(spine: Spine, lesion: Lesion | None, geometry: SliceGeometry) -> np.ndarray:
    """Tissue label (anatomy.Tissue) of every pixel of the plane, shape (rows, columns)."""
    canvas = Canvas(spine, geometry.pixel_points())
    paint_anatomy(canvas, lesion.cord_shape(canvas) if lesion else CordShape())
    if lesion is not None:
        lesion.paint(canvas)
    return canvas.labels


def lesion_mask(labels: np.ndarray) -> np.ndarray:
    return np.isin(labels, LESION_TISSUES)


@dataclass(frozen=True)
class LabelledSlice:
    labels: np.ndarray  # what to draw
    finding: str  # ground truth: the lesion's finding if the image shows it, else unremarkable


def label_slice(
    spine: Spine, lesion: Lesion | None, geometry: SliceGeometry
) -> dict[str, LabelledSlice]:
    """What to draw and its ground truth at one plane, per weighting (T1W, T2W)."""
    labels = tissue_labels(spine, lesion, geometry)
    mask = lesion_mask(labels)
    if lesion is None or not mask.any():
        return dict.fromkeys(WEIGHTINGS, LabelledSlice(labels, UNREMARKABLE))
    normal = tissue_labels(spine, None, geometry)
    truth = {}
    for weighting in WEIGHTINGS:
        change = clean_signal(labels, weighting) - clean_signal(normal, weighting)
        shown = int((mask & (np.abs(change) >= CONSPICUOUS)).sum())
        if shown >= MIN_LESION_PIXELS:
            truth[weighting] = LabelledSlice(labels, lesion.finding)
        elif shown > 0:
            truth[weighting] = LabelledSlice(normal, UNREMARKABLE)
        else:  # the lesion is cut but invisible on this weighting
            truth[weighting] = LabelledSlice(labels, UNREMARKABLE)
    return truth


def clean_signal(labels: np.ndarray, weighting: str) -> np.ndarray:
    """Noise-free relative signal (0..1), slightly blurred like a real point spread."""
    signal = SIGNAL_LUT[weighting][labels]
    padded = np.pad(signal, 1, mode="edge")
    neighbours = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    return 0.5 * signal + 0.125 * neighbours


@dataclass(frozen=True)
class Acquisition:
    """Scanner-side knobs of one series that change pixel values, not anatomy."""

    gain: float  # stored value of relative signal 1.0; vendors scale very differently
    noise: float  # sigma of each quadrature channel, in relative signal units
    coil_falloff: float  # fractional signal loss from the top row (dorsal coil) to the bottom


def acquire(signal: np.ndarray, acquisition: Acquisition, rng: np.random.Generator) -> np.ndarray:
    """Magnitude image with Rician noise (low field is noisy), as stored uint16."""
    rows = signal.shape[0]
    coil = 1 - acquisition.coil_falloff * np.linspace(0, 1, rows)[:, None]
    noise = rng.standard_normal((2, *signal.shape), dtype=np.float32) * acquisition.noise
    real, imaginary = signal * coil + noise[0], noise[1]
    magnitude = np.hypot(real, imaginary) * acquisition.gain
    return np.clip(np.rint(magnitude), 0, MAX_STORED).astype(np.uint16)
