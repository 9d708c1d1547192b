"""When to train, and sending the run to the job queue: the only place jobs are enqueued.

The web process never imports torch: jobs are enqueued by their dotted name. A request
never waits on Redis for long (socket timeouts), and never fails because Redis is down:
a run that could not be sent stays queued without a job id and is sent again by a later
label or button press once Redis answers.
"""

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from rq import Callback, Queue

from annotator.audit.log import record
from annotator.errors import Unavailable
from annotator.labeling.models import Label
from annotator.learning import runs
from annotator.learning.models import TrainingRun

log = logging.getLogger(__name__)

TRAIN_TASK = "annotator.learning.tasks.train"
TRAINING_QUEUE = "training"


def redis_connection() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )


def training_queue() -> Queue:
    return Queue(TRAINING_QUEUE, connection=redis_connection())


def request_training(
    trigger: str, user: AbstractBaseUser | None = None, *, send_now: bool = True
) -> tuple[TrainingRun, bool]:
    """Queue one training run, unless one already waits (then that one). (run, created).

    Raises Unavailable if the run cannot be sent to Redis now; it stays recorded and is
    sent again later.
    """
    run, created = _queued_run(trigger, user)
    if send_now and not run.rq_job_id:
        send(run)
    return run, created


def _queued_run(trigger: str, user: AbstractBaseUser | None) -> tuple[TrainingRun, bool]:
    waiting = TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED).first()
    if waiting is not None:
        return waiting, False
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                trigger=trigger, requested_by=user, labels_seen=_newest_label_id()
            )
            record("training.requested", actor=user, target=run, trigger=trigger)
    except IntegrityError:  # a concurrent trigger queued one first (one queued at a time)
        return TrainingRun.objects.get(status=TrainingRun.Status.QUEUED), False
    return run, True


def send(run: TrainingRun) -> None:
    """Enqueue the run's job; on a Redis failure record it and raise Unavailable."""
    now = timezone.now()
    try:
        job = training_queue().enqueue(
            TRAIN_TASK,
            run.pk,
            job_id=runs.job_id(run.pk),
            job_timeout=settings.TRAIN_JOB_TIMEOUT,
            on_failure=Callback("annotator.learning.runs.on_job_failure"),
            description=f"training run {run.pk} ({run.trigger})",
        )
    except redis.RedisError as exc:
        TrainingRun.objects.filter(pk=run.pk).update(
            enqueue_error=f"the job queue (Redis) did not answer: {exc}"[:500],
            enqueue_attempted_at=now,
        )
        log.warning("training run %s could not be sent to Redis; it will be retried", run.pk)
        raise Unavailable(
            "The job queue (Redis) cannot be reached right now. The training request is "
            "recorded and will be sent as soon as it is back."
        ) from None
    TrainingRun.objects.filter(pk=run.pk).update(
        rq_job_id=job.id, enqueue_error="", enqueue_attempted_at=now
    )
    run.rq_job_id = job.id


def resend_waiting() -> bool:
    """Send a queued run that has no job yet (Redis was down), unless tried very recently."""
    cutoff = timezone.now() - timedelta(seconds=settings.ENQUEUE_RETRY_SECONDS)
    run = (
        TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, rq_job_id="")
        .exclude(enqueue_attempted_at__gt=cutoff)
        .first()
    )
    if run is None:
        return False
    send(run)
    return True


def _newest_label_id() -> int:
    newest = Label.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


def labels_since_last_run() -> int:
    """New label versions that could train the model, since the newest training run."""
    last = TrainingRun.objects.order_by("-id").first()
    since = last.labels_seen if last else 0
    return (
        Label.objects.filter(id__gt=since, withdrawn=False, cant_tell="")
        .values("instance_id")
        .distinct()
        .count()
    )


def retrain_if_due() -> TrainingRun | None:
    """Queue a run once RETRAIN_EVERY new labels arrived since the last one."""
    if labels_since_last_run() < settings.RETRAIN_EVERY:
        return None
    run, created = request_training(TrainingRun.Trigger.LABELS)
    return run if created else None


def labels_changed() -> None:
    """After a label is committed: resend a waiting run, or queue one if due.

    Never raises: the vet's label is stored whatever Redis does.
    """
    try:
        resend_waiting()
        retrain_if_due()
    except Unavailable:
        pass  # recorded on the run; retried by a later label
    except Exception:
        log.exception("could not check whether a retrain is due")
