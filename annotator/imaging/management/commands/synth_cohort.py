from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.synth.cohort import write_cohort
from annotator.synth.preview import write_preview


class Command(BaseCommand):
    help = "Write a synthetic cohort: four DICOM series per dog plus a ground-truth manifest.csv."
    # It touches no model, URL or setting, so the system checks (which import the URLconf,
    # and with it torch) would only add seconds.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dogs", type=int, default=12, help="number of dogs (at least 1)")
        parser.add_argument("--out", type=Path, required=True, help="an empty or new folder")
        parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (>= 0)")
        parser.add_argument(
            "--preview",
            type=Path,
            metavar="FILE.png",
            help="also write a contact sheet of the first 12 dogs (a row per series type)",
        )

    def handle(self, *args, **options) -> None:
        try:
            summary = write_cohort(options["out"], dogs=options["dogs"], seed=options["seed"])
        except (FileExistsError, ValueError) as error:
            raise CommandError(str(error)) from error
        if options["preview"] is not None:
            write_preview(options["out"], options["preview"])
        self.stdout.write(summary.line())
