import json
import time

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rq import Worker
from rq.job import Job

from annotator.errors import Unavailable
from annotator.learning import policy
from annotator.learning.models import ModelVersion, TrainingRun


class Command(BaseCommand):
    help = (
        "Queue a training run for a worker. With --wait, follow it to the end and print the "
        "result (it trains here only when no worker listens to the training queue)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", action="store_true", help="wait for the run's result")

    def handle(self, *args, **options) -> None:
        workers = _training_workers()
        try:
            run, created = policy.request_training(
                TrainingRun.Trigger.MANUAL, send_now=bool(workers)
            )
        except Unavailable as exc:
            raise CommandError(str(exc)) from exc
        state = "queued" if created else "already queued"
        if not options["wait"]:
            self.stdout.write(f"training run {run.pk} {state}; a worker will train it")
            return
        if workers:
            self.stdout.write(f"training run {run.pk} {state}; following it on the worker")
            self.follow(run)
        else:
            self.stdout.write(f"training run {run.pk}: no worker listens, training here")
            from annotator.learning.tasks import train  # torch: only when training here

            try:
                train(run.pk)
            except Exception as exc:
                raise CommandError(f"training run {run.pk} failed: {exc}") from exc
        run.refresh_from_db()
        self.report(run)

    def follow(self, run: TrainingRun) -> None:
        """Print the job's progress until the run has ended."""
        last = ""
        connection = policy.redis_connection()
        while run.status in (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING):
            time.sleep(1)
            run.refresh_from_db()
            line = _progress_line(connection, run)
            if line and line != last:
                self.stdout.write(line)
                last = line

    def report(self, run: TrainingRun) -> None:
        version = ModelVersion.objects.filter(run=run).first()
        body = {
            "run": run.pk,
            "status": run.status,
            "error": run.error,
            "timings": run.timings,
            "model_version": version.pk if version else None,
            "model_status": version.status if version else None,
            "decision": version.decision if version else None,
            "validation": (
                version.evaluations.filter(split="val").values_list("metrics", flat=True).first()
                if version
                else None
            ),
        }
        self.stdout.write(json.dumps(body, indent=2))
        if run.status != TrainingRun.Status.FINISHED:
            raise CommandError(f"training run {run.pk} ended {run.status}: {run.error}")


def _training_workers() -> list:
    try:
        return Worker.all(queue=policy.training_queue())
    except redis.RedisError:
        return []


def _progress_line(connection, run: TrainingRun) -> str:
    if not run.rq_job_id:
        return f"run {run.pk}: {run.status} (waiting for the job queue)"
    try:
        meta = Job.fetch(run.rq_job_id, connection=connection).get_meta()
    except Exception:  # the job's record expired or Redis hiccupped: the row still tells
        return f"run {run.pk}: {run.status}"
    if meta.get("stage") == "training" and meta.get("steps"):
        score = meta.get("val_macro_auroc")
        return (
            f"run {run.pk}: training step {meta.get('step')}/{meta.get('steps')}, "
            f"loss {meta.get('loss') or 0:.3f}"
            + (f", validation macro AUROC {score:.3f}" if score is not None else "")
            + (f", about {meta['eta_s']:.0f} s left" if meta.get("eta_s") else "")
        )
    if meta.get("stage") == "scoring":
        return f"run {run.pk}: scoring {meta.get('scored')}/{meta.get('total')}"
    return f"run {run.pk}: {run.status} {meta.get('stage', '')}".rstrip()
