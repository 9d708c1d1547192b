"""The six image classes, spelled exactly as the app's Finding values, and their mix."""

import numpy as np

UNREMARKABLE = "unremarkable"
IVDE = "ivde"
IVDP = "ivdp"
FCE_ANNPE = "fce_annpe"
SYRINGOMYELIA = "syringomyelia"
NEOPLASIA = "neoplasia"
FINDINGS = [UNREMARKABLE, IVDE, IVDP, FCE_ANNPE, SYRINGOMYELIA, NEOPLASIA]

# Share of dogs per diagnosis; roughly the mix of a thoracolumbar referral caseload.
FREQUENCY = {
    UNREMARKABLE: 0.15,
    IVDE: 0.35,
    IVDP: 0.15,
    FCE_ANNPE: 0.13,
    SYRINGOMYELIA: 0.08,
    NEOPLASIA: 0.14,
}


def weighted_choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn with probability proportional to its value."""
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]
