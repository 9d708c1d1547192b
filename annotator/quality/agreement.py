"""How well annotators agree: the numbers behind the quality page and
`GET /api/quality/agreement/`, computed from plain reads (no Django; `reads.py` loads them).

Decisions, so the numbers can be read without the code:
- A read is one annotator's answer for one slice: the newest version of their own chain that
  they wrote themselves as a reader. A chain they withdrew themselves has no read, and a
  reviewer's later correction or rejection does not change what they read.
- Can't-tell reads are left out of every statistic; each block says how many were left out.
  A slice counts as double-read when at least two annotators gave findings for it.
- Overall and per finding, the statistics use the first two reads of each double-read slice
  (by label id): Fleiss' kappa needs the same number of raters on every slice.
- Per finding, a read is "present" or "absent" (Cohen's and Fleiss' kappa on two
  categories). Overall agreement is on the whole set of findings; overall Fleiss' kappa
  uses only the slices whose two reads each name exactly one finding.
- Pairs: every pair of annotators over all the slices both read, per finding.
- Agreement with the accepted label: see `reads.py` for what the accepted label of a slice
  is; a read rejected by a reviewer counts as a disagreement.
- Intervals: 95%, percentile bootstrap over slices with a fixed seed (`kappa.py`).
- Undefined kappa (every rating the same) is None with a reason under `<name>_undefined`.
"""

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from annotator.quality import kappa
from annotator.quality.kappa import RESAMPLES, SEED, Estimate


@dataclass(frozen=True)
class Read:
    """One annotator's read of one slice; `findings` is None when they could not tell."""

    slice_id: int
    annotator: str
    label_id: int
    findings: frozenset[str] | None


@dataclass(frozen=True)
class Verdict:
    """One annotator's read held against the accepted label of its slice.

    `how`: approved, corrected, rejected (a reviewer decided on this very read), other_read
    (a reviewer's decision on another reader's label of the slice) or import (someone
    else's imported label). `agrees` is None when the read or the accepted label is
    can't-tell.
    """

    annotator: str
    slice_id: int
    how: str
    agrees: bool | None


HOWS = ("approved", "corrected", "rejected", "other_read", "import")


def report(
    reads: list[Read],
    verdicts: list[Verdict],
    findings: list[str],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict:
    """{"overall", "per_finding", "pairs", "annotators"}, each with the counts it rests on."""
    by_slice: dict[int, list[Read]] = defaultdict(list)
    for read in sorted(reads, key=lambda r: r.label_id):
        by_slice[read.slice_id].append(read)
    shared = {s: rs for s, rs in by_slice.items() if len({r.annotator for r in rs}) >= 2}
    left_out = sum(r.findings is None for rs in shared.values() for r in rs)
    firsts = [
        answered[:2]
        for answered in ([r for r in rs if r.findings is not None] for rs in shared.values())
        if len(answered) >= 2
    ]

    drawn: dict[int, np.ndarray] = {}

    def weights(n: int) -> np.ndarray:
        # Same seed, so sets of the same size would draw the same resamples anyway.
        if n not in drawn:
            drawn[n] = kappa.resample_weights(n, resamples, seed)
        return drawn[n]

    overall, per_finding = _double_reads(firsts, left_out, findings, weights)
    return {
        "overall": overall,
        "per_finding": per_finding,
        "pairs": _pairs(shared, findings, weights),
        "annotators": _annotators(verdicts, weights),
    }


def _double_reads(firsts: list[list[Read]], left_out: int, findings: list[str], weights):
    w = weights(len(firsts))
    first = [a.findings for a, _ in firsts]
    second = [b.findings for _, b in firsts]
    single = [(a, b) for a, b in zip(first, second, strict=True) if len(a) == 1 and len(b) == 1]
    code = {f: i for i, f in enumerate(findings)}
    ratings = np.array([[code[next(iter(a))], code[next(iter(b))]] for a, b in single])
    overall = {
        "slices": len(firsts),
        "left_out_cant_tell": left_out,
        **_fields("raw_agreement", kappa.raw_agreement(_same(first, second), w)),
        **_fields(
            "fleiss_kappa",
            kappa.fleiss_kappa(ratings.reshape(-1, 2), len(findings), weights(len(single))),
        ),
        "fleiss_slices": len(single),
    }
    per_finding = {}
    for finding in findings:
        a = np.array([finding in s for s in first], dtype=bool)
        b = np.array([finding in s for s in second], dtype=bool)
        per_finding[finding] = {
            "slices": len(firsts),
            "positive_reads": int(a.sum() + b.sum()),
            **_fields("raw_agreement", kappa.raw_agreement(a == b, w)),
            **_fields("fleiss_kappa", kappa.fleiss_kappa(np.stack([a, b], axis=1), 2, w)),
        }
    return overall, per_finding


def _pairs(shared: dict[int, list[Read]], findings: list[str], weights) -> list[dict]:
    reads_of: dict[str, dict[int, Read]] = defaultdict(dict)
    for rs in shared.values():
        for read in rs:
            reads_of[read.annotator][read.slice_id] = read
    pairs = []
    for one, other in combinations(sorted(reads_of), 2):
        both_read = sorted(reads_of[one].keys() & reads_of[other].keys())
        if not both_read:
            continue
        answered = [
            (reads_of[one][s].findings, reads_of[other][s].findings)
            for s in both_read
            if reads_of[one][s].findings is not None and reads_of[other][s].findings is not None
        ]
        first = [a for a, _ in answered]
        second = [b for _, b in answered]
        w = weights(len(answered))
        per_finding = {}
        for finding in findings:
            a = np.array([finding in s for s in first], dtype=bool)
            b = np.array([finding in s for s in second], dtype=bool)
            counts = kappa.cells(a, b).sum(axis=0)
            per_finding[finding] = {
                **_fields("cohen_kappa", kappa.cohen_kappa(a, b, w)),
                **_fields("raw_agreement", kappa.raw_agreement(a == b, w)),
                "both": int(counts[kappa.BOTH]),
                "neither": int(counts[kappa.NEITHER]),
                "only_first": int(counts[kappa.ONLY_FIRST]),
                "only_second": int(counts[kappa.ONLY_SECOND]),
            }
        pairs.append(
            {
                "annotators": [one, other],
                "slices": len(answered),
                "left_out_cant_tell": len(both_read) - len(answered),
                "per_finding": per_finding,
                **_fields("exact_agreement", kappa.raw_agreement(_same(first, second), w)),
            }
        )
    return pairs


def _annotators(verdicts: list[Verdict], weights) -> list[dict]:
    of: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        of[verdict.annotator].append(verdict)
    rows = []
    for annotator in sorted(of):
        counted = [v for v in of[annotator] if v.agrees is not None]
        agrees = np.array([v.agrees for v in counted], dtype=bool)
        estimate = kappa.raw_agreement(agrees, weights(len(counted)))
        rows.append(
            {
                "annotator": annotator,
                "reviewed_slices": len(counted),
                "left_out_cant_tell": len(of[annotator]) - len(counted),
                **_fields("agreement_with_accepted", estimate),
                **{how: sum(v.how == how for v in counted) for how in HOWS},
            }
        )
    return rows


def _same(first: list[frozenset], second: list[frozenset]) -> np.ndarray:
    return np.array([a == b for a, b in zip(first, second, strict=True)], dtype=bool)


def _fields(name: str, estimate: Estimate) -> dict:
    fields = {name: _round(estimate.value), f"{name}_ci": _ci(estimate)}
    if name.endswith("kappa"):
        fields[f"{name}_undefined"] = estimate.undefined
    return fields


def _ci(estimate: Estimate) -> list[float] | None:
    return None if estimate.ci is None else [_round(x) for x in estimate.ci]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
