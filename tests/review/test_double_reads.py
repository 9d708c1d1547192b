"""Double reads: a set share of slices goes blind to two different annotators.

Alice and Bob are annotators. A slice drawn for a double read stays in the queue after
Alice's label until a second, different vet has read it, and Bob, who gets it, sees
nothing of what Alice said.
"""

import json
import math
import os
import subprocess
import sys

import pytest

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.worklist import items
from annotator.worklist.models import QueueItem
from tests.conftest import client_for
from tests.factories import make_series

pytestmark = pytest.mark.django_db


def ingest(cohort) -> None:
    ingest_paths(sorted(p for p in cohort.iterdir() if p.is_dir()))


def double_read_slices() -> set[int]:
    return set(QueueItem.objects.filter(reads_needed=2).values_list("instance_id", flat=True))


def within_binomial_tolerance(count: int, n: int, share: float) -> bool:
    """Three standard deviations of Binomial(n, share) around its mean: for the 294 slices
    of the tiny cohort and a share of 0.1 that is 29.4 ± 15.4 slices. The draw is a fixed
    hash, so this either always holds for the cohort or never; three standard deviations
    would fail a fair draw about once in 370 seeds."""
    tolerance = 3 * math.sqrt(n * share * (1 - share))
    return abs(count - n * share) <= tolerance


def keys_of(body: object) -> set[str]:
    """Every key anywhere in a JSON body."""
    if isinstance(body, dict):
        return set(body).union(*(keys_of(value) for value in body.values()))
    if isinstance(body, list):
        return set().union(*(keys_of(value) for value in body))
    return set()


def test_about_a_tenth_of_a_real_cohorts_slices_are_read_twice(tiny_cohort, settings):
    settings.DOUBLE_READ_SHARE = 0.1  # the shipped default
    ingest(tiny_cohort)
    n = QueueItem.objects.count()
    doubles = double_read_slices()
    assert n > 200
    assert doubles
    assert within_binomial_tolerance(len(doubles), n, 0.1), (len(doubles), n)
    # The draw is independent of the shuffled order: double reads come early and late,
    # not only as the first-ranked slices of every series type.
    ranked = [pk for _, pk in sorted(QueueItem.objects.values_list("base_rank", "instance_id"))]
    assert doubles & set(ranked[: n // 2])
    assert doubles & set(ranked[n // 2 :])


def test_another_process_draws_the_same_slices(settings):
    settings.DOUBLE_READ_SHARE = 0.1
    uids = [f"1.2.826.0.1.77.{i}" for i in range(200)]
    here = [items.reads_needed(uid) for uid in uids]
    assert 2 in here
    code = (
        "import django, json, sys; django.setup(); "
        "from annotator.worklist.items import reads_needed; "
        "print(json.dumps([reads_needed(u) for u in json.load(sys.stdin)]))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(uids),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "annotator.settings",
            "DACHS_DOUBLE_READ_SHARE": "0.1",
            "DACHS_SHUFFLE_SEED": str(settings.QUEUE_SHUFFLE_SEED),
            "PYTHONHASHSEED": "12345",  # str hashes differ between processes; the draw must not
        },
    )
    assert json.loads(there.stdout) == here


def test_the_draw_is_the_same_after_a_re_ingest_and_when_an_item_is_healed(tiny_cohort, settings):
    settings.DOUBLE_READ_SHARE = 0.1
    ingest(tiny_cohort)
    drawn = double_read_slices()
    QueueItem.objects.all().delete()
    ingest(tiny_cohort)  # files already stored: only the queue items are made again
    assert double_read_slices() == drawn
    one = min(drawn)
    QueueItem.objects.filter(instance_id=one).delete()
    assert items.lock_item(one).reads_needed == 2


def test_a_share_of_zero_reads_every_slice_once(tiny_cohort, settings):
    settings.DOUBLE_READ_SHARE = 0
    ingest(tiny_cohort)
    assert QueueItem.objects.count() > 200
    assert double_read_slices() == set()


def test_the_share_follows_the_setting(tiny_cohort, settings):
    settings.DOUBLE_READ_SHARE = 0.5
    ingest(tiny_cohort)
    n = QueueItem.objects.count()
    assert within_binomial_tolerance(len(double_read_slices()), n, 0.5)


def test_the_second_read_goes_blind_to_a_different_vet(alice, bob, settings):
    settings.DOUBLE_READ_SHARE = 1.0
    settings.QUEUE_LOOKAHEAD = 0
    make_series(slices=1)
    the_slice = Instance.objects.get()
    alices = client_for(alice)
    held = alices.post("/api/queue/next/").json()
    assert held["slice"]["id"] == the_slice.pk
    submitted = alices.post(
        "/api/annotations/",
        {"slice": the_slice.pk, "findings": ["neoplasia"], "comment": "mass at L2-L3, Alice"},
        format="json",
    )
    assert submitted.status_code == 201
    # Still open for a second read, but never for Alice again.
    assert alices.post("/api/queue/next/").status_code == 204
    assert items.remaining() == 1

    bobs = client_for(bob)
    response = bobs.post("/api/queue/next/")
    assert response.json()["slice"]["id"] == the_slice.pk
    payload = response.content.decode()
    for trace in ("alice", "Alice", "neoplasia", "L2-L3"):
        assert trace not in payload
    assert not keys_of(response.json()) & {"label", "labels", "findings", "reader", "comment"}
    assert bobs.get("/api/annotations/").json()["results"] == []

    second = bobs.post(
        "/api/annotations/", {"slice": the_slice.pk, "findings": ["ivde"]}, format="json"
    )
    assert second.status_code == 201
    item = QueueItem.objects.get(instance=the_slice)
    assert (item.reads_done, item.done) == (2, True)
    assert set(item.readers.values_list("username", flat=True)) == {"alice", "bob"}
    assert items.remaining() == 0
