"""Everything about one dog's study that is decided before a pixel is drawn.

Field of view and matrix (hence pixel spacing) follow the dog's size and chance, never
its diagnosis, so neither is a shortcut within a breed; a radiographer fits the field to
the dog, so the spine covers about as many pixels in a dachshund as in a labrador.

All choices come from `default_rng([seed, dog number])`, so dog 3 is the same dog in a
6-dog and a 12-dog cohort, and UIDs are hashes of (seed, dog, series, instance).
"""

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from annotator.synth.anatomy import VERTEBRAE, Spine
from annotator.synth.dogs import Patient, draw_patient
from annotator.synth.findings import (
    FCE_ANNPE,
    FINDINGS,
    IVDE,
    IVDP,
    NEOPLASIA,
    SYRINGOMYELIA,
    UNREMARKABLE,
)
from annotator.synth.geometry import SliceGeometry, sagittal_stack, transverse_block
from annotator.synth.lesions import DiscProtrusion, Lesion, draw_lesion
from annotator.synth.phantom import Acquisition

# Fixed namespace: UIDs are 2.25.<uuid5 as integer>, valid without a registered root.
UID_NAMESPACE = uuid.UUID("5f0c7c4e-0d7a-4b8e-9a53-6b8e2f1d0a11")


def synthetic_uid(seed: int, *parts: object) -> str:
    key = "|".join(str(part) for part in ("dachs-synth", seed, *parts))
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, key).int}"


@dataclass(frozen=True)
class Vendor:
    """How one scanner family names series and scales its pixel values."""

    model: str
    names: dict[str, str]  # "sagittal T2W" -> SeriesDescription
    gain: float


VENDORS = [
    Vendor(
        "Phantom S",
        {"sagittal T1W": "t1_se_sag", "sagittal T2W": "t2_tse_sag"}
        | {"transverse T1W": "t1_se_tra", "transverse T2W": "t2_tse_tra"},
        1500.0,
    ),
    Vendor(
        "Phantom G",
        {"sagittal T1W": "SAG T1 SE", "sagittal T2W": "SAG T2 FRFSE"}
        | {"transverse T1W": "Ax T1", "transverse T2W": "Ax T2 FRFSE"},
        2200.0,
    ),
    Vendor(
        "Phantom P",
        {"sagittal T1W": "T1W_SE_SAG", "sagittal T2W": "T2W_TSE_SAG"}
        | {"transverse T1W": "T1W_SE_TRA", "transverse T2W": "T2W_TSE_TRA"},
        900.0,
    ),
    Vendor(
        "Phantom E Vet",
        {"sagittal T1W": "SE T1 SAG", "sagittal T2W": "FSE T2 SAG"}
        | {"transverse T1W": "SE T1 TRA", "transverse T2W": "FSE T2 TRA"},
        1800.0,
    ),
]
FIELD_TESLA = {0.25: 0.25, 0.3: 0.25, 0.35: 0.2, 0.4: 0.15, 1.5: 0.15}  # value: share


@dataclass(frozen=True)
class SeriesPlan:
    number: int
    plane: str  # sagittal | transverse
    sequence: str  # T1W | T2W
    description: str
    uid: str
    repetition_ms: float
    echo_ms: float
    echo_train: int
    thickness_mm: float
    step_mm: float  # centre to centre, along the normal (SpacingBetweenSlices)
    slices: tuple[SliceGeometry, ...]
    acquisition: Acquisition
    time: str  # HHMMSS
    body_part: str  # TSPINE | LSPINE

    @property
    def folder(self) -> str:
        return f"{self.number:02d}_{re.sub(r'[^a-z0-9]+', '_', self.description.lower())}"


@dataclass(frozen=True)
class StudyPlan:
    seed: int
    number: int  # 1-based dog number in the cohort
    finding: str
    patient: Patient
    spine: Spine
    study_uid: str
    frame_uid: str
    date: str  # YYYYMMDD
    time: str  # HHMMSS
    field_tesla: float
    vendor: Vendor
    series: tuple[SeriesPlan, ...]
    lesions: tuple[Lesion, ...] = ()  # the primary finding's lesion first

    @property
    def lesion(self) -> Lesion | None:
        return self.lesions[0] if self.lesions else None

    @property
    def findings(self) -> list[str]:
        """Every finding the dog has, in vocabulary order (not only its diagnosis)."""
        found = {lesion.finding for lesion in self.lesions}
        return [f for f in FINDINGS if f in found] or [UNREMARKABLE]


def _weighting(sequence: str, rng: np.random.Generator) -> tuple[float, float, int]:
    """TR, TE (ms) and echo train length that make the series T1W or T2W by physics."""
    if sequence == "T1W":
        return round(float(rng.uniform(400, 700)), -1), round(float(rng.uniform(8, 20)) * 2) / 2, 1
    tr, te = round(float(rng.uniform(2500, 4000)), -1), float(round(rng.uniform(80, 110)))
    return tr, te, int(rng.choice([8, 12, 16]))


def _body_part(spine: Spine, a: float) -> str:
    return "TSPINE" if spine.level_at(a).startswith("T") else "LSPINE"


MATRICES = (256, 320, 384, 448, 512)


def _field(fov_per_scale: float, spine: Spine, rng: np.random.Generator) -> tuple[int, float]:
    """Matrix and pixel spacing (mm): the field fits the dog, loosely."""
    matrix = int(rng.choice(MATRICES, p=[0.34, 0.28, 0.2, 0.12, 0.06]))
    fov = fov_per_scale * spine.scale * float(rng.uniform(0.88, 1.15))
    return matrix, round(fov / matrix, 3)


def _sagittal_slices(
    spine: Spine, aim_a: float, thickness: float, rng: np.random.Generator
) -> tuple[tuple[SliceGeometry, ...], float, float]:
    """9-11 contiguous slices across the canal; also returns step and centre (mm)."""
    slices = int(rng.integers(9, 12))
    step = thickness + float(rng.choice([0.0, 0.3]))
    matrix, spacing = _field(170.0, spine, rng)
    fov = matrix * spacing
    # Put one slice within 0.4 mm of the midline, where the cord and a syrinx are.
    middle = (slices - 1) // 2
    u_centre = float(rng.uniform(-0.4, 0.4)) + (middle - (slices - 1) / 2) * step
    centre_a = aim_a + float(rng.uniform(-0.4, 0.4)) * spine.period_mm
    # The radiographer rarely centres the spine exactly.
    field_a = centre_a + float(rng.uniform(-0.12, 0.12)) * fov
    field_d = -6.0 * spine.scale + float(rng.uniform(-0.08, 0.08)) * fov
    centre = spine.to_patient(u_centre, field_d, field_a)
    return tuple(sagittal_stack(centre, slices, step, spacing, matrix)), step, centre_a


def _transverse_blocks(
    spine: Spine, aim_a: float, low_field: bool, rng: np.random.Generator
) -> tuple[tuple[SliceGeometry, ...], float, float]:
    """12-15 slices in three blocks: over the lesion, and over discs two levels away.

    Also returns slice thickness and step (mm).
    """
    slices = int(rng.integers(12, 16))
    thickness = float(rng.choice([3.5, 4.0, 4.5] if low_field else [3.0, 3.5, 4.0]))
    step = thickness + float(rng.choice([0.0, 0.5]))
    matrix, spacing = _field(100.0, spine, rng)
    fov = matrix * spacing
    shift_u = float(rng.uniform(-0.08, 0.08)) * fov
    shift_d = -9.0 * spine.scale + float(rng.uniform(-0.08, 0.08)) * fov
    angled = rng.random() < 0.6  # many radiographers angle the stack to the disc space
    tilt = spine.tilt_degrees if angled else 0.0
    period = spine.period_mm
    nearest_disc = round((aim_a - spine.disc_mm / 2) / period) * period + spine.disc_mm / 2
    centres = [nearest_disc - 2 * period, aim_a, nearest_disc + 2 * period]  # cranial first
    sizes = [slices // 3, slices - 2 * (slices // 3), slices // 3]
    geometries: list[SliceGeometry] = []
    for a, size in zip(centres, sizes, strict=True):
        centre = spine.to_patient(shift_u, shift_d, a)
        geometries += transverse_block(centre, size, step, spacing, tilt, matrix)
    return tuple(geometries), thickness, step


# A second, incidental finding in some dogs: (finding, chance) per diagnosis. Older
# large dogs with a tumour often protrude discs as well.
SECOND_FINDING = {
    IVDE: (IVDP, 0.22),
    IVDP: (IVDE, 0.08),
    FCE_ANNPE: (IVDP, 0.12),
    SYRINGOMYELIA: (IVDE, 0.2),
    NEOPLASIA: (IVDP, 0.35),
}


def _level(spine: Spine, a: float) -> int:
    return VERTEBRAE.index(spine.level_at(a))


def draw_lesions(finding: str, spine: Spine, rng: np.random.Generator) -> list[Lesion]:
    """The diagnosis's lesion, and sometimes an incidental one two to four levels away."""
    if finding == UNREMARKABLE:
        return []
    lesions = [draw_lesion(finding, spine, rng)]
    second, chance = SECOND_FINDING[finding]
    if rng.random() < chance:
        taken = _level(spine, lesions[0].centre_a)
        for _ in range(20):
            candidate = draw_lesion(second, spine, rng)
            if 2 <= abs(_level(spine, candidate.centre_a) - taken) <= 4:
                lesions.append(candidate)
                break
    return [site for lesion in lesions for site in _sites(lesion)]


def _sites(lesion: Lesion) -> list[Lesion]:
    """Each protruded disc as a lesion of its own, so each gets its own box."""
    if not isinstance(lesion, DiscProtrusion):
        return [lesion]
    return [
        DiscProtrusion(names=(name,), centres_a=(a,), heights=(h,))
        for name, a, h in zip(lesion.names, lesion.centres_a, lesion.heights, strict=True)
    ]


def _degenerated(
    lesions: list[Lesion], age_years: int, rng: np.random.Generator
) -> tuple[str, ...]:
    """Discs that aged (dark nucleus), in any dog, plus every disc a lesion came from."""
    count = min(int(rng.poisson(0.22 * age_years)), 5)
    pool = VERTEBRAE[8:18]  # T9-T10 to L5-L6
    aged = {str(name) for name in rng.choice(pool, size=count, replace=False)}
    for lesion in lesions:
        aged.update(lesion.discs)
    return tuple(sorted(aged, key=VERTEBRAE.index))


def plan_study(seed: int, number: int, finding: str) -> StudyPlan:
    rng = np.random.default_rng([seed, number])
    patient = draw_patient(number, finding, rng)
    scale = patient.breed.scale * float(rng.uniform(0.93, 1.07))
    probe = Spine(scale, 0.0, 0.0)  # levels only, before the table position is known
    spine = Spine(
        scale=scale,
        tilt_degrees=float(rng.choice([-1, 1]) * rng.uniform(2, 7)),
        origin_a_mm=probe.disc_centre_a("L1") + float(rng.uniform(-20, 20)),
        bend_mm=float(rng.uniform(2.0, 7.0)) * scale,
        bend_crest_a=probe.disc_centre_a("T13") + float(rng.uniform(-40, 40)) * scale,
        texture_seed=int(rng.integers(2**31)),
    )
    lesions = draw_lesions(finding, spine, rng)
    spine = replace(spine, degenerated=_degenerated(lesions, patient.age_years, rng))
    aim_a = lesions[0].centre_a if lesions else spine.disc_centre_a("L1")
    vendor = VENDORS[int(rng.integers(len(VENDORS)))]
    tesla = float(rng.choice(list(FIELD_TESLA), p=list(FIELD_TESLA.values())))
    # Low field is noisy: noise falls roughly with the square root of field strength.
    noise = 0.03 * float(np.sqrt(0.3 / tesla))
    study_day = date(2022, 1, 3) + timedelta(days=int(rng.integers(0, 900)))
    start_s = 8 * 3600 + int(rng.integers(0, 9 * 3600))

    # Low-field scanners buy signal with thicker slices.
    low_field = tesla < 1.0
    sag_thickness = 3.5 if low_field and rng.random() < 0.5 else 3.0
    sagittal, sag_step, sag_a = _sagittal_slices(spine, aim_a, sag_thickness, rng)
    transverse, tra_thickness, tra_step = _transverse_blocks(spine, aim_a, low_field, rng)

    # T1W and T2W of a plane share their planes, acquired matrix and so their blur.
    blur = {}
    for plane, slices in (("sagittal", sagittal), ("transverse", transverse)):
        acquired = min(slices[0].rows, int(rng.choice([192, 256, 320])))
        blur[plane] = round(0.35 + 0.45 * slices[0].rows / acquired, 3)
    series = []
    layout = [
        ("sagittal", "T2W"),
        ("sagittal", "T1W"),
        ("transverse", "T2W"),
        ("transverse", "T1W"),
    ]
    for index, (plane, sequence) in enumerate(layout, start=1):
        tr, te, etl = _weighting(sequence, rng)
        minutes = 3 + 5 * index + int(rng.integers(0, 2))
        clock = start_s + 60 * minutes
        slices = sagittal if plane == "sagittal" else transverse
        series.append(
            SeriesPlan(
                number=index,
                plane=plane,
                sequence=sequence,
                description=vendor.names[f"{plane} {sequence}"],
                uid=synthetic_uid(seed, number, "series", index),
                repetition_ms=tr,
                echo_ms=te,
                echo_train=etl,
                thickness_mm=sag_thickness if plane == "sagittal" else tra_thickness,
                step_mm=sag_step if plane == "sagittal" else tra_step,
                slices=slices,
                acquisition=Acquisition(
                    gain=vendor.gain * float(rng.uniform(0.9, 1.1)),
                    noise=noise * float(rng.uniform(0.9, 1.15)),
                    coil_falloff=float(rng.uniform(0.0, 0.25)),
                    bias=tuple(float(b) for b in rng.normal(0, 0.1, 5)),  # type: ignore[arg-type]
                    blur_px=blur[plane],
                ),
                time=f"{clock // 3600:02d}{clock // 60 % 60:02d}{clock % 60:02d}",
                body_part=_body_part(spine, sag_a if plane == "sagittal" else aim_a),
            )
        )
    return StudyPlan(
        seed=seed,
        number=number,
        finding=finding,
        patient=patient,
        spine=spine,
        study_uid=synthetic_uid(seed, number, "study"),
        frame_uid=synthetic_uid(seed, number, "frame"),
        date=study_day.strftime("%Y%m%d"),
        time=f"{start_s // 3600:02d}{start_s // 60 % 60:02d}{start_s % 60:02d}",
        field_tesla=tesla,
        vendor=vendor,
        series=tuple(series),
        lesions=tuple(lesions),
    )
