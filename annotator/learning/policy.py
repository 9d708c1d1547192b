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
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from rq import Callback, Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from annotator.audit.log import record
from annotator.errors import Conflict, Unavailable
from annotator.labeling.models import Label
from annotator.learning import runs
from annotator.learning.models import ModelVersion, TrainingRun
from annotator.review import status
from annotator.review.models import Decision, Review
from annotator.vocab import Split

log = logging.getLogger(__name__)

TRAIN_TASK = "annotator.learning.tasks.train"
SCORE_TASK = "annotator.learning.tasks.score"
SCORE_SERIES_TASK = "annotator.learning.tasks.score_series"
TRAINING_QUEUE = "training"
DEFAULT_QUEUE = "default"


def redis_connection() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )


def training_queue() -> Queue:
    return Queue(TRAINING_QUEUE, connection=redis_connection())


def default_queue() -> Queue:
    return Queue(DEFAULT_QUEUE, connection=redis_connection())


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


def request_scoring(version: ModelVersion) -> None:
    """Score the open slices with this version (after a promotion by hand or a rollback)."""
    try:
        default_queue().enqueue(
            SCORE_TASK,
            version.pk,
            job_id=f"score-model-{version.pk}-{int(timezone.now().timestamp())}",
            job_timeout=settings.SCORE_JOB_TIMEOUT,
            description=f"score the queue with model v{version.pk}",
        )
    except redis.RedisError:
        log.warning("could not queue scoring for model v%s (Redis down)", version.pk)
        raise Unavailable(
            f"Model v{version.pk} is served now, but the job queue (Redis) cannot be reached "
            "to re-rank the queue with it; retry when it is back."
        ) from None


def score_new_series(series_ids: list[int]) -> ModelVersion | None:
    """After an ingest: have the served version score the new series (for the second-eye
    view). Returns the version, or None when nothing is served; Redis down: Unavailable."""
    version = ModelVersion.objects.filter(status=ModelVersion.Status.PROMOTED).first()
    if version is None or not series_ids:
        return None
    try:
        default_queue().enqueue(
            SCORE_SERIES_TASK,
            version.pk,
            list(series_ids),
            job_timeout=settings.SCORE_JOB_TIMEOUT,
            description=f"score {len(series_ids)} new series with model v{version.pk}",
        )
    except redis.RedisError:
        log.warning("could not queue scoring of new series (Redis down)")
        raise Unavailable(
            "The new series are stored, but the job queue (Redis) cannot be reached to score "
            "them; they are scored at the next retrain or promotion."
        ) from None
    return version


def cancel(run: TrainingRun, user: AbstractBaseUser) -> TrainingRun:
    """Cancel a queued or running training run; a running job's work horse is stopped."""
    if not runs.cancel(run.pk):
        raise Conflict(f"training run {run.pk} has already ended ({run.status})")
    record("training.cancelled", actor=user, target=run, was=run.status)
    if run.rq_job_id:
        try:
            connection = redis_connection()
            if run.status == TrainingRun.Status.RUNNING:
                send_stop_job_command(connection, run.rq_job_id)
            else:
                Job.fetch(run.rq_job_id, connection=connection).cancel()
        except (redis.RedisError, NoSuchJobError, InvalidJobOperation):
            # The run is cancelled in the database either way: a job that still starts
            # finds it cancelled and does nothing; a running one stops before promoting.
            log.warning("training run %s: the job could not be stopped in Redis", run.pk)
    run.refresh_from_db()
    return run


def _newest_label_id() -> int:
    newest = Label.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


def labels_since_last_run() -> int:
    """Slices with a new label the next run would use, since the newest training run.

    Only labels that stand count: the newest version of its chain, neither withdrawn (nor
    rejected) nor "can't tell". Beyond that it follows DACHS_TRAIN_ON, as
    dataset.current_labels does. "submitted": every such label written since the run.
    "accepted": on training dogs only a label that became accepted: a correction or an
    import (a new version), or an approval given since the run (no new version, so the
    run's request time is the mark); validation and test dogs' labels count when written,
    as they are used then. A review decision calls labels_changed() for its approval to
    count at once.
    """
    last = TrainingRun.objects.order_by("-id").first()
    since = last.labels_seen if last else 0
    usable = status.current_versions(Label.objects.filter(withdrawn=False, cant_tell=""))
    new = Q(id__gt=since)
    if settings.TRAIN_ON == "accepted":
        on_train = Q(instance__series__study__dog__split=Split.TRAIN)
        written = new & Q(source__in=[Label.Source.IMPORT, Label.Source.REVIEW])
        approvals = Review.objects.filter(decision=Decision.APPROVE, label_id=OuterRef("pk"))
        if last is not None:
            approvals = approvals.filter(created_at__gt=last.created_at)
        new = (new & ~on_train) | (on_train & (written | Q(Exists(approvals))))
    return usable.filter(new).values("instance_id").distinct().count()


def retrain_if_due() -> TrainingRun | None:
    """Queue a run once RETRAIN_EVERY new labels arrived since the last one."""
    if labels_since_last_run() < settings.RETRAIN_EVERY:
        return None
    run, created = request_training(TrainingRun.Trigger.LABELS)
    return run if created else None


def nightly() -> int | None:
    """The nightly trigger (an rq cron job on the default queue); the run's id, if any."""
    if not TrainingRun.objects.exists() and not Label.objects.exists():
        return None  # nothing labeled yet: nothing to learn
    run, _ = request_training(TrainingRun.Trigger.NIGHTLY)
    return run.pk


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
