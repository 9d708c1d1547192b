"""Where each label chain stands after review: the one rule for what counts as accepted.

A chain is one reader's versions of one slice; its newest version is what stands. The review
decisions leave these traces (see models.py): approve writes an approve Review on exactly the
version it approved; correct writes a new version with source "review"; reject writes a
withdrawn version that is the `result` of a reject Review. So the status of a chain can be
read from its newest version alone, in the database, for any number of chains at once:

- rejected: withdrawn by a reviewer's reject decision;
- withdrawn: undone by its reader or an admin;
- imported: brought in by `manage.py import_labels` (a clinic's existing, trusted labels);
- corrected: the reviewer's findings replaced the reader's;
- approved: a reviewer approved this very version (an edit after approval needs a new one);
- submitted: anything else, i.e. awaiting review.

"Can't tell" is not a status but a flag: such a label still awaits review or gets approved,
it just never trains. Accepted means approved, corrected or imported.
"""

from collections.abc import Iterable

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Value, When

from annotator.labeling.models import Label
from annotator.review.models import Decision, Review
from annotator.vocab import Split

SUBMITTED = "submitted"
APPROVED = "approved"
CORRECTED = "corrected"
IMPORTED = "imported"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
STATUSES = (SUBMITTED, APPROVED, CORRECTED, IMPORTED, REJECTED, WITHDRAWN)
ACCEPTED = (APPROVED, CORRECTED, IMPORTED)
# Which statuses train the model on training dogs' slices, per DACHS_TRAIN_ON.
TRAINS = {"submitted": (SUBMITTED, *ACCEPTED), "accepted": ACCEPTED}
SPLITS = [s.value for s in Split]


def approved_here() -> Exists:
    """True for a label version that a reviewer approved as it is."""
    return Exists(Review.objects.filter(decision=Decision.APPROVE, label_id=OuterRef("pk")))


def rejected_here() -> Exists:
    """True for the withdrawn version that a reviewer's reject decision wrote."""
    return Exists(Review.objects.filter(decision=Decision.REJECT, result_id=OuterRef("pk")))


def accepted_q() -> Q:
    """Filter for label versions that are accepted (approved, corrected or imported)."""
    return Q(withdrawn=False) & (
        Q(source__in=[Label.Source.IMPORT, Label.Source.REVIEW]) | Q(approved_here())
    )


def current_versions(labels: QuerySet[Label] | None = None) -> QuerySet[Label]:
    """The newest version of each chain among `labels` (all labels by default).

    Answered by the (instance, reader, version) unique index: no newer version exists.
    """
    newer = Label.objects.filter(
        instance_id=OuterRef("instance_id"),
        reader_id=OuterRef("reader_id"),
        version__gt=OuterRef("version"),
    )
    base = Label.objects.all() if labels is None else labels
    return base.filter(~Exists(newer))


def with_status(labels: QuerySet[Label]) -> QuerySet[Label]:
    """`labels` annotated with `status`, computed by the database (one query in all)."""
    return labels.annotate(
        status=Case(
            When(Q(withdrawn=True) & Q(rejected_here()), then=Value(REJECTED)),
            When(withdrawn=True, then=Value(WITHDRAWN)),
            When(source=Label.Source.IMPORT, then=Value(IMPORTED)),
            When(source=Label.Source.REVIEW, then=Value(CORRECTED)),
            When(approved_here(), then=Value(APPROVED)),
            default=Value(SUBMITTED),
        )
    )


def status_of(label: Label) -> str:
    """The status of one label version (as if it were its chain's newest)."""
    return with_status(Label.objects.filter(pk=label.pk)).values_list("status", flat=True)[0]


def accepted_label_ids(label_ids: Iterable[int] | QuerySet) -> set[int]:
    """Which of these label versions are accepted. One query; a queryset of ids is sent to
    the database as a subquery, so long lists need not travel as parameters."""
    ids = label_ids if isinstance(label_ids, QuerySet) else list(label_ids)
    return set(Label.objects.filter(accepted_q(), pk__in=ids).values_list("id", flat=True))


def counts_by_status() -> dict[str, dict[str, int]]:
    """{split: {status: chains, ..., "cant_tell": chains}} over every slice's current chains,
    plus a "total" split. One query.

    A double-read slice has two chains, so it counts twice. `cant_tell` counts the chains
    whose standing label (neither withdrawn nor rejected) is "can't tell"; they are also
    counted under their status.
    """
    rows = (
        with_status(current_versions())
        .values("instance__series__study__dog__split", "status")
        .annotate(
            n=Count("id"), cant_tell=Count("id", filter=~Q(cant_tell="") & Q(withdrawn=False))
        )
    )
    counts = {split: dict.fromkeys((*STATUSES, "cant_tell"), 0) for split in (*SPLITS, "total")}
    for row in rows:
        split = row["instance__series__study__dog__split"]
        for key in (split, "total"):
            counts[key][row["status"]] += row["n"]
            counts[key]["cant_tell"] += row["cant_tell"]
    return counts
