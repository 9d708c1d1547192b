"""A gently curved canine thoracolumbar spine as tissue labels, sampled at any set of points.

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
    CORTEX = 5  # cortical bone, endplates, ligaments: dark on both weightings
    MARROW = 6
    ANNULUS = 7
    NUCLEUS = 8
    CSF = 9
    CORD = 10
    VESSEL = 11  # aorta and caudal vena cava: a flow void
    DEGENERATED_NUCLEUS = 12  # an ageing disc, common in dogs of every class: not a finding
    # Lesion tissues: only lesions paint these, so they are the ground-truth mask.
    EXTRUSION = 13
    BULGE = 14
    OEDEMA = 15
    INFARCT = 16
    SYRINX = 17
    TUMOUR = 18
    TUMOUR_MARROW = 19


LESION_TISSUES = [t for t in Tissue if t >= Tissue.EXTRUSION]

# Relative signal (0..1) per tissue on (T1W, T2W) spin echo, after domain.md: fluid dark
# T1/bright T2, fat bright on both (fast spin echo), healthy nucleus bright T2, a
# degenerated or extruded disc dark on both, marrow intermediate to bright on T1.
SIGNAL = {
    Tissue.AIR: (0.0, 0.0),
    Tissue.FAT: (0.90, 0.74),
    Tissue.SOFT: (0.38, 0.42),
    Tissue.LUNG: (0.03, 0.03),
    Tissue.MUSCLE: (0.30, 0.18),
    Tissue.CORTEX: (0.04, 0.04),
    Tissue.MARROW: (0.64, 0.46),
    Tissue.ANNULUS: (0.20, 0.16),
    Tissue.NUCLEUS: (0.32, 0.90),
    Tissue.CSF: (0.08, 0.95),
    Tissue.CORD: (0.44, 0.36),
    Tissue.VESSEL: (0.03, 0.03),
    Tissue.DEGENERATED_NUCLEUS: (0.17, 0.10),
    Tissue.EXTRUSION: (0.10, 0.06),
    Tissue.BULGE: (0.16, 0.10),
    Tissue.OEDEMA: (0.41, 0.72),
    Tissue.INFARCT: (0.30, 0.86),
    Tissue.SYRINX: (0.08, 0.95),
    Tissue.TUMOUR: (0.26, 0.80),
    Tissue.TUMOUR_MARROW: (0.20, 0.64),
}
# How strongly a tissue's signal varies with the texture field: trabecular marrow,
# striated muscle, heterogeneous viscera and tumour; fluid and bone are uniform.
TEXTURE = {
    Tissue.FAT: 0.05,
    Tissue.SOFT: 0.18,
    Tissue.MUSCLE: 0.10,
    Tissue.MARROW: 0.20,
    Tissue.CORD: 0.03,
    Tissue.TUMOUR: 0.18,
    Tissue.TUMOUR_MARROW: 0.15,
}
WEIGHTINGS = ("T1W", "T2W")
SIGNAL_LUT = {
    weighting: np.array([SIGNAL[t][column] for t in Tissue], dtype=np.float32)
    for column, weighting in enumerate(WEIGHTINGS)
}
TEXTURE_LUT = np.array([TEXTURE.get(t, 0.0) for t in Tissue], dtype=np.float32)


@dataclass(frozen=True)
class Spine:
    """One dog's spine: `scale` 1.0 is a dachshund, about 1.3 a labrador."""

    scale: float
    tilt_degrees: float  # the spine is rarely parallel to the bore on the table
    origin_a_mm: float  # where along the spine the scanner's origin sits
    bend_mm: float = 0.0  # dorsal rise of the gentle thoracolumbar arch at its crest
    bend_crest_a: float = 0.0  # a (mm) of the crest
    degenerated: tuple[str, ...] = ()  # discs (named by the caudal vertebra) that aged
    texture_seed: int = 0  # the dog's own marrow and muscle pattern

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
        return 1.1 * self.scale

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

    def bend(self, a: np.ndarray | float) -> np.ndarray | float:
        """Dorsal offset (mm) of the canal at a: a shallow arch, about 2 mm per 100 mm."""
        reach = 260.0 * self.scale
        return self.bend_mm * np.cos(np.clip((a - self.bend_crest_a) / reach, -1.5, 1.5))

    def _axes(self) -> tuple[np.ndarray, np.ndarray]:
        rotate = rotation_about_x(self.tilt_degrees)
        return rotate @ np.array([0.0, 1.0, 0.0]), rotate @ np.array([0.0, 0.0, -1.0])

    def to_local(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patient coordinates (..., 3) → (u, d, a) in the spine frame, mm."""
        dorsal, caudal = self._axes()
        a = self.origin_a_mm + points @ caudal
        return points[..., 0], points @ dorsal - self.bend(a), a

    def to_patient(self, u: float, d: float, a: float) -> np.ndarray:
        dorsal, caudal = self._axes()
        lifted = d + float(self.bend(a))
        return np.array([u, 0.0, 0.0]) + lifted * dorsal + (a - self.origin_a_mm) * caudal

    def level_at(self, a: float) -> str:
        index = int(np.clip(a // self.period_mm, 0, len(VERTEBRAE) - 1))
        return VERTEBRAE[index]


@dataclass
class CordShape:
    """How lesions deform the cord: shift (mm), CSF ring kept (1) or lost (0)."""

    du: np.ndarray | float = 0.0
    dd: np.ndarray | float = 0.0
    ring: np.ndarray | float = 1.0
    squeeze: np.ndarray | float = 0.0  # 0.4 flattens the cord's dorso-ventral radius by 40%
    swell: np.ndarray | float = 0.0  # 0.3 widens the whole cord by 30% (intramedullary mass)

    def __add__(self, other: "CordShape") -> "CordShape":
        """Two lesions' deformations together (shifts add, ring losses multiply)."""
        return CordShape(
            self.du + other.du,
            self.dd + other.dd,
            self.ring * other.ring,
            self.squeeze + other.squeeze,
            self.swell + other.swell,
        )


class Canvas:
    """Label image of one slice plus the spine-frame coordinates of its pixels."""

    def __init__(self, spine: Spine, points: np.ndarray) -> None:
        self.spine = spine
        # float32 is ample for sub-micrometre positions and halves the cost of painting.
        self.u, self.d, self.a = (c.astype(np.float32) for c in spine.to_local(points))
        self.labels = np.full(self.u.shape, Tissue.AIR, dtype=np.uint8)
        self.owner = np.zeros(self.u.shape, dtype=np.uint8)  # 1 + index of the lesion
        self.painting_lesion = 0
        self.index = np.floor(self.a / spine.period_mm)
        self.along = self.a - self.index * spine.period_mm  # mm into the current period
        self.in_disc = self.along < spine.disc_mm
        self.canal = np.zeros(self.u.shape, dtype=bool)

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
        if self.painting_lesion:
            self.owner[mask] = self.painting_lesion if tissue in LESION_TISSUES else 0

    def disc_at(self, caudal_vertebra: str) -> np.ndarray:
        centre = self.spine.disc_centre_a(caudal_vertebra)
        return np.abs(self.a - centre) < self.spine.disc_mm / 2


def paint_anatomy(canvas: Canvas, cord: CordShape) -> None:
    """Paint the normal spine, outside in, so later structures cover earlier ones."""
    c, sp, s = canvas, canvas.spine, canvas.spine.scale
    cortex, body_d = sp.cortex_mm, sp.body_centre_d
    (canal_ru, canal_rd), (body_ru, body_rd) = sp.canal_radii, sp.body_radii
    thorax = c.index <= LAST_THORACIC
    vertebra = ~c.in_disc
    t = (c.along - sp.disc_mm) / sp.vertebra_mm  # 0..1 along the vertebral body

    # Trunk: skin and subcutaneous fat, the muscular body wall, and inside it the thorax
    # (lungs) or the abdomen (viscera), ventral to the spine.
    c.paint(c.ellipse(0, -30 * s, 44 * s, 62 * s), Tissue.FAT)
    c.paint(c.ellipse(0, -30 * s, 41 * s, 59 * s), Tissue.MUSCLE)
    c.paint(c.ellipse(0, -40 * s, 37 * s, 47 * s), Tissue.SOFT)
    # The diaphragm is a dome: the lungs reach furthest caudally along the spine.
    dome = sp.body_centre_a("T13") + 0.6 * (c.d - body_d) - 0.02 * c.u**2 / s
    for side in (-1, 1):
        lung = (c.a < dome) & c.ellipse(side * 19 * s, body_d - 28 * s, 17 * s, 26 * s)
        c.paint(lung, Tissue.LUNG)
    # Ribs: dark arcs on the flanks of the thorax near each costovertebral joint.
    rib_band = thorax & (np.abs(c.along - 0.4 * sp.disc_mm) < 2.2 * s) & (np.abs(c.u) > 12 * s)
    ribs = c.ellipse(0, body_d - 22 * s, 40 * s, 46 * s) & ~c.ellipse(
        0, body_d - 22 * s, 37 * s, 43 * s
    )
    c.paint(rib_band & ribs & (c.d < body_d + 4 * s), Tissue.CORTEX)
    # Hypaxial muscles (psoas in the loins, longus in the thorax) and the aorta.
    psoas = np.where(thorax, 0.45, 1.0) * s
    for side in (-1, 1):
        c.paint(c.ellipse(side * 7 * s, body_d - 9 * s, 8 * psoas, 6 * psoas), Tissue.MUSCLE)
    c.paint(c.ellipse(-2.5 * s, body_d - body_rd - 6.5 * s, 4.2 * s, 4.2 * s), Tissue.VESSEL)
    # Epaxial muscle groups either side of the spinous processes, outlined by fat planes.
    groups = [(10, 9, 13, 17), (21, 3, 6, 10.5)]  # centre u, d and radii, times scale
    for side in (-1, 1):
        for cu, cd, ru, rd in groups:
            c.paint(c.ellipse(side * cu * s, cd * s, (ru + 0.6) * s, (rd + 0.6) * s), Tissue.FAT)
    for side in (-1, 1):
        for cu, cd, ru, rd in groups:
            c.paint(c.ellipse(side * cu * s, cd * s, ru * s, rd * s), Tissue.MUSCLE)
    # Lumbar transverse processes: thin bony plates sloping ventrolaterally.
    lumbar = (~thorax) & vertebra & (np.abs(t - 0.5) < 0.22)
    slope = body_d + 2 * s - 0.35 * np.maximum(np.abs(c.u) - body_ru, 0)
    bar = (np.abs(c.d - slope) < 0.9 * s) & (np.abs(c.u) < body_ru + 13 * s)
    c.paint(lumbar & bar, Tissue.CORTEX)

    # Neural arch: pedicles and lamina around the canal, open over the discs
    # (interarcuate space), and the spinous process, slanting caudally in the thorax
    # and cranially in the loins.
    arch = vertebra & (np.abs(t - 0.5) < 0.36)
    arch_r = canal_ru + 3.5 * s
    c.paint(arch & c.ellipse(0, 0, arch_r, arch_r) & (c.d > -2 * s), Tissue.CORTEX)
    c.paint(arch & c.ellipse(0, 0, arch_r - cortex, arch_r - cortex) & (c.d > -s), Tissue.MARROW)
    slant = np.where(thorax, 0.45, -0.3)
    height = np.where(thorax, 25.0, 16.0) * s
    sheared = np.mod(c.a - slant * c.d, sp.period_mm)  # follows the process's slant
    lean = sheared - sp.disc_mm - sp.vertebra_mm / 2
    spinous = (np.abs(lean) < 0.13 * sp.vertebra_mm) & (c.d > 0) & (c.d < height)
    c.paint(spinous & (np.abs(c.u) < 1.7 * s), Tissue.CORTEX)
    c.paint(spinous & (np.abs(c.u) < 0.9 * s) & (c.d < height - s), Tissue.MARROW)
    # Articular processes meet over each disc, dorsolateral to the canal.
    facet_band = np.abs(c.along - 0.5 * sp.disc_mm) < 3.2 * s
    for side in (-1, 1):
        facet = facet_band & c.ellipse(side * (canal_ru + 2 * s), 2.5 * s, 2.6 * s, 2.6 * s)
        c.paint(facet, Tissue.CORTEX)
        c.paint(
            facet & c.ellipse(side * (canal_ru + 2 * s), 2.5 * s, 1.5 * s, 1.5 * s), Tissue.MARROW
        )
    c.paint(c.ellipse(0, 0, canal_ru + cortex, canal_rd + cortex), Tissue.CORTEX)

    # Vertebral body: cortex and endplates around textured marrow, slightly waisted.
    waist = 0.93 + 0.07 * (2 * t - 1) ** 2
    body_shape = ((c.u / body_ru) ** 2 + ((c.d - body_d) / body_rd) ** 2) / waist**2
    body = body_shape <= (1 + cortex / body_rd) ** 2
    c.paint(body & vertebra, Tissue.CORTEX)
    endplate = (c.along > sp.disc_mm + cortex) & (c.along < sp.period_mm - cortex)
    c.paint((body_shape <= 1) & endplate, Tissue.MARROW)
    # Disc: annulus around a nucleus that sits a little dorsal of the disc's centre.
    disc = c.ellipse(0, body_d, body_ru + cortex, body_rd + cortex) & c.in_disc
    c.paint(disc, Tissue.ANNULUS)
    core = np.abs(c.along - sp.disc_mm / 2) < 0.33 * sp.disc_mm
    nucleus = disc & core & c.ellipse(0, body_d + s, 0.6 * body_ru, 0.5 * body_rd)
    c.paint(nucleus, Tissue.NUCLEUS)
    for name in sp.degenerated:
        c.paint(nucleus & c.disc_at(name), Tissue.DEGENERATED_NUCLEUS)
    # Dorsal longitudinal ligament: a dark line along the floor of the canal.
    c.paint(c.ellipse(0, -canal_rd, 3.0 * s, 0.7 * s) & c.in_disc, Tissue.CORTEX)

    # Canal: epidural fat (more of it dorsally), the CSF ring and the cord.
    c.canal = c.ellipse(0, 0, canal_ru, canal_rd)
    c.paint(c.canal, Tissue.FAT)
    swell = 1 + np.asarray(cord.swell)
    cord_ru = sp.cord_radii[0] * swell
    cord_rd = sp.cord_radii[1] * swell * (1 - np.asarray(cord.squeeze))
    dd = np.asarray(cord.dd) - 0.2 * s  # a rim of epidural fat ventrally, more dorsally
    csf = np.asarray(cord.ring) * sp.csf_mm
    c.paint(c.ellipse(cord.du, dd, cord_ru + csf, cord_rd + csf) & c.canal, Tissue.CSF)
    c.paint(c.ellipse(cord.du, dd, cord_ru, cord_rd) & c.canal, Tissue.CORD)
