"""An admin cancels a training run: a waiting one never starts, a running one is stopped."""

import os
import signal
import time

import pytest
from rq import Queue

from annotator.learning import policy
from annotator.learning.models import TrainingRun
from tests.conftest import client_for
from tests.learning.test_run_failures import enqueue
from tests.learning.workers import start_worker


@pytest.mark.django_db
def test_a_queued_run_is_cancelled_and_leaves_the_job_queue(carol, alice, rq_redis):
    run, _ = policy.request_training(TrainingRun.Trigger.MANUAL)
    assert Queue("training", connection=rq_redis).count == 1
    assert client_for(alice).post(f"/api/training-runs/{run.pk}/cancel/").status_code == 403
    response = client_for(carol).post(f"/api/training-runs/{run.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert Queue("training", connection=rq_redis).count == 0
    again = client_for(carol).post(f"/api/training-runs/{run.pk}/cancel/")
    assert again.status_code == 409
    # A new trigger queues a new run: the cancelled one no longer absorbs it.
    assert policy.request_training(TrainingRun.Trigger.MANUAL)[1] is True


@pytest.mark.django_db(transaction=True)
def test_a_running_run_is_stopped(carol, rq_redis, redis_url, data_dir):
    run, _ = policy.request_training(TrainingRun.Trigger.MANUAL, send_now=False)
    job = enqueue(rq_redis, "tests.learning.jobs.trains_forever", run)
    TrainingRun.objects.filter(pk=run.pk).update(rq_job_id=job.id)
    worker = start_worker(redis_url, data_dir)
    try:
        deadline = time.monotonic() + 60
        while run.status != TrainingRun.Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.2)
            run.refresh_from_db()
        assert run.status == TrainingRun.Status.RUNNING
        response = client_for(carol).post(f"/api/training-runs/{run.pk}/cancel/")
        assert response.json()["status"] == "cancelled"
        job.refresh()
        pid = job.meta.get("pid")
        stopped = False
        while pid and time.monotonic() < deadline and not stopped:
            try:
                os.kill(pid, 0)
                time.sleep(0.2)
            except ProcessLookupError:
                stopped = True
        assert stopped, "the work horse was not stopped"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
