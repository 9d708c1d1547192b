"""Everything about one dog's study that is decided before a pixel is drawn.

All choices come from `default_rng([seed, dog number])`, so dog 3 is the same dog in a
6-dog and a 12-dog cohort, and UIDs are hashes of (seed, dog, series, instance).
"""

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from annotator.synth.anatomy import Spine
from annotator.synth.dogs import Patient, draw_patient
from annotator.synth.geometry import SliceGeometry, sagittal_stack, transverse_block
from annotator.synth.lesions import Lesion, draw_lesion
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
        2200.0,
    ),
    Vendor(
        "Phantom G",
        {"sagittal T1W": "SAG T1 SE", "sagittal T2W": "SAG T2 FRFSE"}
        | {"transverse T1W": "Ax T1", "transverse T2W": "Ax T2 FRFSE"},
        3300.0,
    ),
    Vendor(
        "Phantom P",
        {"sagittal T1W": "T1W_SE_SAG", "sagittal T2W": "T2W_TSE_SAG"}
        | {"transverse T1W": "T1W_SE_TRA", "transverse T2W": "T2W_TSE_TRA"},
        1300.0,
    ),
    Vendor(
        "Phantom E Vet",
        {"sagittal T1W": "SE T1 SAG", "sagittal T2W": "FSE T2 SAG"}
        | {"transverse T1W": "SE T1 TRA", "transverse T2W": "FSE T2 TRA"},
        2700.0,
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
    lesion: Lesion | None
    study_uid: str
    frame_uid: str
    date: str  # YYYYMMDD
    time: str  # HHMMSS
    field_tesla: float
    vendor: Vendor
    series: tuple[SeriesPlan, ...]


def _weighting(sequence: str, rng: np.random.Generator) -> tuple[float, float, int]:
    """TR, TE (ms) and echo train length that make the series T1W or T2W by physics."""
    if sequence == "T1W":
        return round(float(rng.uniform(400, 700)), -1), round(float(rng.uniform(8, 20)) * 2) / 2, 1
    tr, te = round(float(rng.uniform(2500, 4000)), -1), float(round(rng.uniform(80, 110)))
    return tr, te, int(rng.choice([8, 12, 16]))


def _body_part(spine: Spine, a: float) -> str:
    return "TSPINE" if spine.level_at(a).startswith("T") else "LSPINE"


def _sagittal_slices(
    spine: Spine, aim_a: float, rng: np.random.Generator
) -> tuple[tuple[SliceGeometry, ...], float, float]:
    """9-11 contiguous 3 mm slices across the canal; also returns step and centre (mm)."""
    slices = int(rng.integers(9, 12))
    step = 3.0 + float(rng.choice([0.0, 0.3]))
    spacing = round(float(np.clip(1.0 + 0.6 * (spine.scale - 0.85), 1.0, 1.3)), 3)
    # Put one slice within 0.4 mm of the midline, where the cord and a syrinx are.
    middle = (slices - 1) // 2
    u_centre = float(rng.uniform(-0.4, 0.4)) + (middle - (slices - 1) / 2) * step
    centre_a = aim_a + float(rng.uniform(-0.5, 0.5)) * spine.period_mm
    centre = spine.to_patient(u_centre, -4.0 * spine.scale, centre_a)
    return tuple(sagittal_stack(centre, slices, step, spacing)), step, centre_a


def _transverse_blocks(
    spine: Spine, aim_a: float, rng: np.random.Generator
) -> tuple[tuple[SliceGeometry, ...], float, float]:
    """12-15 slices in three blocks: over the lesion, and over discs two levels away.

    Also returns slice thickness and step (mm).
    """
    slices = int(rng.integers(12, 16))
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    step = thickness + float(rng.choice([0.0, 0.5]))
    spacing = round(float(np.clip(0.6 + 0.4 * (spine.scale - 0.85), 0.6, 0.8)), 3)
    angled = rng.random() < 0.6  # many radiographers angle the stack to the disc space
    tilt = spine.tilt_degrees if angled else 0.0
    period = spine.period_mm
    nearest_disc = round((aim_a - spine.disc_mm / 2) / period) * period + spine.disc_mm / 2
    centres = [nearest_disc - 2 * period, aim_a, nearest_disc + 2 * period]  # cranial first
    sizes = [slices // 3, slices - 2 * (slices // 3), slices // 3]
    geometries: list[SliceGeometry] = []
    for a, size in zip(centres, sizes, strict=True):
        centre = spine.to_patient(0.0, -4.0 * spine.scale, a)
        geometries += transverse_block(centre, size, step, spacing, tilt)
    return tuple(geometries), thickness, step


def plan_study(seed: int, number: int, finding: str) -> StudyPlan:
    rng = np.random.default_rng([seed, number])
    patient = draw_patient(number, finding, rng)
    scale = patient.breed.scale * float(rng.uniform(0.95, 1.05))
    probe = Spine(scale, 0.0, 0.0)  # levels only, before the table position is known
    spine = Spine(
        scale=scale,
        tilt_degrees=float(rng.choice([-1, 1]) * rng.uniform(2, 7)),
        origin_a_mm=probe.disc_centre_a("L1") + float(rng.uniform(-20, 20)),
    )
    lesion = draw_lesion(finding, spine, rng)
    aim_a = lesion.centre_a if lesion else spine.disc_centre_a("L1")
    vendor = VENDORS[int(rng.integers(len(VENDORS)))]
    tesla = float(rng.choice(list(FIELD_TESLA), p=list(FIELD_TESLA.values())))
    # Low field is noisy: noise falls roughly with the square root of field strength.
    noise = 0.035 * float(np.sqrt(0.3 / tesla))
    study_day = date(2022, 1, 3) + timedelta(days=int(rng.integers(0, 900)))
    start_s = 8 * 3600 + int(rng.integers(0, 9 * 3600))

    sagittal, sag_step, sag_a = _sagittal_slices(spine, aim_a, rng)
    transverse, tra_thickness, tra_step = _transverse_blocks(spine, aim_a, rng)

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
                thickness_mm=3.0 if plane == "sagittal" else tra_thickness,
                step_mm=sag_step if plane == "sagittal" else tra_step,
                slices=sagittal if plane == "sagittal" else transverse,
                acquisition=Acquisition(
                    gain=vendor.gain * float(rng.uniform(0.9, 1.1)),
                    noise=noise,
                    coil_falloff=float(rng.uniform(0.0, 0.25)),
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
        lesion=lesion,
        study_uid=synthetic_uid(seed, number, "study"),
        frame_uid=synthetic_uid(seed, number, "frame"),
        date=study_day.strftime("%Y%m%d"),
        time=f"{start_s // 3600:02d}{start_s // 60 % 60:02d}{start_s % 60:02d}",
        field_tesla=tesla,
        vendor=vendor,
        series=tuple(series),
    )
