"""Why a label should be reviewed sooner: the priority tier of each pending review item.

A tier packs four reasons as bits, so the queue orders by one indexed column:

- DISAGREEMENT (8): the slice's standing labels from different readers disagree: other
  findings, or one reader could not tell and another could.
- MODEL_DISAGREES (4): the served model calls other findings than the label. The model's
  call is every lesion whose probability reaches the version's threshold (as the second eye
  calls), or "unremarkable" when none does. A "can't tell" label names no findings, so the
  model cannot disagree with it.
- MODEL_UNSURE (2): the stored entropy of the served model's prediction is at least
  UNSURE_ENTROPY_NATS, the entropy of a single finding at probability 0.2 (or 0.8): one
  finding on the fence, or several findings leaning away from certainty together.
- RARE (1): the label names a finding the cohort has few of (RARE_FINDINGS).

Tiers are written when a label version opens an item, when another read of the slice lands,
and when the scoring job stores new predictions (`refresh_tiers`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from annotator.labeling.models import Label
from annotator.learning import predictions
from annotator.learning.registry import promoted
from annotator.learning.second_eye import thresholds
from annotator.review.models import ReviewItem
from annotator.vocab import Finding

BATCH = 500
UNSURE_ENTROPY_NATS = 0.5
RARE_FINDINGS = frozenset({Finding.FCE_ANNPE, Finding.SYRINGOMYELIA, Finding.NEOPLASIA})
REASONS = {
    ReviewItem.DISAGREEMENT: "annotators disagree",
    ReviewItem.MODEL_DISAGREES: "model disagrees",
    ReviewItem.MODEL_UNSURE: "model unsure",
    ReviewItem.RARE: "rare finding",
}


@dataclass
class SliceFacts:
    """What the tier of any label on one slice depends on."""

    standing: list[Label] = field(default_factory=list)  # newest, not withdrawn, per reader
    model_call: frozenset[str] | None = None  # None when the served model has not scored it
    entropy: float | None = None


def reasons(tier: int) -> list[str]:
    """The tier's bits in words, most important first."""
    return [text for bit, text in REASONS.items() if tier & bit]


def _answer(label: Label) -> tuple[frozenset[str], bool]:
    return frozenset(label.findings), bool(label.cant_tell)


def tier(label: Label, facts: SliceFacts) -> int:
    """The tier of one standing label, given its slice's facts."""
    value = 0
    if len({_answer(other) for other in facts.standing}) > 1:
        value |= ReviewItem.DISAGREEMENT
    model_call = facts.model_call
    if model_call is not None and not label.cant_tell and frozenset(label.findings) != model_call:
        value |= ReviewItem.MODEL_DISAGREES
    if facts.entropy is not None and facts.entropy >= UNSURE_ENTROPY_NATS:
        value |= ReviewItem.MODEL_UNSURE
    if RARE_FINDINGS.intersection(label.findings):
        value |= ReviewItem.RARE
    return value


def slice_facts(instance_ids: Iterable[int]) -> dict[int, SliceFacts]:
    """Facts of these slices: four queries, however many slices."""
    ids = list(instance_ids)
    facts = {pk: SliceFacts() for pk in ids}
    newest: dict[tuple[int, int], Label] = {}
    rows = Label.objects.filter(instance_id__in=ids).order_by("version")
    for label in rows.only("id", "instance_id", "reader_id", "findings", "cant_tell", "withdrawn"):
        newest[(label.instance_id, label.reader_id)] = label
    for label in newest.values():
        if not label.withdrawn:
            facts[label.instance_id].standing.append(label)
    model = promoted()
    if model is None:
        return facts
    cuts = thresholds(model)
    for pk, (prediction, entropy) in predictions.for_instances(ids).items():
        probabilities = prediction.probabilities or {}
        called = {f for f, t in cuts.items() if float(probabilities.get(f, 0.0)) >= t}
        facts[pk].model_call = frozenset(called or {Finding.UNREMARKABLE.value})
        facts[pk].entropy = entropy
    return facts


def tier_for(item: ReviewItem) -> int:
    """The tier this item should have now (not written)."""
    return tier(item.label, slice_facts([item.instance_id])[item.instance_id])


def refresh_tiers(instance_ids: Iterable[int]) -> int:
    """Recompute the tiers of the pending items of these slices; returns how many changed.

    Called after new predictions are stored and when another read of a slice lands. Works
    in batches of BATCH slices, each written in its own short transaction, so a claim that
    skips locked rows never finds the whole queue locked.
    """
    ids = sorted(set(instance_ids))
    changed = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        pending = list(
            ReviewItem.objects.filter(instance_id__in=chunk, status=ReviewItem.Status.PENDING)
            .select_related("label")
            .only("id", "tier", "instance_id", "label__findings", "label__cant_tell")
        )
        if not pending:
            continue
        facts = slice_facts({item.instance_id for item in pending})
        dirty = []
        for item in pending:
            value = tier(item.label, facts[item.instance_id])
            if value != item.tier:
                item.tier = value
                dirty.append(item)
        if dirty:
            with transaction.atomic():
                ReviewItem.objects.bulk_update(dirty, ["tier"])
        changed += len(dirty)
    return changed
