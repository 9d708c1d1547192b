"""A straight canine thoracolumbar spine as tissue labels, sampled at any set of points.

Everything is in the spine's own frame, in mm: u to the dog's left, d dorsal (0 at the
centre of the vertebral canal), a along the spine towards the tail (0 at the T1 disc).
Vertebrae repeat every `period_mm`; a disc sits at the cranial end of each period.
"""

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from annotator.synth.geometry import rotation_about_x

VERTEBRAE = [f"T{n}" for n in range(1, 14)] + [f"L{n}" for n in range(1, 8)]
LAST_THORACIC = VERTEBRAE.index("T13")


class Tissue(IntEnum):
    AIR = 0
    FAT = 1  # subcutaneous and epidural
    SOFT = 2  # abdominal viscera
    LUNG = 3
    MUSCLE = 4
    CORTEX = 5
    MARROW = 6
    ANNULUS = 7
    NUCLEUS = 8
    CSF = 9
    CORD = 10
    # Lesion tissues: only lesions paint these, so they are the ground-truth mask.
    EXTRUSION = 11
    DEGENERATED_NUCLEUS = 12
    BULGE = 13
    OEDEMA = 14
    INFARCT = 15
    SYRINX = 16
    TUMOUR = 17
    TUMOUR_MARROW = 18


LESION_TISSUES = [t for t in Tissue if t >= Tissue.EXTRUSION]

# Relative signal (0..1) per tissue on (T1W, T2W) spin echo, after domain.md: fluid dark
# T1/bright T2, fat bright on both (fast spin echo), healthy nucleus bright T2, a
# degenerated or extruded disc dark on both, marrow intermediate to bright on T1.
SIGNAL = {
    Tissue.AIR: (0.0, 0.0),
    Tissue.FAT: (0.85, 0.70),
    Tissue.SOFT: (0.40, 0.45),
    Tissue.LUNG: (0.04, 0.05),
    Tissue.MUSCLE: (0.32, 0.22),
    Tissue.CORTEX: (0.05, 0.05),
    Tissue.MARROW: (0.62, 0.45),
    Tissue.ANNULUS: (0.22, 0.18),
    Tissue.NUCLEUS: (0.36, 0.88),
    Tissue.CSF: (0.10, 0.95),
    Tissue.CORD: (0.45, 0.38),
    Tissue.EXTRUSION: (0.12, 0.07),
    Tissue.DEGENERATED_NUCLEUS: (0.16, 0.10),
    Tissue.BULGE: (0.18, 0.12),
    Tissue.OEDEMA: (0.42, 0.72),
    Tissue.INFARCT: (0.32, 0.88),
    Tissue.SYRINX: (0.10, 0.95),
    Tissue.TUMOUR: (0.30, 0.62),
    Tissue.TUMOUR_MARROW: (0.18, 0.58),
}
WEIGHTINGS = ("T1W", "T2W")
SIGNAL_LUT = {
    weighting: np.array([SIGNAL[t][column] for t in Tissue], dtype=np.float32)
    for column, weighting in enumerate(WEIGHTINGS)
}


@dataclass(frozen=True)
class Spine:
    """One dog's spine: `scale` 1.0 is a dachshund, about 1.3 a labrador."""

    scale: float
    tilt_degrees: float  # the spine is rarely parallel to the bore on the table
    origin_a_mm: float  # where along the spine the scanner's origin sits

    @property
    def vertebra_mm(self) -> float:
        return 14.0 * self.scale

    @property
    def disc_mm(self) -> float:
        return 3.0 * self.scale

    @property
    def period_mm(self) -> float:
        return self.vertebra_mm + self.disc_mm

    # Cross-section (lateral, dorso-ventral radii in mm). The canal is drawn on the
    # generous side of real dogs so that a 3 mm lesion still covers a few pixels.
    @property
    def canal_radii(self) -> tuple[float, float]:
        return 5.5 * self.scale, 5.0 * self.scale

    @property
    def cord_radii(self) -> tuple[float, float]:
        return 3.3 * self.scale, 2.8 * self.scale

    @property
    def csf_mm(self) -> float:
        return 1.1 * self.scale

    @property
    def cortex_mm(self) -> float:
        return 1.4 * self.scale  # thick enough to show as a dark line at ~1 mm pixels

    @property
    def body_radii(self) -> tuple[float, float]:
        return 8.0 * self.scale, 6.5 * self.scale

    @property
    def body_centre_d(self) -> float:
        return -(self.canal_radii[1] + self.cortex_mm + self.body_radii[1])

    def disc_centre_a(self, caudal_vertebra: str) -> float:
        """a (mm) of the disc cranial to `caudal_vertebra`, e.g. "L1" for T13-L1."""
        return VERTEBRAE.index(caudal_vertebra) * self.period_mm + self.disc_mm / 2

    def body_centre_a(self, vertebra: str) -> float:
        return VERTEBRAE.index(vertebra) * self.period_mm + self.disc_mm + self.vertebra_mm / 2

    def _axes(self) -> tuple[np.ndarray, np.ndarray]:
        rotate = rotation_about_x(self.tilt_degrees)
        return rotate @ np.array([0.0, 1.0, 0.0]), rotate @ np.array([0.0, 0.0, -1.0])

    def to_local(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patient coordinates (..., 3) → (u, d, a) in the spine frame, mm."""
        dorsal, caudal = self._axes()
        return points[..., 0], points @ dorsal, self.origin_a_mm + points @ caudal

    def to_patient(self, u: float, d: float, a: float) -> np.ndarray:
        dorsal, caudal = self._axes()
        return np.array([u, 0.0, 0.0]) + d * dorsal + (a - self.origin_a_mm) * caudal

    def level_at(self, a: float) -> str:
        index = int(np.clip(a // self.period_mm, 0, len(VERTEBRAE) - 1))
        return VERTEBRAE[index]


@dataclass
class CordShape:
    """How a lesion deforms the cord: shift (mm), CSF ring kept (1) or lost (0)."""

    du: np.ndarray | float = 0.0
    dd: np.ndarray | float = 0.0
    ring: np.ndarray | float = 1.0
    squeeze: np.ndarray | float = 0.0  # 0.4 flattens the cord's dorso-ventral radius by 40%
    swell: np.ndarray | float = 0.0  # 0.3 widens the whole cord by 30% (intramedullary mass)


class Canvas:
    """Label image of one slice plus the spine-frame coordinates of its pixels."""

    def __init__(self, spine: Spine, points: np.ndarray) -> None:
        self.spine = spine
        # float32 is ample for sub-micrometre positions and halves the cost of painting.
        self.u, self.d, self.a = (c.astype(np.float32) for c in spine.to_local(points))
        self.labels = np.full(self.u.shape, Tissue.AIR, dtype=np.uint8)
        self.index = np.floor(self.a / spine.period_mm)
        self.along = self.a - self.index * spine.period_mm  # mm into the current period
        self.in_disc = self.along < spine.disc_mm

    def ellipse(self, cu: float, cd: float, ru: float, rd: float) -> np.ndarray:
        return ((self.u - cu) / ru) ** 2 + ((self.d - cd) / rd) ** 2 <= 1.0

    def ellipsoid(
        self, centre: tuple[float, float, float], radii: tuple[float, float, float]
    ) -> np.ndarray:
        (cu, cd, ca), (ru, rd, ra) = centre, radii
        return ((self.u - cu) / ru) ** 2 + ((self.d - cd) / rd) ** 2 + (
            (self.a - ca) / ra
        ) ** 2 <= 1.0

    def paint(self, mask: np.ndarray, tissue: Tissue) -> None:
        self.labels[mask] = tissue


def paint_anatomy(canvas: Canvas, cord: CordShape) -> None:
    """Paint the normal spine, back to front, so later structures cover earlier ones."""
    c, sp, s = canvas, canvas.spine, canvas.spine.scale
    cortex, body_d = sp.cortex_mm, sp.body_centre_d
    (canal_ru, canal_rd), (body_ru, body_rd) = sp.canal_radii, sp.body_radii
    c.paint(c.ellipse(0, -25 * s, 44 * s, 56 * s), Tissue.FAT)
    c.paint(c.ellipse(0, -25 * s, 41 * s, 53 * s), Tissue.SOFT)
    thorax = c.index <= LAST_THORACIC
    for side in (-1, 1):
        c.paint(thorax & c.ellipse(side * 18 * s, body_d - 26 * s, 16 * s, 24 * s), Tissue.LUNG)
    c.paint(c.ellipse(0, body_d - 11 * s, 14 * s, 6 * s), Tissue.MUSCLE)  # hypaxial
    for side in (-1, 1):
        c.paint(c.ellipse(side * 13 * s, 7 * s, 11 * s, 15 * s), Tissue.MUSCLE)  # epaxial

    vertebra = ~c.in_disc
    mid = np.abs(c.along - sp.disc_mm - sp.vertebra_mm / 2)
    arch = vertebra & (mid < 0.35 * sp.vertebra_mm)  # open interarcuate space over discs
    arch_r = canal_ru + 3.5 * s
    c.paint(arch & c.ellipse(0, 0, arch_r, arch_r) & (c.d > -2 * s), Tissue.CORTEX)
    c.paint(arch & c.ellipse(0, 0, arch_r - cortex, arch_r - cortex) & (c.d > -s), Tissue.MARROW)
    spinous = vertebra & (mid < 0.12 * sp.vertebra_mm) & (c.d > 0) & (c.d < 24 * s)
    c.paint(spinous & (np.abs(c.u) < 1.6 * s), Tissue.CORTEX)
    c.paint(spinous & (np.abs(c.u) < 0.8 * s) & (c.d < 23 * s), Tissue.MARROW)
    c.paint(c.ellipse(0, 0, canal_ru + cortex, canal_rd + cortex), Tissue.CORTEX)

    body = c.ellipse(0, body_d, body_ru + cortex, body_rd + cortex)
    c.paint(body & vertebra, Tissue.CORTEX)
    endplate = (c.along > sp.disc_mm + cortex) & (c.along < sp.period_mm - cortex)
    c.paint(c.ellipse(0, body_d, body_ru, body_rd) & endplate, Tissue.MARROW)
    c.paint(body & c.in_disc, Tissue.ANNULUS)
    core = np.abs(c.along - sp.disc_mm / 2) < 0.35 * sp.disc_mm
    c.paint(
        c.in_disc & core & c.ellipse(0, body_d + s, 0.6 * body_ru, 0.5 * body_rd), Tissue.NUCLEUS
    )

    c.paint(c.ellipse(0, 0, canal_ru, canal_rd), Tissue.FAT)  # epidural fat fills the canal
    swell = 1 + np.asarray(cord.swell)
    cord_ru = sp.cord_radii[0] * swell
    cord_rd = sp.cord_radii[1] * swell * (1 - np.asarray(cord.squeeze))
    csf = np.asarray(cord.ring) * sp.csf_mm
    c.paint(c.ellipse(cord.du, cord.dd, cord_ru + csf, cord_rd + csf), Tissue.CSF)
    c.paint(c.ellipse(cord.du, cord.dd, cord_ru, cord_rd), Tissue.CORD)
