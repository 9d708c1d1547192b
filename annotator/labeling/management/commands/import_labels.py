import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.errors import DomainError
from annotator.labeling import imports


class Command(BaseCommand):
    help = (
        "Import existing labels from a CSV (the cohort manifest's format: sop_instance_uid, "
        "findings or finding, optional cant_tell, boxes, comment, canal_box) as one reader's "
        "labels."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--annotator", required=True, help="username of the (active) reader the labels are by"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--canal-boxes-only",
            action="store_true",
            help="import only the canal_box column (what the spine localiser learns from)",
        )

    def handle(self, *args, **options) -> None:
        try:
            user = imports.annotator(options["annotator"])
            rows = imports.read_csv(options["file"])
            report = imports.import_rows(
                rows, user, source=options["file"].name, canal_only=options["canal_boxes_only"]
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            self.stdout.write(report.line())
            for error in report.errors:
                self.stderr.write(f"  line {error.line}: {error.error}")
        if report.imported == 0 and report.unchanged == 0 and report.errors:
            raise CommandError("nothing could be imported", returncode=1)
