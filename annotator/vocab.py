"""The words Dachs uses for what is on an image and how it was taken: the one source.

Plain Python (no Django), so the synthetic cohort and the models share it. `ml/` learns the
class names from a checkpoint's config, never from here.
"""

from enum import StrEnum


class Finding(StrEnum):
    """The six image classes of the reference study, in hotkey order."""

    UNREMARKABLE = "unremarkable"
    IVDE = "ivde"
    IVDP = "ivdp"
    FCE_ANNPE = "fce_annpe"
    SYRINGOMYELIA = "syringomyelia"
    NEOPLASIA = "neoplasia"


FINDING_LABELS: dict[str, str] = {
    Finding.UNREMARKABLE: "Unremarkable",
    Finding.IVDE: "IVDE",
    Finding.IVDP: "IVDP",
    Finding.FCE_ANNPE: "FCE/ANNPE",
    Finding.SYRINGOMYELIA: "Syringomyelia",
    Finding.NEOPLASIA: "Neoplasia",
}
FINDINGS: list[str] = [f.value for f in Finding]


class CantTell(StrEnum):
    """Why a reader could not give a finding; such a label never trains the model."""

    ARTEFACT = "artefact"
    WRONG_REGION = "wrong_region"
    POOR_QUALITY = "poor_quality"


CANT_TELL_LABELS: dict[str, str] = {
    CantTell.ARTEFACT: "Artefact",
    CantTell.WRONG_REGION: "Wrong region",
    CantTell.POOR_QUALITY: "Poor quality",
}


class Plane(StrEnum):
    SAGITTAL = "sagittal"
    TRANSVERSE = "transverse"
    DORSAL = "dorsal"
    UNKNOWN = "unknown"


class Sequence(StrEnum):
    T1W = "T1W"
    T2W = "T2W"
    STIR = "STIR"
    OTHER = "other"


class Split(StrEnum):
    """Dog-level data split, drawn once per dog."""

    TRAIN = "train"
    VAL = "val"
    TEST = "test"


def choices(kind: type[StrEnum], labels: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(value, label) pairs for a model field's `choices`."""
    return [(m.value, (labels or {}).get(m.value, m.value)) for m in kind]
