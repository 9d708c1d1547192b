"""The labeling queue: who gets which slice, in what order, and never the same one twice."""

import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from annotator.audit.models import AuditEvent
from annotator.labeling.services import LabelContent, submit, withdraw
from annotator.worklist import items
from annotator.worklist.claim import claim
from annotator.worklist.models import Lease, QueueItem
from tests.concurrency import claim_concurrently, in_parallel
from tests.conftest import client_for, run_manage
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db


def test_before_any_model_the_first_slices_cover_every_series_type(alice):
    for plane in ("sagittal", "transverse"):
        for sequence in ("T1W", "T2W"):
            make_series(plane, sequence, slices=6)
    first_four = []
    for _ in range(4):
        label = label_next(alice, ["unremarkable"])
        series = label.instance.series
        first_four.append((series.plane, series.sequence))
    assert len(set(first_four)) == 4


def test_the_shuffled_order_is_not_simply_the_ingest_order(alice):
    make_series(slices=12)
    order = []
    while (label := label_next(alice)) is not None:
        order.append(label.instance.instance_number)
    assert sorted(order) == list(range(1, 13))
    assert order != sorted(order)


def test_a_claim_leases_the_current_slice_and_the_next_two_for_prefetching(alice, bob, settings):
    settings.QUEUE_LOOKAHEAD = 2
    make_series(slices=8)
    held = claim(alice)
    assert len(held.lookahead) == 2
    assert set(Lease.objects.filter(holder=alice).values_list("instance_id", flat=True)) == {
        held.current.pk,
        *[i.pk for i in held.lookahead],
    }
    # A reload returns the same set; Bob gets none of Alice's three.
    again = claim(alice)
    assert [again.current, *again.lookahead] == [held.current, *held.lookahead]
    bobs = claim(bob)
    assert {bobs.current, *bobs.lookahead}.isdisjoint({held.current, *held.lookahead})
    # After Alice labels her current slice, her next one becomes current.
    submit(alice, held.current.pk, LabelContent(findings=["ivde"]))
    after = claim(alice)
    assert after.current == held.lookahead[0]
    assert len(after.lookahead) == 2


def test_only_the_current_slice_may_be_submitted(alice):
    make_series(slices=4)
    held = claim(alice)
    from annotator.errors import Conflict

    with pytest.raises(Conflict, match="label the current slice first"):
        submit(alice, held.lookahead[0].pk, LabelContent(findings=["ivde"]))


def test_an_expired_lease_goes_back_to_the_queue_and_the_take_over_is_audited(alice, bob, settings):
    settings.QUEUE_LOOKAHEAD = 0
    make_series(slices=1)
    held = claim(alice).current
    assert claim(bob) is None
    Lease.objects.filter(holder=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    taken = claim(bob).current
    assert taken == held
    # Bob can label it: Alice's expired lease no longer blocks him.
    submit(bob, taken.pk, LabelContent(findings=["ivdp"]))
    event = AuditEvent.objects.get(action="lease.taken_over")
    assert (event.actor, event.target_id, event.data["previous_holder"]) == (bob, held.pk, alice.pk)


def test_once_scored_the_highest_priority_comes_first_whatever_the_base_order(alice):
    series = make_series(slices=4)
    priority = dict(
        zip(
            series.instances.order_by("id").values_list("id", flat=True),
            [0.2, 1.7, 0.9, 1.1],
            strict=True,
        )
    )
    items.set_priorities(priority.items())
    order = []
    while (label := label_next(alice)) is not None:
        order.append(priority[label.instance_id])
    assert order == [1.7, 1.1, 0.9, 0.2]


def test_the_remaining_count_follows_labels_and_withdrawals(alice):
    make_series(slices=3)
    assert items.remaining() == 3
    label = label_next(alice)
    assert items.remaining() == 2
    withdraw(alice, label.pk)
    assert items.remaining() == 3
    # The withdrawn slice is back in the queue for its reader.
    assert QueueItem.objects.get(instance_id=label.instance_id).done is False


def test_a_double_read_needs_two_different_readers(alice, bob, settings):
    settings.QUEUE_LOOKAHEAD = 0
    make_series(slices=1)
    QueueItem.objects.update(reads_needed=2)
    items.recount()
    first = label_next(alice)
    assert claim(alice) is None  # not by her twice
    second = label_next(bob)
    assert second.instance_id == first.instance_id
    assert QueueItem.objects.get().done is True
    assert items.remaining() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_parallel_claims_by_one_user_hold_one_set(alice, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL to point at PostgreSQL, as .ci/run sets it")
    settings.QUEUE_LOOKAHEAD = 2
    make_series(slices=30)
    results: list[list[int]] = []

    def claim_set() -> None:
        held = claim(alice)
        results.append([held.current.pk, *[i.pk for i in held.lookahead]])

    in_parallel(10, claim_set)
    assert len(results) == 10
    assert all(r == results[0] for r in results)
    assert Lease.objects.filter(holder=alice).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_vets_claiming_at_once_on_postgresql_never_share_a_slice(django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL to point at PostgreSQL, as .ci/run sets it")
    make_series(slices=60)
    users = [django_user_model.objects.create_user(f"vet{i}") for i in range(8)]
    claimed = claim_concurrently(users, rounds=4)
    assert len(claimed) == 32
    assert len(set(claimed)) == 32


def test_eight_vets_claiming_at_once_on_the_sqlite_default_never_share_a_slice(tmp_path):
    """The embedded default, in its own processes: a real file, WAL, BEGIN IMMEDIATE."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "DACHS_DATA_DIR": str(tmp_path),
        # one read per slice: a double-read slice is rightly claimed again by a second vet
        "DACHS_DOUBLE_READ_SHARE": "0",
    }
    result = run_manage("migrate", "--verbosity", "0", env=env)
    assert result.returncode == 0, result.stderr
    race = subprocess.run(
        [sys.executable, "-m", "tests.concurrency", "8", "60", "4"],
        cwd=Path(__file__).parent.parent.parent,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert race.returncode == 0, race.stderr
    claimed = json.loads(race.stdout)["claimed"]
    assert len(claimed) == 32
    assert len(set(claimed)) == 32


def test_ingest_again_heals_slices_an_interrupted_ingest_left_out_of_the_queue(alice, tmp_path):
    from pydicom.data import get_testdata_file

    from annotator.imaging.ingest import ingest_paths

    source = Path(get_testdata_file("MR_small.dcm", download=False))
    ingest_paths([source])
    QueueItem.objects.all().delete()  # as if ingest died after storing the slice
    items.recount()
    assert claim(alice) is None
    report = ingest_paths([source])
    assert report.skipped_existing == 1
    assert items.remaining() == 1
    assert claim(alice) is not None


def test_validation_and_test_dogs_are_served_at_their_share_in_random_order(alice, settings):
    settings.QUEUE_LOOKAHEAD = 0
    train = make_series(slices=4, split="train")
    held = make_series(slices=4, split="test")
    # A model's priorities would put the held-out slices in reverse order: they are ignored.
    items.set_priorities((pk, float(pk)) for pk in held.instances.values_list("id", flat=True))
    settings.QUEUE_HELD_OUT_SHARE = 1.0
    first = label_next(alice)
    assert first.instance.series == held
    settings.QUEUE_HELD_OUT_SHARE = 0.0
    assert label_next(alice).instance.series == train
    settings.QUEUE_HELD_OUT_SHARE = 1.0
    order = [first.instance_id]
    while (label := label_next(alice)) is not None and label.instance.series == held:
        order.append(label.instance_id)
    ranks = dict(QueueItem.objects.values_list("instance_id", "base_rank"))
    assert len(order) == 4
    assert [ranks[pk] for pk in order] == sorted(ranks[pk] for pk in order)


def test_about_a_fifth_of_claims_come_from_held_out_dogs_by_default(alice, settings):
    settings.QUEUE_LOOKAHEAD = 0
    make_series(slices=150, split="train")
    make_series(slices=150, split="val")
    random.seed(5)
    held_out = sum(label_next(alice).instance.series.study.dog.split == "val" for _ in range(100))
    assert 10 <= held_out <= 30


def test_signing_out_gives_alices_slices_back_to_bob_at_once(alice, bob):
    make_series(slices=4)
    client = client_for(alice)
    held = client.post("/api/queue/next/").json()["slice"]["id"]
    assert Lease.objects.filter(holder=alice).exists()
    client.post("/accounts/logout/")
    assert not Lease.objects.filter(holder=alice).exists()
    assert client_for(bob).post("/api/queue/next/").json()["slice"]["id"] == held
    assert AuditEvent.objects.filter(action="lease.released", actor=alice).exists()
