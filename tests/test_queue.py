"""The labeling queue: who gets which slice, in what order, and never the same one twice."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from annotator import queue
from annotator.labeling import submit_annotation
from annotator.models import ModelVersion, Prediction, Slice
from tests.concurrency import claim_concurrently
from tests.conftest import run_manage
from tests.factories import make_series

pytestmark = pytest.mark.django_db


def test_before_any_model_the_first_slices_cover_every_series_type(alice):
    for plane in ("sagittal", "transverse"):
        for sequence in ("T1W", "T2W"):
            make_series(plane, sequence, slices=6)
    queue.reshuffle_base_order()

    first_four = []
    for _ in range(4):
        claim = queue.claim_next(alice)
        first_four.append((claim.slice.series.plane, claim.slice.series.sequence))
        submit_annotation(alice, claim.slice.pk, "unremarkable")
    assert len(set(first_four)) == 4


def test_the_shuffled_order_is_not_simply_the_ingest_order(alice):
    series = make_series(slices=12)
    queue.reshuffle_base_order()
    ranked = list(queue.ranked(queue.unlabeled(), None).values_list("instance_number", flat=True))
    assert sorted(ranked) == list(range(1, 13))
    assert ranked != sorted(ranked)
    assert series.slices.count() == 12


def test_a_vet_keeps_her_slice_until_she_labels_it_and_others_get_another(alice, bob):
    make_series(slices=3)
    first = queue.claim_next(alice).slice
    assert queue.claim_next(alice).slice == first  # a reload shows the same slice
    assert queue.claim_next(bob).slice != first
    submit_annotation(alice, first.pk, "ivde")
    assert queue.claim_next(alice).slice != first


def test_an_expired_lease_goes_back_to_the_queue(alice, bob):
    make_series(slices=1)
    held = queue.claim_next(alice).slice
    assert queue.claim_next(bob) is None
    Slice.objects.filter(pk=held.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert queue.claim_next(bob).slice == held


def test_once_a_model_exists_the_least_certain_slice_comes_first(alice):
    series = make_series(slices=4)
    model = ModelVersion.objects.create(trigger="manual", status=ModelVersion.Status.ACTIVE)
    uncertainty = {}
    for slice_, h in zip(series.slices.order_by("id"), [0.2, 1.7, 0.9, 1.1], strict=True):
        Prediction.objects.create(
            slice=slice_, model_version=model, finding="ivde", probabilities={}, uncertainty=h
        )
        uncertainty[slice_.pk] = h
    order = []
    while (claim := queue.claim_next(alice)) is not None:
        order.append(uncertainty[claim.slice.pk])
        assert claim.prediction.uncertainty == uncertainty[claim.slice.pk]
        submit_annotation(alice, claim.slice.pk, "unremarkable")
    assert order == [1.7, 1.1, 0.9, 0.2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_vets_claiming_at_once_on_postgresql_never_share_a_slice(django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL to point at PostgreSQL, as .ci/run sets it")
    make_series(slices=60)
    queue.reshuffle_base_order()
    users = [django_user_model.objects.create_user(f"vet{i}") for i in range(8)]
    claimed = claim_concurrently(users, rounds=5)
    assert len(claimed) == 40
    assert len(set(claimed)) == 40


def test_eight_vets_claiming_at_once_on_the_sqlite_default_never_share_a_slice(tmp_path):
    """The embedded default, in its own processes: a real file, WAL, BEGIN IMMEDIATE."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "DACHS_DATA_DIR": str(tmp_path),
    }
    result = run_manage("migrate", "--verbosity", "0", env=env)
    assert result.returncode == 0, result.stderr
    race = subprocess.run(
        [sys.executable, "-m", "tests.concurrency", "8", "60", "5"],
        cwd=Path(__file__).parent.parent,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert race.returncode == 0, race.stderr
    claimed = json.loads(race.stdout)["claimed"]
    assert len(claimed) == 40
    assert len(set(claimed)) == 40
