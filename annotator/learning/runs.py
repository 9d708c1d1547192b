"""Training-run state changes that do not need torch: used by jobs, callbacks and workers.

A run moves queued → running → finished | failed | cancelled, each step a conditional
update, so a duplicate job, a late callback or a restarted worker can never move it back.
"""

import logging
import time

from django.db import IntegrityError, transaction
from django.utils import timezone
from rq.exceptions import AbandonedJobError

from annotator.learning.models import TrainingRun

log = logging.getLogger(__name__)

JOB_PREFIX = "training-run-"


def job_id(run_id: int) -> str:
    return f"{JOB_PREFIX}{run_id}"


def run_id_of(job_id_: str) -> int | None:
    if not job_id_.startswith(JOB_PREFIX):
        return None
    try:
        return int(job_id_.removeprefix(JOB_PREFIX))
    except ValueError:
        return None


def start(run_id: int, poll_seconds: float = 5.0) -> bool:
    """Queued → running, once no other run is running (one training at a time).

    False if the run is not waiting any more (cancelled, or a duplicate job). A second
    training worker waits here until the first one's run has ended.
    """
    while True:
        if not TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).exists():
            return False
        try:
            with transaction.atomic():
                return bool(
                    TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
                        status=TrainingRun.Status.RUNNING,
                        started_at=timezone.now(),
                        enqueue_error="",
                    )
                )
        except IntegrityError:  # another run is running: wait for it to end
            time.sleep(poll_seconds)


def still_running(run_id: int) -> bool:
    """False once the run was cancelled (or failed) while its job was working."""
    return TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).exists()


def finish(run_id: int, **fields: object) -> bool:
    """Running → finished, with its counts and timings. False if it was cancelled meanwhile."""
    return bool(
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
            status=TrainingRun.Status.FINISHED, finished_at=timezone.now(), **fields
        )
    )


def cancel(run_id: int) -> bool:
    """Queued or running → cancelled. False if it had already ended."""
    return bool(
        TrainingRun.objects.filter(
            pk=run_id, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
        ).update(status=TrainingRun.Status.CANCELLED, finished_at=timezone.now())
    )


def fail(run_id: int, reason: str) -> bool:
    """Queued or running → failed, with the reason. False if it had already ended."""
    updated = TrainingRun.objects.filter(
        pk=run_id, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
    ).update(status=TrainingRun.Status.FAILED, finished_at=timezone.now(), error=reason[:4000])
    if updated:
        log.warning("training run %s failed: %s", run_id, reason[:300])
    return bool(updated)


def fail_job(job_id_: str, reason: str) -> bool:
    run_id = run_id_of(job_id_)
    return fail(run_id, reason) if run_id is not None else False


def on_job_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """rq's failure callback: the job raised, timed out, or was found abandoned."""
    if exc_type is AbandonedJobError:
        reason = "the worker running it stopped without finishing (found abandoned by rq)"
    elif exc_type is not None:
        reason = f"{exc_type.__name__}: {exc_value}"
    else:
        reason = "the job failed"
    fail_job(job.id, reason)
