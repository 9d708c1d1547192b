import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.imaging.ingest import ingest_paths


class Command(BaseCommand):
    help = "Ingest DICOM files and folders (recursively); already-present instances are skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        report = ingest_paths(options["paths"]).as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(
                f"{report['files']} files: {report['ingested']} ingested, "
                f"{report['skipped_existing']} already present, {len(report['errors'])} errors"
            )
            for series in report["series"]:
                self.stdout.write(
                    f"  {series['series_instance_uid']}: {series['plane']} "
                    f"{series['sequence']}, {series['slices']} slices"
                )
            for error in report["errors"]:
                self.stderr.write(f"  error: {error['path']}: {error['error']}")
        if report["ingested"] == 0 and report["skipped_existing"] == 0:
            raise CommandError("nothing could be ingested", returncode=1)
