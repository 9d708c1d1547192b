"""A training run always ends: a dying worker or an abandoned job marks it failed."""

import os
import signal
import time

import pytest
from rq import Callback, Queue
from rq.registry import StartedJobRegistry

from annotator.learning import policy, runs
from annotator.learning.models import TrainingRun
from tests.conftest import database_url, run_manage
from tests.learning.workers import start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def enqueue(rq_redis, func: str, run: TrainingRun):
    queue = Queue("training", connection=rq_redis)
    return queue.enqueue(
        func,
        run.pk,
        job_id=runs.job_id(run.pk),
        job_timeout=600,
        on_failure=Callback("annotator.learning.runs.on_job_failure"),
    )


def worker_env(redis_url: str, data_dir) -> dict[str, str]:
    return {"DATABASE_URL": database_url(), "REDIS_URL": redis_url, "DACHS_DATA_DIR": str(data_dir)}


def test_a_work_horse_killed_mid_training_ends_its_run_failed(rq_redis, redis_url, data_dir):
    run, _ = policy.request_training(TrainingRun.Trigger.MANUAL, send_now=False)
    enqueue(rq_redis, "tests.learning.jobs.killed_like_oom", run)
    worker = run_manage("rqworker", "training", "--burst", env=worker_env(redis_url, data_dir))
    assert worker.returncode == 0, worker.stderr[-2000:]
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "worker process died (signal 9)" in run.error


def test_a_worker_killed_as_a_whole_leaves_an_abandoned_job_that_ends_failed(
    rq_redis, redis_url, data_dir
):
    run, _ = policy.request_training(TrainingRun.Trigger.MANUAL, send_now=False)
    job = enqueue(rq_redis, "tests.learning.jobs.trains_forever", run)
    worker = start_worker(redis_url, data_dir)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status == TrainingRun.Status.RUNNING:
                break
            time.sleep(0.2)
        assert run.status == TrainingRun.Status.RUNNING
    finally:
        # The worker and its work horse die at once: nothing gets to clean up.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        job.refresh()
        if "pid" in job.meta:
            os.kill(job.meta["pid"], signal.SIGKILL)
    # Later, rq's registry cleanup (run by every worker's maintenance) finds it abandoned.
    StartedJobRegistry("training", connection=rq_redis).cleanup(time.time() + 100_000)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "abandoned" in run.error


def test_a_run_that_cannot_learn_ends_failed_with_the_reason(rq_redis, redis_url, data_dir):
    run, _ = policy.request_training(TrainingRun.Trigger.MANUAL)
    worker = run_manage("rqworker", "training", "--burst", env=worker_env(redis_url, data_dir))
    assert worker.returncode == 0, worker.stderr[-2000:]
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "no labeled slices from training dogs yet" in run.error
