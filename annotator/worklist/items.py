"""Keeping the queue's indexed order and counters right as slices, labels and scores change.

Everything that changes whether an item still needs a read goes through here, so the
`done` flag, the read count and the remaining counter never drift apart.
"""

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from annotator.imaging.models import Instance
from annotator.vocab import Split
from annotator.worklist.models import LeaseKind, QueueCounter, QueueItem

BATCH = 500


def add_new_instances() -> int:
    """Give every slice without a queue item one (held out if its dog is a validation or
    test dog; read twice if it is drawn for a double read), then re-rank the pre-model
    order."""
    missing = Instance.objects.filter(queue_item__isnull=True).values_list(
        "id", "sop_instance_uid", "series__study__dog__split"
    )
    rows = list(missing)
    for start in range(0, len(rows), BATCH):
        QueueItem.objects.bulk_create(
            [
                QueueItem(
                    instance_id=pk, held_out=split != Split.TRAIN, reads_needed=reads_needed(uid)
                )
                for pk, uid, split in rows[start : start + BATCH]
            ],
            ignore_conflicts=True,
        )
    if rows:
        recount()
        reshuffle_base_order()
    return len(rows)


def reads_needed(sop_instance_uid: str) -> int:
    """2 for the share DACHS_DOUBLE_READ_SHARE of slices that two annotators read blind
    (to measure how often vets agree), else 1.

    The draw is a hash of the seed and the UID, so a re-ingest, a healed item and every
    process agree on it; it is salted apart from the shuffle key, or the double reads would
    be the first slices of every series type. Only new items are drawn: changing the share
    leaves the reads already asked for as they are.
    """
    key = hashlib.sha256(
        f"{settings.QUEUE_SHUFFLE_SEED}:double-read:{sop_instance_uid}".encode()
    ).digest()
    draw = int.from_bytes(key[:8], "big") / 2**64  # uniform in [0, 1)
    return 2 if draw < settings.DOUBLE_READ_SHARE else 1


def recount() -> int:
    """Set the remaining counter from the items (after bulk changes; not per request).

    Counting happens under the counter row's lock, so a label committed meanwhile is either
    in the count or applies its own -1 after it, never both or neither.
    """
    with transaction.atomic():
        counter, _ = QueueCounter.objects.select_for_update().get_or_create(kind=LeaseKind.LABEL)
        counter.remaining = QueueItem.objects.filter(done=False).count()
        counter.save(update_fields=["remaining"])
    return counter.remaining


def remaining() -> int:
    counter = QueueCounter.objects.filter(kind=LeaseKind.LABEL).first()
    return counter.remaining if counter else 0


def _shift_remaining(delta: int) -> None:
    if delta:
        updated = QueueCounter.objects.filter(kind=LeaseKind.LABEL).update(
            remaining=F("remaining") + delta
        )
        if not updated:
            recount()


def lock_item(instance_id: int) -> QueueItem:
    """The slice's queue item, locked for this transaction (created if it is missing)."""
    item = QueueItem.objects.select_for_update().filter(instance_id=instance_id).first()
    if item is None:
        uid, split = Instance.objects.filter(pk=instance_id).values_list(
            "sop_instance_uid", "series__study__dog__split"
        )[0]
        item, created = QueueItem.objects.get_or_create(
            instance_id=instance_id,
            defaults={"held_out": split != Split.TRAIN, "reads_needed": reads_needed(uid)},
        )
        if created:
            _shift_remaining(1)
        item = QueueItem.objects.select_for_update().get(pk=item.pk)
    return item


def mark_read(instance_id: int, reader: AbstractBaseUser) -> None:
    """A reader's label now counts for this slice. Call inside the label's transaction."""
    item = lock_item(instance_id)
    if item.readers.filter(pk=reader.pk).exists():
        return
    item.readers.add(reader)
    _set_reads(item, item.reads_done + 1)


def unmark_read(instance_id: int, reader: AbstractBaseUser) -> None:
    """A reader's label no longer counts (withdrawn, rejected): the slice needs a read again."""
    item = lock_item(instance_id)
    if not item.readers.filter(pk=reader.pk).exists():
        return
    item.readers.remove(reader)
    _set_reads(item, max(0, item.reads_done - 1))


def _set_reads(item: QueueItem, reads_done: int) -> None:
    was_done = item.done
    item.reads_done = reads_done
    item.done = reads_done >= item.reads_needed
    QueueItem.objects.filter(pk=item.pk).update(reads_done=item.reads_done, done=item.done)
    _shift_remaining(int(was_done) - int(item.done))


def set_priorities(priorities: Iterable[tuple[int, float]]) -> int:
    """Write the selection strategy's order: (instance id, priority), higher first.

    In small transactions: on PostgreSQL a claim skips locked rows, so one long
    transaction over the whole pool would make the queue look empty meanwhile.
    """
    pairs = list(priorities)
    by_instance = dict(pairs)
    written = 0
    for start in range(0, len(pairs), BATCH):
        chunk = [pk for pk, _ in pairs[start : start + BATCH]]
        items = list(QueueItem.objects.filter(instance_id__in=chunk).only("id", "instance_id"))
        for item in items:
            item.priority = by_instance[item.instance_id]
        with transaction.atomic():
            QueueItem.objects.bulk_update(items, ["priority"])
        written += len(items)
    return written


def reshuffle_base_order() -> None:
    """Give every item its pre-model rank: a seeded shuffle within each series type
    (plane × weighting), then the types interleaved round-robin.

    The shuffle key is a hash of the seed and the instance UID, so adding dogs never
    reorders slices that were already ranked relative to each other.
    """
    rows = QueueItem.objects.values_list(
        "id",
        "instance__sop_instance_uid",
        "instance__series__plane",
        "instance__series__sequence",
        "base_rank",
    )
    groups: dict[tuple[str, str], list[tuple[str, int]]] = {}
    current: dict[int, int] = {}
    for pk, uid, plane, sequence, rank in rows.iterator(chunk_size=5000):
        key = hashlib.sha256(f"{settings.QUEUE_SHUFFLE_SEED}:{uid}".encode()).hexdigest()
        groups.setdefault((plane, sequence), []).append((key, pk))
        current[pk] = rank
    ordered_groups = [sorted(members) for _, members in sorted(groups.items())]
    changed = [
        QueueItem(pk=pk, base_rank=position * len(ordered_groups) + group_index)
        for group_index, members in enumerate(ordered_groups)
        for position, (_, pk) in enumerate(members)
        if current[pk] != position * len(ordered_groups) + group_index
    ]
    for start in range(0, len(changed), BATCH):
        with transaction.atomic():
            QueueItem.objects.bulk_update(changed[start : start + BATCH], ["base_rank"])
