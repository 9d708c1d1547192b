"""Labels on chosen slices and a served model's opinions, for the review tests."""

import itertools

from annotator.labeling.models import Label
from annotator.labeling.services import LabelContent, submit
from annotator.learning.dataset import LESIONS
from annotator.learning.models import ModelVersion, Prediction, Score, TrainingRun
from annotator.review import queue
from annotator.worklist import items
from annotator.worklist.claim import claim
from annotator.worklist.models import QueueItem

_top = itertools.count(1_000)


def label_slice(
    user, instance_id: int, findings: list[str] | None = None, cant_tell: str | None = None
) -> Label:
    """The user asks the labeling queue for this slice (put first) and labels it."""
    items.set_priorities([(instance_id, float(next(_top)))])
    held = claim(user)
    assert held is not None and held.current.pk == instance_id, "the queue gave another slice"
    if findings is None and cant_tell is None:
        findings = ["ivde"]
    label, _ = submit(user, instance_id, LabelContent(findings=findings or [], cant_tell=cant_tell))
    return label


def needs_two_reads(instance_id: int) -> None:
    QueueItem.objects.filter(instance_id=instance_id).update(reads_needed=2)
    items.recount()


def serve_model(
    probabilities: dict[int, dict[str, float]], entropy: dict[int, float] | None = None
) -> ModelVersion:
    """A promoted model (thresholds 0.5) that scored these slices; the queue is told."""
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(
        run=run,
        checkpoint_key=f"ab/{run.pk}.pt",
        status="promoted",
        config={"thresholds": [0.5] * len(LESIONS)},
    )
    for instance_id, given in probabilities.items():
        shown = {lesion: given.get(lesion, 0.01) for lesion in LESIONS}
        shown["unremarkable"] = round(1 - max(shown.values()), 5)
        called = [lesion for lesion in LESIONS if shown[lesion] >= 0.5]
        finding = max(called, key=shown.get) if called else "unremarkable"
        Prediction.objects.create(
            instance_id=instance_id, model=model, finding=finding, probabilities=shown
        )
        value = (entropy or {}).get(instance_id, 0.1)
        Score.objects.create(instance_id=instance_id, model=model, measure="entropy", value=value)
    queue.refresh_tiers(list(probabilities))
    return model


def review_all_of_slice(reviewer, decision: str = "approve") -> list[int]:
    """The reviewer claims a slice and decides every label on it; the decided label ids."""
    from annotator.review.services import decide

    decided = []
    first = queue.claim_review(reviewer)
    if first is None:
        return decided
    held = first
    while held is not None and held.instance.pk == first.instance.pk:
        decide(reviewer, held.label.pk, decision, reason="not this one")
        decided.append(held.label.pk)
        held = queue.claim_review(reviewer)
    return decided
