"""Who the synthetic patients are: diagnosis, breed, owner, age, weight, sex.

Breed follows diagnosis the way it does in a referral clinic (chondrodystrophic breeds
extrude discs, large breeds carry most tumours), so that a cohort reads plausibly.
"""

from dataclasses import dataclass

import numpy as np

from annotator.synth.findings import (
    FCE_ANNPE,
    FINDINGS,
    FREQUENCY,
    IVDE,
    IVDP,
    NEOPLASIA,
    SYRINGOMYELIA,
    UNREMARKABLE,
    weighted_choice,
)


@dataclass(frozen=True)
class Breed:
    name: str
    scale: float  # size of the spine relative to a dachshund's
    weight_kg: tuple[float, float]


BREEDS = {
    b.name: b
    for b in [
        Breed("Dachshund", 1.0, (6, 12)),
        Breed("French Bulldog", 1.05, (9, 14)),
        Breed("Beagle", 1.1, (10, 16)),
        Breed("Shih Tzu", 0.85, (5, 8)),
        Breed("Cavalier King Charles Spaniel", 0.95, (6, 9)),
        Breed("Miniature Schnauzer", 0.95, (6, 9)),
        Breed("Cocker Spaniel", 1.05, (12, 16)),
        Breed("Border Collie", 1.15, (14, 20)),
        Breed("Labrador Retriever", 1.3, (25, 36)),
        Breed("German Shepherd Dog", 1.35, (28, 40)),
        Breed("Golden Retriever", 1.3, (25, 34)),
        Breed("Boxer", 1.3, (25, 32)),
        Breed("Mixed breed", 1.15, (10, 25)),
    ]
}
BREEDS_BY_FINDING = {
    UNREMARKABLE: {name: 1.0 for name in BREEDS},
    IVDE: {"Dachshund": 5, "French Bulldog": 3, "Beagle": 2, "Shih Tzu": 2, "Cocker Spaniel": 1},
    IVDP: {"German Shepherd Dog": 3, "Labrador Retriever": 2, "Golden Retriever": 1, "Boxer": 1},
    FCE_ANNPE: {"Labrador Retriever": 2, "Miniature Schnauzer": 2, "Border Collie": 2},
    SYRINGOMYELIA: {"Cavalier King Charles Spaniel": 4, "French Bulldog": 1, "Shih Tzu": 1},
    NEOPLASIA: {"Boxer": 2, "Golden Retriever": 2, "Labrador Retriever": 2, "Mixed breed": 1},
}
AGE_YEARS = {
    UNREMARKABLE: (1, 12),
    IVDE: (3, 8),
    IVDP: (7, 12),
    FCE_ANNPE: (3, 9),
    SYRINGOMYELIA: (2, 8),
    NEOPLASIA: (7, 13),
}
DOG_NAMES = [
    "Bello", "Luna", "Balu", "Emma", "Paul", "Frieda", "Lotte", "Oskar", "Waldi", "Mila",
    "Kira", "Rocky", "Sam", "Nala", "Motte", "Anton", "Fritzi", "Juno", "Bruno", "Lilly",
    "Ronja", "Theo", "Wilma", "Henry", "Ida", "Carlo", "Pepe", "Maja", "Ben", "Greta",
]  # fmt: skip
OWNER_SURNAMES = [
    "Hofmann", "Becker", "Schulz", "Wagner", "Keller", "Brandt", "Vogel", "Koch", "Richter",
    "Weber", "Lange", "Franke", "Berger", "Kaiser", "Hartmann", "Winter", "Jansen", "Roth",
]  # fmt: skip
OWNER_GIVEN = ["Anna", "Jonas", "Petra", "Lukas", "Sabine", "Tobias", "Miriam", "Felix", "Katrin"]


def assign_findings(dogs: int, seed: int) -> list[str]:
    """One diagnosis per dog; the first six cover every class (in a seeded order)."""
    first = [FINDINGS[i] for i in np.random.default_rng([seed, 0]).permutation(len(FINDINGS))]
    p = np.array([FREQUENCY[f] for f in FINDINGS])
    rest = [
        FINDINGS[int(np.random.default_rng([seed, 0, index]).choice(len(FINDINGS), p=p))]
        for index in range(len(FINDINGS), dogs)
    ]
    return (first + rest)[:dogs]


@dataclass(frozen=True)
class Patient:
    patient_id: str  # the clinic's animal id
    dog_name: str
    owner_surname: str
    owner_given: str
    breed: Breed
    sex: str  # DICOM PatientSex: M | F
    neutered: bool
    age_years: int
    weight_kg: float

    @property
    def dicom_name(self) -> str:
        return f"{self.owner_surname}^{self.dog_name}"  # vets' habit: Owner^Dog

    @property
    def owner_dicom_name(self) -> str:
        return f"{self.owner_surname}^{self.owner_given}"


def draw_patient(number: int, finding: str, rng: np.random.Generator) -> Patient:
    breed = BREEDS[weighted_choice(rng, BREEDS_BY_FINDING[finding])]
    low, high = breed.weight_kg
    return Patient(
        patient_id=f"DACHS-{number:04d}",
        dog_name=DOG_NAMES[int(rng.integers(len(DOG_NAMES)))],
        owner_surname=OWNER_SURNAMES[int(rng.integers(len(OWNER_SURNAMES)))],
        owner_given=OWNER_GIVEN[int(rng.integers(len(OWNER_GIVEN)))],
        breed=breed,
        sex=str(rng.choice(["M", "F"])),
        neutered=bool(rng.random() < 0.6),
        age_years=int(rng.integers(AGE_YEARS[finding][0], AGE_YEARS[finding][1] + 1)),
        weight_kg=round(float(rng.uniform(low, high)), 1),
    )
