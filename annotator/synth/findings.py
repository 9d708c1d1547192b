"""The six image classes (from the vocabulary) and their mix in the synthetic cohort."""

import numpy as np

from annotator.vocab import Finding

UNREMARKABLE = Finding.UNREMARKABLE.value
IVDE = Finding.IVDE.value
IVDP = Finding.IVDP.value
FCE_ANNPE = Finding.FCE_ANNPE.value
SYRINGOMYELIA = Finding.SYRINGOMYELIA.value
NEOPLASIA = Finding.NEOPLASIA.value
FINDINGS = [UNREMARKABLE, IVDE, IVDP, FCE_ANNPE, SYRINGOMYELIA, NEOPLASIA]

# Share of dogs per diagnosis; roughly the mix of a thoracolumbar referral caseload.
# Neoplasia and syringomyelia are rare, as in practice.
FREQUENCY = {
    UNREMARKABLE: 0.18,
    IVDE: 0.38,
    IVDP: 0.17,
    FCE_ANNPE: 0.14,
    SYRINGOMYELIA: 0.05,
    NEOPLASIA: 0.08,
}


def weighted_choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn with probability proportional to its value."""
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]
