"""Turn tissue labels into a slice's ground truth and what a spin-echo scanner would store."""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotator.synth.anatomy import (
    LESION_TISSUES,
    SIGNAL_LUT,
    TEXTURE_LUT,
    WEIGHTINGS,
    Canvas,
    CordShape,
    Spine,
    paint_anatomy,
)
from annotator.synth.findings import FINDINGS, UNREMARKABLE
from annotator.synth.geometry import SliceGeometry
from annotator.synth.lesions import Lesion

# The visibility rule (see label_slice): a lesion pixel is conspicuous on a weighting when
# it changes the noise-free signal by at least CONSPICUOUS (relative units; about three
# noise sigmas at 0.3 T); a finding is on the slice when its conspicuous pixels cover at
# least MIN_LESION_PIXELS and MIN_LESION_MM2, and the mean change over their bounding box
# is at least BOX_CONTRAST, so the box a localiser learns from holds visible signal.
CONSPICUOUS = 0.1
MIN_LESION_PIXELS = 6
MIN_LESION_MM2 = 4.0
BOX_CONTRAST = 0.08
MAX_STORED = 4095  # BitsStored 12, what most MR scanners store


def render(spine: Spine, lesions: Sequence[Lesion], geometry: SliceGeometry) -> Canvas:
    """The plane's tissue labels, lesion owners and canal, lesions painted in order."""
    canvas = Canvas(spine, geometry.pixel_points())
    shape = CordShape()
    for lesion in lesions:
        shape = shape + lesion.cord_shape(canvas)
    paint_anatomy(canvas, shape)
    for number, lesion in enumerate(lesions, start=1):
        canvas.painting_lesion = number
        lesion.paint(canvas)
    canvas.painting_lesion = 0
    return canvas


def tissue_labels(spine: Spine, lesions: Sequence[Lesion], geometry: SliceGeometry) -> np.ndarray:
    """Tissue label (anatomy.Tissue) of every pixel of the plane, shape (rows, columns)."""
    return render(spine, lesions, geometry).labels


def lesion_mask(labels: np.ndarray) -> np.ndarray:
    return np.isin(labels, LESION_TISSUES)


def pixel_box(mask: np.ndarray) -> dict[str, int] | None:
    """Bounding box in pixels, (0, 0) the top-left corner of the top-left pixel."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    x, y = int(cols[0]), int(rows[0])
    return {"x": x, "y": y, "width": int(cols[-1]) + 1 - x, "height": int(rows[-1]) + 1 - y}


@dataclass(frozen=True)
class SliceTruth:
    """What to draw on one weighting of a plane, and what it shows."""

    labels: np.ndarray
    findings: tuple[str, ...]  # lesion findings in vocabulary order; empty: unremarkable
    boxes: tuple[dict, ...]  # {"finding", "x", "y", "width", "height"} per visible lesion
    areas_mm2: tuple[float, ...]  # conspicuous lesion area per finding

    @property
    def finding(self) -> str:
        """The primary finding: the first lesion finding in vocabulary order."""
        return self.findings[0] if self.findings else UNREMARKABLE


@dataclass(frozen=True)
class LabelledPlane:
    truth: dict[str, SliceTruth]  # per weighting
    canal_box: dict[str, int] | None  # None where the plane misses the canal
    texture: np.ndarray


def _near(lesion: Lesion, canvas: Canvas) -> bool:
    low, high = lesion.reach
    return bool(high >= canvas.a.min() and low <= canvas.a.max())


def signal_change(
    labels: np.ndarray, normal: np.ndarray, weighting: str, blur_px: float
) -> np.ndarray:
    """Noise-free change a lesion makes, through the scanner's point spread."""
    lut = SIGNAL_LUT[weighting]
    return gaussian_blur(lut[labels] - lut[normal], blur_px)


def label_slice(
    spine: Spine, lesions: Sequence[Lesion], geometry: SliceGeometry, blur_px: float
) -> LabelledPlane:
    """What to draw at one plane and its ground truth, per weighting (T1W, T2W).

    The labelling rule. A lesion pixel is conspicuous when it changes the noise-free
    signal (this drawing minus the same plane drawn without lesions, both blurred by the
    plane's point spread of `blur_px` pixels) by at least CONSPICUOUS. A lesion (one
    site: each protruded disc is its own) is visible when its conspicuous pixels
    - number at least MIN_LESION_PIXELS and cover at least MIN_LESION_MM2, and
    - change the signal by at least BOX_CONTRAST on average over their bounding box,
      which becomes the lesion's box.
    Finding F is on the image when one of its lesions is visible. A lesion the plane
    cuts with fewer such pixels (a sliver nobody could call) is left out of that image,
    so no unlabelled lesion signal is drawn; one the plane cuts without any visible
    change (oedema on T1W) stays, since it shows nothing.
    """
    normal = render(spine, (), geometry)
    plane_texture = texture(spine, geometry)
    canal_box = pixel_box(normal.canal)
    near = [lesion for lesion in lesions if _near(lesion, normal)]
    empty = SliceTruth(normal.labels, (), (), ())
    if not near:
        return LabelledPlane(dict.fromkeys(WEIGHTINGS, empty), canal_box, plane_texture)
    full = render(spine, near, geometry)
    if not (full.owner > 0).any():
        return LabelledPlane(
            dict.fromkeys(WEIGHTINGS, SliceTruth(full.labels, (), (), ())), canal_box, plane_texture
        )
    pixel_mm2 = geometry.spacing_mm**2
    truth = {}
    for weighting in WEIGHTINGS:
        change = signal_change(full.labels, normal.labels, weighting, blur_px)
        conspicuous = np.abs(change) >= CONSPICUOUS
        shown, boxes, areas, slivers = [], [], [], []
        for finding in FINDINGS:
            area = 0.0
            for owner, lesion in enumerate(near, start=1):
                if lesion.finding != finding:
                    continue
                visible = conspicuous & (full.owner == owner)
                count = int(visible.sum())
                if count == 0:
                    continue
                box = pixel_box(visible)
                assert box is not None
                y, x = (
                    slice(box["y"], box["y"] + box["height"]),
                    slice(box["x"], box["x"] + box["width"]),
                )
                if (
                    count >= MIN_LESION_PIXELS
                    and count * pixel_mm2 >= MIN_LESION_MM2
                    and abs(float(change[y, x].mean())) >= BOX_CONTRAST
                ):
                    boxes.append({"finding": finding, **box})
                    area += count * pixel_mm2
                else:
                    slivers.append(owner)
            if area:
                shown.append(finding)
                areas.append(round(area, 2))
        labels = full.labels
        if slivers:
            kept = [lesion for n, lesion in enumerate(near, start=1) if n not in slivers]
            labels = tissue_labels(spine, kept, geometry)
        truth[weighting] = SliceTruth(labels, tuple(shown), tuple(boxes), tuple(areas))
    return LabelledPlane(truth, canal_box, plane_texture)


def clean_signal(labels: np.ndarray, weighting: str) -> np.ndarray:
    """Noise-free relative signal (0..1), slightly blurred like a real point spread."""
    signal = SIGNAL_LUT[weighting][labels]
    padded = np.pad(signal, 1, mode="edge")
    neighbours = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    return 0.5 * signal + 0.125 * neighbours


def texture(spine: Spine, geometry: SliceGeometry) -> np.ndarray:
    """About -1..1 of smooth noise: fine trabeculae (~0.7 mm) over coarser patches (~3 mm).

    Seeded by the dog and the plane, so T1W and T2W of a plane share it.
    """
    key = np.array([spine.texture_seed, *geometry.position, *geometry.orientation])
    rng = np.random.default_rng(zlib.crc32(key.tobytes()))
    shape = (geometry.rows, geometry.columns)
    pattern = np.zeros(shape, dtype=np.float32)
    for size_mm, weight in ((0.7, 0.6), (3.0, 0.5)):
        sigma = min(size_mm / geometry.spacing_mm, 6.0)
        field = gaussian_blur(rng.standard_normal(shape, dtype=np.float32), sigma)
        pattern += weight * field / max(float(field.std()), 1e-6)
    return np.clip(pattern * np.float32(0.5), -1, 1)


def textured_signal(labels: np.ndarray, weighting: str, pattern: np.ndarray) -> np.ndarray:
    """Relative signal with marrow, muscle and tumour texture, before the scanner."""
    return SIGNAL_LUT[weighting][labels] * (1 + TEXTURE_LUT[labels] * pattern)


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Separable Gaussian: the point spread of an acquisition coarser than its display
    matrix, which also stands in for the slab's partial volume."""
    radius = max(1, int(np.ceil(2.5 * sigma_px)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_px) ** 2).astype(np.float32)
    taps /= taps.sum()
    for axis in (0, 1):
        padded = np.pad(image, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)], "edge")
        length = image.shape[axis]
        image = sum(
            w * (padded[k : k + length] if axis == 0 else padded[:, k : k + length])
            for k, w in enumerate(taps)
        )
    return image


@dataclass(frozen=True)
class Acquisition:
    """Scanner-side knobs of one series that change pixel values, not anatomy."""

    gain: float  # stored value of relative signal 1.0; vendors scale very differently
    noise: float  # sigma of each quadrature channel, in relative signal units
    coil_falloff: float  # fractional signal loss from the top row (dorsal coil) to the bottom
    bias: tuple[float, float, float, float, float]  # smooth field: x, y, xy, x², y² terms
    blur_px: float  # point-spread sigma in display pixels


def bias_field(shape: tuple[int, int], acquisition: Acquisition) -> np.ndarray:
    """Multiplicative receive-coil field: smooth, about ±20%, brightest dorsally."""
    rows, cols = shape
    y = np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    x = np.linspace(-1, 1, cols, dtype=np.float32)[None, :]
    bx, by, bxy, bxx, byy = acquisition.bias
    field = np.exp(bx * x + by * y + bxy * x * y + bxx * x * x + byy * y * y)
    return field * (1 - acquisition.coil_falloff * (y + 1) / 2)


def acquire(signal: np.ndarray, acquisition: Acquisition, rng: np.random.Generator) -> np.ndarray:
    """Magnitude image with blur, bias field and Rician noise, as stored uint16."""
    blurred = gaussian_blur(signal, acquisition.blur_px) * bias_field(signal.shape, acquisition)
    noise = rng.standard_normal((2, *signal.shape), dtype=np.float32) * acquisition.noise
    real, imaginary = blurred + noise[0], noise[1]
    magnitude = np.hypot(real, imaginary) * acquisition.gain
    return np.clip(np.rint(magnitude), 0, MAX_STORED).astype(np.uint16)
