"""One training at a time: a second worker's run waits until the first one has ended."""

import threading
import time

import pytest
from django.db import connections

from annotator.learning import runs
from annotator.learning.models import TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_second_run_starts_only_when_the_first_has_ended():
    first = TrainingRun.objects.create(trigger="manual")
    assert runs.start(first.pk)
    second = TrainingRun.objects.create(trigger="labels")
    started = threading.Event()

    def second_worker() -> None:
        try:
            if runs.start(second.pk, poll_seconds=0.05):
                started.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=second_worker)
    thread.start()
    time.sleep(0.5)
    assert not started.is_set()
    assert TrainingRun.objects.get(pk=second.pk).status == TrainingRun.Status.QUEUED
    runs.finish(first.pk)
    thread.join(timeout=10)
    assert started.is_set()
    assert TrainingRun.objects.get(pk=second.pk).status == TrainingRun.Status.RUNNING


def test_a_waiting_run_that_is_cancelled_never_starts():
    first = TrainingRun.objects.create(trigger="manual")
    runs.start(first.pk)
    second = TrainingRun.objects.create(trigger="labels")
    runs.cancel(second.pk)
    assert runs.start(second.pk, poll_seconds=0.05) is False
