"""The five abnormal findings, each painted into a Canvas the way domain.md describes it.

A lesion tells the spine how it deforms the cord (`cord_shape`, applied while the canal
is painted) and then paints its own lesion tissues (`paint`). Only lesion tissues count
towards the ground truth, so a slice is abnormal only where it cuts a lesion. Sizes are
in mm and scale with the dog; `reach` bounds where along the spine a lesion changes
anything, so slices far from every lesion are drawn once.
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

    @property
    def reach(self) -> tuple[float, float]: ...

    @property
    def discs(self) -> tuple[str, ...]: ...

    def cord_shape(self, canvas: Canvas) -> CordShape: ...

    def paint(self, canvas: Canvas) -> None: ...


def _window(a: np.ndarray, centre: float, half_length: float) -> np.ndarray:
    """1 at the lesion centre falling to 0 at ± half_length (mm along the spine)."""
    return np.clip(1 - ((a - centre) / half_length) ** 2, 0, 1)


@dataclass(frozen=True)
class DiscExtrusion:
    """IVDE: dark extruded nucleus in the ventral canal, lateralised, cord pushed away."""

    disc: str
    centre_a: float
    side: int  # +1 the dog's left, -1 its right
    lateral_mm: float
    length_mm: float  # long ones are dispersed over part of the vertebral body
    thickness: float  # 1.0 fills about half the canal's height
    oedema: bool
    finding: str = IVDE

    @property
    def reach(self) -> tuple[float, float]:
        half = max(0.6 * self.length_mm, self.length_mm / 2) + 30
        return self.centre_a - half, self.centre_a + half

    @property
    def discs(self) -> tuple[str, ...]:
        return (self.disc,)

    def cord_shape(self, canvas: Canvas) -> CordShape:
        g = _window(canvas.a, self.centre_a, 0.6 * self.length_mm) * self.thickness
        s = canvas.spine.scale
        return CordShape(
            du=-self.side * 1.2 * s * g, dd=1.6 * s * g, ring=1 - np.clip(g, 0, 1), squeeze=0.3 * g
        )

    def paint(self, canvas: Canvas) -> None:
        s = canvas.spine.scale
        material = canvas.ellipsoid(
            (self.side * self.lateral_mm, -2.6 * s, self.centre_a),
            (3.4 * s, 2.4 * s * self.thickness, self.length_mm / 2),
        )
        canvas.paint(canvas.canal & material, Tissue.EXTRUSION)
        if self.oedema:
            cranial = self.centre_a - 0.5 * canvas.spine.period_mm
            swelling = canvas.ellipsoid((0, 0.2 * s, cranial), (1.7 * s, 1.5 * s, 5 * s))
            canvas.paint(swelling & (canvas.labels == Tissue.CORD), Tissue.OEDEMA)


@dataclass(frozen=True)
class DiscProtrusion:
    """IVDP: smooth midline dome of a degenerated disc, within the disc space."""

    names: tuple[str, ...]  # IVDP is often multiple
    centres_a: tuple[float, ...]
    heights: tuple[float, ...]  # 1.0 is a moderate bulge
    finding: str = IVDP

    @property
    def centre_a(self) -> float:
        return self.centres_a[0]

    @property
    def reach(self) -> tuple[float, float]:
        return min(self.centres_a) - 25, max(self.centres_a) + 25

    @property
    def discs(self) -> tuple[str, ...]:
        return self.names

    def cord_shape(self, canvas: Canvas) -> CordShape:
        s, half = canvas.spine.scale, canvas.spine.disc_mm
        g = sum(
            h * _window(canvas.a, a, 1.2 * half + s)
            for a, h in zip(self.centres_a, self.heights, strict=True)
        )
        return CordShape(dd=1.1 * s * g, ring=1 - 0.6 * np.clip(g, 0, 1), squeeze=0.2 * g)

    def paint(self, canvas: Canvas) -> None:
        sp, s, half = canvas.spine, canvas.spine.scale, canvas.spine.disc_mm / 2
        floor = -(sp.canal_radii[1] + sp.cortex_mm)  # the dorsal annulus, under the canal
        for a, h in zip(self.centres_a, self.heights, strict=True):
            # The dorsal annulus lifts the ligament a little beyond the endplates, no further.
            dome = canvas.ellipsoid((0, floor, a), (4.5 * s, sp.cortex_mm + 3 * s * h, half + s))
            # The dark ligament stays over the dome, as dark as the dome on both weightings.
            inside = (canvas.canal | (canvas.labels == Tissue.ANNULUS)) & (
                canvas.labels != Tissue.CORTEX
            )
            canvas.paint(dome & inside & (canvas.d > floor - 0.5 * s), Tissue.BULGE)


@dataclass(frozen=True)
class CordInfarct:
    """FCE/ANNPE: sharp, eccentric, intramedullary T2-bright focus; nothing compressed."""

    centre_a: float
    side: int
    length_mm: float
    over_disc: str  # ANNPE sits over a narrowed disc (named here), FCE over a body ("")
    finding: str = FCE_ANNPE

    @property
    def reach(self) -> tuple[float, float]:
        return self.centre_a - self.length_mm - 10, self.centre_a + self.length_mm + 10

    @property
    def discs(self) -> tuple[str, ...]:
        return (self.over_disc,) if self.over_disc else ()

    def cord_shape(self, canvas: Canvas) -> CordShape:
        return CordShape()

    def paint(self, canvas: Canvas) -> None:
        s, sp = canvas.spine.scale, canvas.spine
        if self.over_disc:
            # Narrowed disc space: sclerotic endplates encroach from both sides.
            disc = canvas.disc_at(self.over_disc)
            rim = np.abs(canvas.a - sp.disc_centre_a(self.over_disc)) > 0.25 * sp.disc_mm
            bony = np.isin(canvas.labels, [Tissue.ANNULUS, Tissue.DEGENERATED_NUCLEUS])
            canvas.paint(disc & rim & bony, Tissue.CORTEX)
        focus = canvas.ellipsoid(
            (self.side * 1.1 * s, -0.5 * s, self.centre_a), (1.9 * s, 1.7 * s, self.length_mm / 2)
        )
        canvas.paint(focus & (canvas.labels == Tissue.CORD), Tissue.INFARCT)


@dataclass(frozen=True)
class Syrinx:
    """Syringomyelia: a central, slightly dorsal, beaded fluid tube inside the cord."""

    centre_a: float
    length_mm: float
    finding: str = SYRINGOMYELIA

    @property
    def reach(self) -> tuple[float, float]:
        return self.centre_a - self.length_mm, self.centre_a + self.length_mm

    @property
    def discs(self) -> tuple[str, ...]:
        return ()

    def cord_shape(self, canvas: Canvas) -> CordShape:
        g = _window(canvas.a, self.centre_a, self.length_mm / 2)
        return CordShape(swell=0.08 * g)

    def paint(self, canvas: Canvas) -> None:
        s = canvas.spine.scale
        along = np.clip(1 - ((canvas.a - self.centre_a) / (self.length_mm / 2)) ** 2, 0, 1)
        beads = 0.82 + 0.18 * np.cos(2 * np.pi * (canvas.a - self.centre_a) / (9 * s))
        radius = np.sqrt(along) ** 0.5 * beads  # blunt ends, not pointed ones
        inside = (canvas.u / (2.3 * s)) ** 2 + ((canvas.d - 0.2 * s) / (1.8 * s)) ** 2
        cavity = (radius > 0) & (inside <= radius**2)
        canvas.paint(cavity & (canvas.labels == Tissue.CORD), Tissue.SYRINX)


@dataclass(frozen=True)
class Tumour:
    """Neoplasia: extradural from a vertebra, intradural-extramedullary, or intramedullary."""

    centre_a: float
    side: int
    site: str  # "extradural" | "intradural" | "intramedullary"
    size: float  # 1.0 a typical mass
    finding: str = NEOPLASIA

    @property
    def reach(self) -> tuple[float, float]:
        return self.centre_a - 45 * self.size, self.centre_a + 45 * self.size

    @property
    def discs(self) -> tuple[str, ...]:
        return ()

    def cord_shape(self, canvas: Canvas) -> CordShape:
        s, v = canvas.spine.scale * self.size, canvas.spine.vertebra_mm * self.size
        g = _window(canvas.a, self.centre_a, 0.55 * v)
        if self.site == "extradural":
            return CordShape(
                du=-self.side * 1.2 * s * g, dd=1.6 * s * g, ring=1 - g, squeeze=0.35 * g
            )
        if self.site == "intradural":
            # Cord pushed away; CSF widens into a "golf tee" cap just beyond the mass.
            cap = _window(canvas.a, self.centre_a, 0.75 * v) - g
            return CordShape(du=-self.side * 1.6 * s * g, ring=1 + 1.2 * cap, squeeze=0.2 * g)
        return CordShape(swell=0.3 * g, ring=1 - g)

    def paint(self, canvas: Canvas) -> None:
        s, v = canvas.spine.scale * self.size, canvas.spine.vertebra_mm * self.size
        if self.site == "extradural":
            # A lytic vertebral mass: dark marrow on T1W and a soft-tissue mass that bulges
            # from the body's dorsal margin into the ventral canal.
            centre = (self.side * 2.0 * s, -5.0 * s, self.centre_a)
            lytic = canvas.ellipsoid(centre, (7 * s, 7.5 * s, 0.45 * v))
            canvas.paint(lytic & (canvas.labels == Tissue.MARROW), Tissue.TUMOUR_MARROW)
            mass = canvas.ellipsoid(centre, (5.0 * s, 4.6 * s, 0.4 * v))
            canvas.paint(mass & (canvas.d > -canvas.spine.canal_radii[1] - 3.5 * s), Tissue.TUMOUR)
        elif self.site == "intradural":
            mass = canvas.ellipsoid(
                (self.side * 2.9 * s, 0.0, self.centre_a), (2.4 * s, 3.0 * s, 0.38 * v)
            )
            canvas.paint(mass & canvas.canal, Tissue.TUMOUR)
        else:
            mass = canvas.ellipsoid((0, -0.2 * s, self.centre_a), (3.0 * s, 2.6 * s, 0.8 * v))
            canvas.paint(mass & (canvas.labels == Tissue.CORD), Tissue.TUMOUR)


def _one_of(rng: np.random.Generator, *levels: str) -> str:
    return str(rng.choice(levels))


def draw_lesion(finding: str, spine: Spine, rng: np.random.Generator) -> Lesion:
    """A lesion of `finding` at a clinically typical level.

    Discs are named by the vertebra caudal to them: "L1" is the T13-L1 disc.
    """
    s, side = spine.scale, int(rng.choice([-1, 1]))
    if finding == IVDE:
        weights = {"T11": 0.05, "T12": 0.15, "T13": 0.2, "L1": 0.2, "L2": 0.17, "L3": 0.13}
        disc = weighted_choice(rng, weights | {"L4": 0.1})  # 85% between T11-T12 and L2-L3
        return DiscExtrusion(
            disc=disc,
            centre_a=spine.disc_centre_a(disc) + float(rng.uniform(-1, 3)) * s,
            side=side,
            lateral_mm=float(rng.uniform(0.8, 2.5)) * s,
            length_mm=float(rng.uniform(6, 16)) * s,
            thickness=float(rng.uniform(0.75, 1.2)),
            oedema=bool(rng.random() < 0.4),
        )
    if finding == IVDP:
        first = VERTEBRAE.index(_one_of(rng, "T12", "T13", "L1", "L2", "L3", "L4", "L5"))
        count = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
        names = tuple(VERTEBRAE[first + k] for k in range(count))
        return DiscProtrusion(
            names=names,
            centres_a=tuple(spine.disc_centre_a(n) for n in names),
            heights=tuple(float(rng.uniform(0.7, 1.2)) for _ in names),
        )
    if finding == FCE_ANNPE:
        if rng.random() < 0.5:  # ANNPE: short, over a T12-L2 disc
            disc = _one_of(rng, "T13", "L1", "L2")
            length = float(rng.uniform(6, 10)) * s
            return CordInfarct(spine.disc_centre_a(disc), side, length, over_disc=disc)
        a = spine.body_centre_a(_one_of(rng, "T10", "T11", "T12", "T13", "L1", "L2", "L3"))
        return CordInfarct(a, side, float(rng.uniform(10, 26)) * s, over_disc="")
    if finding == SYRINGOMYELIA:
        vertebra = _one_of(rng, "T11", "T12", "T13", "L1", "L2")
        length = float(rng.uniform(1.0, 2.8)) * spine.period_mm
        return Syrinx(centre_a=spine.body_centre_a(vertebra), length_mm=length)
    if finding == NEOPLASIA:
        vertebra = _one_of(rng, "T10", "T11", "T12", "T13", "L1", "L2", "L3", "L4")
        site = weighted_choice(rng, {"extradural": 0.5, "intradural": 0.33, "intramedullary": 0.17})
        size = float(rng.uniform(0.8, 1.25))
        return Tumour(centre_a=spine.body_centre_a(vertebra), side=side, site=site, size=size)
    raise ValueError(f"no lesion for {finding!r}")
