"""Reviewers asking for work at the same moment, each on its own connection (PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections

from annotator.review.models import Review
from annotator.review.queue import claim_review
from annotator.review.services import decide
from annotator.worklist.models import Lease
from tests.concurrency import in_parallel
from tests.conftest import person
from tests.factories import make_series
from tests.review.helpers import label_slice

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def needs_postgresql(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL to point at PostgreSQL, as .ci/run sets it")
    settings.QUEUE_LOOKAHEAD = 0
    settings.DOUBLE_READ_SHARE = 0.0


def labeled_slices(annotator, count: int) -> list[int]:
    ids = list(make_series(slices=count).instances.order_by("id").values_list("id", flat=True))
    for pk in ids:
        label_slice(annotator, pk)
    return ids


def test_six_reviewers_deciding_at_once_never_share_a_slice(alice):
    labeled_slices(alice, 24)
    reviewers = [person(f"reviewer{i}", "reviewer") for i in range(6)]
    barrier = threading.Barrier(len(reviewers))
    taken: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(reviewer) -> None:
        try:
            barrier.wait()
            for _ in range(4):
                held = claim_review(reviewer)
                if held is None:
                    return
                with lock:
                    taken.append((reviewer.pk, held.instance.pk))
                decide(reviewer, held.label.pk, "approve")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    slices = [pk for _, pk in taken]
    assert len(slices) == 24
    assert len(set(slices)) == 24
    assert Review.objects.count() == 24
    assert not Lease.objects.filter(kind="review").exists()


def test_ten_parallel_claims_by_one_reviewer_hold_one_slice(alice, rita):
    labeled_slices(alice, 10)
    results: list[int] = []

    def claim_one() -> None:
        results.append(claim_review(rita).instance.pk)

    in_parallel(10, claim_one)
    assert len(results) == 10
    assert len(set(results)) == 1
    assert Lease.objects.filter(kind="review", holder=rita).count() == 1
