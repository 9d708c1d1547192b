import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.errors import Unavailable
from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Series
from annotator.learning import policy


class Command(BaseCommand):
    help = "Ingest DICOM files and folders (recursively); already-present instances are skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        result = ingest_paths(options["paths"])
        report = result.as_dict()
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
        if result.ingested:
            self._score(result.series_uids)
        if report["ingested"] == 0 and report["skipped_existing"] == 0:
            raise CommandError("nothing could be ingested", returncode=1)

    def _score(self, series_uids: list[str]) -> None:
        ids = list(
            Series.objects.filter(series_instance_uid__in=series_uids).values_list("id", flat=True)
        )
        try:
            version = policy.score_new_series(ids)
        except Unavailable as exc:
            self.stderr.write(f"warning: {exc}")
            return
        if version is not None:
            self.stderr.write(f"model v{version.pk} will score the new series (job queued)")
