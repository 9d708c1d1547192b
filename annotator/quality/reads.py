"""The database side of the quality numbers: label versions and approvals turned into the
plain reads and verdicts of `agreement.py`, in two queries however many labels there are.

A read (see `agreement.py`) is the newest version of a reader's chain that they wrote
themselves: a reader version, or a withdrawal they made (which copies the source of the
version it withdraws, so its source alone does not say who withdrew).

The accepted label a read is held against, first that applies:
1. a reviewer's decision on this very read, found in the reader's chain after the read or
   among the approvals: approved (agrees), corrected (the read's findings against the
   correction's), rejected (a disagreement);
2. the newest reviewer decision on another reader's label of the slice that still stands:
   an approval of that chain's current version, or a correction that is still current;
3. the newest import of the slice by someone else that still stands.
A read with none of these has not been checked yet and is not counted.
"""

from datetime import datetime
from itertools import groupby
from typing import NamedTuple

from annotator.labeling.models import Label
from annotator.quality.agreement import Read, Verdict
from annotator.review.models import Decision, Review

REVIEW, IMPORT, READER = Label.Source.REVIEW, Label.Source.IMPORT, Label.Source.READER


class _Version(NamedTuple):
    id: int
    instance_id: int
    reader_id: int
    reader: str
    author_id: int
    version: int
    findings: list
    cant_tell: str
    withdrawn: bool
    source: str
    created_at: datetime


class _Accepted(NamedTuple):
    at: datetime | int  # when it was decided (reviews) or the label id (imports)
    reader_id: int
    findings: frozenset[str] | None


def load() -> tuple[list[Read], list[Verdict]]:
    """Every annotator's read of every slice, and the verdicts of those that were checked."""
    rows = Label.objects.order_by("instance_id", "reader_id", "version").values_list(
        "id",
        "instance_id",
        "reader_id",
        "reader__username",
        "author_id",
        "version",
        "findings",
        "cant_tell",
        "withdrawn",
        "source",
        "created_at",
    )
    approved_at: dict[int, datetime] = dict(
        Review.objects.filter(decision=Decision.APPROVE)
        .order_by("created_at", "id")
        .values_list("label_id", "created_at")
    )
    reads: list[Read] = []
    verdicts: list[Verdict] = []
    versions = (_Version(*row) for row in rows.iterator(chunk_size=2000))
    for _, of_slice in groupby(versions, key=lambda v: v.instance_id):
        chains = [list(chain) for _, chain in groupby(of_slice, key=lambda v: v.reader_id)]
        decisions, imports = _standing(chains, approved_at)
        for chain in chains:
            own = _own_read(chain)
            if own is None:
                continue
            read = Read(own.instance_id, own.reader, own.id, _answer(own))
            reads.append(read)
            verdict = _verdict(chain, own, read, decisions, imports, approved_at)
            if verdict is not None:
                verdicts.append(verdict)
    return reads, verdicts


def _standing(
    chains: list[list[_Version]], approved_at: dict[int, datetime]
) -> tuple[list[_Accepted], list[_Accepted]]:
    """Reviewer decisions and imports of one slice that are still the current version."""
    decisions, imports = [], []
    for chain in chains:
        current = chain[-1]
        if current.withdrawn:
            continue
        accepted = _Accepted(current.created_at, current.reader_id, _answer(current))
        if current.source == REVIEW:
            decisions.append(accepted)
        elif current.id in approved_at:
            decisions.append(accepted._replace(at=approved_at[current.id]))
        elif current.source == IMPORT:
            imports.append(accepted._replace(at=current.id))
    return decisions, imports


def _own_read(chain: list[_Version]) -> _Version | None:
    own = [v for v in chain if v.author_id == v.reader_id and (v.source == READER or v.withdrawn)]
    if not own or own[-1].withdrawn:
        return None
    return own[-1]


def _verdict(
    chain: list[_Version],
    own: _Version,
    read: Read,
    decisions: list[_Accepted],
    imports: list[_Accepted],
    approved_at: dict[int, datetime],
) -> Verdict | None:
    def verdict(how: str, accepted: frozenset[str] | None) -> Verdict:
        # can't-tell on either side: the pair says nothing about agreement
        if read.findings is None or accepted is None:
            return Verdict(read.annotator, read.slice_id, how, None)
        return Verdict(read.annotator, read.slice_id, how, read.findings == accepted)

    reviewed = [
        v
        for v in chain
        if v.version > own.version and v.source == REVIEW and v.author_id != v.reader_id
    ]
    if reviewed:
        last = reviewed[-1]
        if last.withdrawn:  # rejected: the reviewer accepted none of it
            agrees = None if read.findings is None else False
            return Verdict(read.annotator, read.slice_id, "rejected", agrees)
        return verdict("corrected", _answer(last))
    if own.id in approved_at:
        return verdict("approved", read.findings)
    others = [d for d in decisions if d.reader_id != own.reader_id]
    if others:
        return verdict("other_read", max(others, key=lambda d: d.at).findings)
    others = [i for i in imports if i.reader_id != own.reader_id]
    if others:
        return verdict("import", max(others, key=lambda i: i.at).findings)
    return None


def _answer(version: _Version) -> frozenset[str] | None:
    return None if version.cant_tell else frozenset(version.findings)
