import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.errors import Unavailable
from annotator.learning import policy
from annotator.learning.models import TrainingRun


class Command(BaseCommand):
    help = "Queue a training run for a worker, or with --wait run it here and print the result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", action="store_true", help="train in the foreground")

    def handle(self, *args, **options) -> None:
        try:
            run, created = policy.request_training(
                TrainingRun.Trigger.MANUAL, send_now=not options["wait"]
            )
        except Unavailable as exc:
            raise CommandError(str(exc)) from exc
        if not options["wait"]:
            state = "queued" if created else "already queued"
            self.stdout.write(f"training run {run.pk} {state}; a worker will train it")
            return
        if not created:
            raise CommandError(f"training run {run.pk} is already queued for a worker")
        from annotator.learning.tasks import train  # torch: only when training here

        try:
            summary = train(run.pk)
        except Exception as exc:
            raise CommandError(f"training run {run.pk} failed: {exc}") from exc
        self.stdout.write(json.dumps({"run": run.pk, **(summary or {})}, indent=2))
