import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator import learning
from annotator.jobs import train_model_version
from annotator.models import ModelVersion


class Command(BaseCommand):
    help = "Queue a retrain for the worker, or with --wait run it here and print the metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", action="store_true", help="train in the foreground")

    def handle(self, *args, **options) -> None:
        version, created = learning.request_retrain(
            ModelVersion.Trigger.MANUAL, enqueue=not options["wait"]
        )
        if not options["wait"]:
            state = "queued" if created else "already queued"
            self.stdout.write(f"model v{version.pk} {state}; a worker will train it")
            return
        if not created:
            raise CommandError(f"model v{version.pk} is already queued for a worker")
        try:
            metrics = train_model_version(version.pk)
        except Exception as exc:
            raise CommandError(f"training model v{version.pk} failed: {exc}") from exc
        self.stdout.write(json.dumps({"model_version": version.pk, "metrics": metrics}, indent=2))
