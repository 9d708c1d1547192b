"""The five abnormal findings, each painted into a Canvas the way domain.md describes it.

A lesion tells the spine how it deforms the cord (`cord_shape`, applied while the canal
is painted) and then paints its own lesion tissues (`paint`). Only lesion tissues count
towards the ground truth, so a slice is abnormal exactly where it cuts the lesion.
Sizes are in mm and scale with the dog.
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from annotator.synth.anatomy import VERTEBRAE, Canvas, CordShape, Spine, Tissue
from annotator.synth.findings import (
    FCE_ANNPE,
    IVDE,
    IVDP,
    NEOPLASIA,
    SYRINGOMYELIA,
    weighted_choice,
)


class Lesion(Protocol):
    finding: str
    centre_a: float  # mm along the spine; the sagittal field of view and a block aim here

    def cord_shape(self, canvas: Canvas) -> CordShape: ...

    def paint(self, canvas: Canvas) -> None: ...


def _window(a: np.ndarray, centre: float, half_length: float) -> np.ndarray:
    """1 at the lesion centre falling to 0 at ± half_length (mm along the spine)."""
    return np.clip(1 - ((a - centre) / half_length) ** 2, 0, 1)


def _degenerate_disc(canvas: Canvas, centre_a: float) -> None:
    """The disc at centre_a loses its T2-bright nucleus (dark on both weightings)."""
    disc = np.abs(canvas.a - centre_a) < canvas.spine.disc_mm / 2
    canvas.paint(disc & (canvas.labels == Tissue.NUCLEUS), Tissue.DEGENERATED_NUCLEUS)


@dataclass(frozen=True)
class DiscExtrusion:
    """IVDE: dark extruded nucleus in the ventral canal, lateralised, cord pushed away."""

    centre_a: float
    side: int  # +1 the dog's left, -1 its right
    lateral_mm: float
    length_mm: float
    oedema: bool
    finding: str = IVDE

    def cord_shape(self, canvas: Canvas) -> CordShape:
        g = _window(canvas.a, self.centre_a, 0.6 * self.length_mm)
        s = canvas.spine.scale
        return CordShape(du=-self.side * 1.2 * s * g, dd=1.6 * s * g, ring=1 - g, squeeze=0.35 * g)

    def paint(self, canvas: Canvas) -> None:
        s = canvas.spine.scale
        _degenerate_disc(canvas, self.centre_a)
        canal = canvas.ellipse(0, 0, *canvas.spine.canal_radii)
        material = canvas.ellipsoid(
            (self.side * self.lateral_mm, -2.5 * s, self.centre_a),
            (3.4 * s, 2.4 * s, self.length_mm / 2),
        )
        canvas.paint(canal & material, Tissue.EXTRUSION)
        if self.oedema:
            cranial = self.centre_a - 0.5 * canvas.spine.period_mm
            swelling = canvas.ellipsoid((0, 0.3 * s, cranial), (1.7 * s, 1.5 * s, 4 * s))
            canvas.paint(swelling & (canvas.labels == Tissue.CORD), Tissue.OEDEMA)


@dataclass(frozen=True)
class DiscProtrusion:
    """IVDP: smooth midline dome of a degenerated disc, within the disc space."""

    centre_a: float
    height: float  # 1.0 is a moderate bulge
    also_a: float | None  # a second, smaller protrusion: IVDP is often multiple
    finding: str = IVDP

    def _discs(self) -> list[tuple[float, float]]:
        discs = [(self.centre_a, self.height)]
        if self.also_a is not None:
            discs.append((self.also_a, 0.6 * self.height))
        return discs

    def cord_shape(self, canvas: Canvas) -> CordShape:
        s, half = canvas.spine.scale, canvas.spine.disc_mm
        g = sum(h * _window(canvas.a, a, 1.2 * half + s) for a, h in self._discs())
        return CordShape(dd=1.1 * s * g, ring=1 - 0.6 * np.clip(g, 0, 1), squeeze=0.2 * g)

    def paint(self, canvas: Canvas) -> None:
        sp, s, half = canvas.spine, canvas.spine.scale, canvas.spine.disc_mm / 2
        floor = -(sp.canal_radii[1] + sp.cortex_mm)  # the dorsal annulus, under the canal
        canal = canvas.ellipse(0, 0, *sp.canal_radii)
        for a, h in self._discs():
            _degenerate_disc(canvas, a)
            # The dorsal annulus lifts the ligament a little beyond the endplates, no further.
            dome = canvas.ellipsoid((0, floor, a), (4.5 * s, sp.cortex_mm + 3 * s * h, half + s))
            annulus = canvas.labels == Tissue.ANNULUS
            canvas.paint(dome & (canal | annulus) & (canvas.d > floor - 0.5 * s), Tissue.BULGE)


@dataclass(frozen=True)
class CordInfarct:
    """FCE/ANNPE: sharp, eccentric, intramedullary T2-bright focus; nothing compressed."""

    centre_a: float
    side: int
    length_mm: float
    over_disc: bool  # ANNPE sits over a narrowed disc, FCE over a vertebral body
    finding: str = FCE_ANNPE

    def cord_shape(self, canvas: Canvas) -> CordShape:
        return CordShape()

    def paint(self, canvas: Canvas) -> None:
        s, sp = canvas.spine.scale, canvas.spine
        if self.over_disc:
            # Narrowed disc space: sclerotic endplates encroach from both sides.
            disc = np.abs(canvas.a - self.centre_a) < sp.disc_mm / 2
            rim = np.abs(canvas.a - self.centre_a) > 0.25 * sp.disc_mm
            bony = np.isin(canvas.labels, [Tissue.ANNULUS, Tissue.NUCLEUS])
            canvas.paint(disc & rim & bony, Tissue.CORTEX)
        focus = canvas.ellipsoid(
            (self.side * 1.1 * s, -0.4 * s, self.centre_a), (1.9 * s, 1.7 * s, self.length_mm / 2)
        )
        canvas.paint(focus & (canvas.labels == Tissue.CORD), Tissue.INFARCT)


@dataclass(frozen=True)
class Syrinx:
    """Syringomyelia: a central, slightly dorsal, beaded fluid tube inside the cord."""

    centre_a: float
    length_mm: float
    finding: str = SYRINGOMYELIA

    def cord_shape(self, canvas: Canvas) -> CordShape:
        g = _window(canvas.a, self.centre_a, self.length_mm / 2)
        return CordShape(swell=0.08 * g)

    def paint(self, canvas: Canvas) -> None:
        s = canvas.spine.scale
        along = np.clip(1 - ((canvas.a - self.centre_a) / (self.length_mm / 2)) ** 2, 0, 1)
        beads = 0.82 + 0.18 * np.cos(2 * np.pi * (canvas.a - self.centre_a) / (9 * s))
        radius = np.sqrt(along) ** 0.5 * beads  # blunt ends, not pointed ones
        inside = (canvas.u / (2.0 * s)) ** 2 + ((canvas.d - 0.35 * s) / (1.6 * s)) ** 2
        cavity = (radius > 0) & (inside <= radius**2)
        canvas.paint(cavity & (canvas.labels == Tissue.CORD), Tissue.SYRINX)


@dataclass(frozen=True)
class Tumour:
    """Neoplasia: extradural from a vertebra, intradural-extramedullary, or intramedullary."""

    centre_a: float
    side: int
    site: str  # "extradural" | "intradural" | "intramedullary"
    finding: str = NEOPLASIA

    def cord_shape(self, canvas: Canvas) -> CordShape:
        s, v = canvas.spine.scale, canvas.spine.vertebra_mm
        g = _window(canvas.a, self.centre_a, 0.5 * v)
        if self.site == "extradural":
            return CordShape(
                du=-self.side * 1.5 * s * g, dd=1.5 * s * g, ring=1 - g, squeeze=0.3 * g
            )
        if self.site == "intradural":
            # Cord pushed away; CSF widens into a "golf tee" cap just beyond the mass.
            cap = _window(canvas.a, self.centre_a, 0.7 * v) - g
            return CordShape(du=-self.side * 1.6 * s * g, ring=1 + 1.2 * cap, squeeze=0.2 * g)
        return CordShape(swell=0.3 * g, ring=1 - g)

    def paint(self, canvas: Canvas) -> None:
        s, v = canvas.spine.scale, canvas.spine.vertebra_mm
        canal = canvas.ellipse(0, 0, *canvas.spine.canal_radii)
        if self.site == "extradural":
            in_body = np.abs(canvas.a - self.centre_a) < v / 2
            canvas.paint(in_body & (canvas.labels == Tissue.MARROW), Tissue.TUMOUR_MARROW)
            centre = (self.side * 2.5 * s, -3.6 * s, self.centre_a)
            canvas.paint(canvas.ellipsoid(centre, (4.3 * s, 3.6 * s, 0.4 * v)), Tissue.TUMOUR)
        elif self.site == "intradural":
            mass = canvas.ellipsoid(
                (self.side * 2.9 * s, 0, self.centre_a), (2.3 * s, 2.9 * s, 0.35 * v)
            )
            canvas.paint(mass & canal, Tissue.TUMOUR)
        else:
            mass = canvas.ellipsoid((0, 0, self.centre_a), (3.1 * s, 2.7 * s, 0.8 * v))
            canvas.paint(mass & (canvas.labels == Tissue.CORD), Tissue.TUMOUR)


def _one_of(rng: np.random.Generator, *levels: str) -> str:
    return str(rng.choice(levels))


def draw_lesion(finding: str, spine: Spine, rng: np.random.Generator) -> Lesion | None:
    """A lesion of `finding` at a clinically typical level, or None when unremarkable.

    Discs are named by the vertebra caudal to them: "L1" is the T13-L1 disc.
    """
    s, side = spine.scale, int(rng.choice([-1, 1]))
    if finding == IVDE:
        weights = {"T11": 0.05, "T12": 0.15, "T13": 0.2, "L1": 0.2, "L2": 0.17, "L3": 0.13}
        disc = weighted_choice(rng, weights | {"L4": 0.1})  # 85% between T11-T12 and L2-L3
        return DiscExtrusion(
            centre_a=spine.disc_centre_a(disc) + float(rng.uniform(-1, 3)) * s,
            side=side,
            lateral_mm=float(rng.uniform(1.0, 2.5)) * s,
            length_mm=float(rng.uniform(6, 13)) * s,
            oedema=bool(rng.random() < 0.4),
        )
    if finding == IVDP:
        disc = _one_of(rng, "T12", "T13", "L1", "L2", "L3", "L4", "L5")
        also = VERTEBRAE[VERTEBRAE.index(disc) + 1]
        return DiscProtrusion(
            centre_a=spine.disc_centre_a(disc),
            height=float(rng.uniform(0.8, 1.2)),
            also_a=spine.disc_centre_a(also) if rng.random() < 0.5 else None,
        )
    if finding == FCE_ANNPE:
        if rng.random() < 0.5:  # ANNPE: short, over a T12-L2 disc
            a = spine.disc_centre_a(_one_of(rng, "T13", "L1", "L2"))
            return CordInfarct(a, side, float(rng.uniform(6, 9)) * s, over_disc=True)
        a = spine.body_centre_a(_one_of(rng, "T10", "T11", "T12", "T13", "L1", "L2", "L3"))
        return CordInfarct(a, side, float(rng.uniform(10, 22)) * s, over_disc=False)
    if finding == SYRINGOMYELIA:
        vertebra = _one_of(rng, "T11", "T12", "T13", "L1", "L2")
        length = float(rng.uniform(1.0, 2.5)) * spine.period_mm
        return Syrinx(centre_a=spine.body_centre_a(vertebra), length_mm=length)
    if finding == NEOPLASIA:
        vertebra = _one_of(rng, "T10", "T11", "T12", "T13", "L1", "L2", "L3", "L4")
        site = weighted_choice(rng, {"extradural": 0.5, "intradural": 0.33, "intramedullary": 0.17})
        return Tumour(centre_a=spine.body_centre_a(vertebra), side=side, site=site)
    return None
