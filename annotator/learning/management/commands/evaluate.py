import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.learning import registry
from annotator.learning.models import ModelVersion


class Command(BaseCommand):
    help = "Score the test dogs with a model version and print its Table-2 report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model-version", type=int, help="a model version's id (default: the served one)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        if options["model_version"] is not None:
            version = ModelVersion.objects.filter(pk=options["model_version"]).first()
            if version is None:
                raise CommandError(f"no model version {options['model_version']}")
        else:
            version = registry.promoted()
            if version is None:
                raise CommandError("no model is served yet: train one first (manage.py retrain)")
        from annotator.learning.tasks import evaluate_on_test  # torch: only here

        body = evaluate_on_test(version.pk)
        if options["json"]:
            self.stdout.write(json.dumps(body))
            return
        self.stdout.write(render(body))


def _pct(value: float | None) -> str:
    return "  –  " if value is None else f"{100 * value:5.1f}"


def render(body: dict) -> str:
    """The table a reader knows from the reference study, with the counts behind it."""
    columns = [
        ("sagittal", "T1W"),
        ("sagittal", "T2W"),
        ("transverse", "T1W"),
        ("transverse", "T2W"),
    ]
    cells = {(c["finding"], c["plane"], c["sequence"]): c for c in body["cells"]}
    lines = [
        f"model v{body['model_version']} on the {body['split']} dogs: "
        f"{body['n_images']} slices, macro AUROC {_num(body['macro_auroc'])}, "
        f"within-dog AUROC {_num(body['within_dog_auroc'])}",
        "Se/Sp % (tp/fn, tn/fp)".ljust(16) + "".join(f"{p[:3]} {s}".ljust(30) for p, s in columns),
    ]
    for finding in body["classes"]:
        row = finding.ljust(16)
        for plane, sequence in columns:
            c = cells.get((finding, plane, sequence))
            if c is None:
                row += "".ljust(30)
                continue
            row += (
                f"{_pct(c['sensitivity'])}/{_pct(c['specificity'])} "
                f"({c['tp']}/{c['fn']}, {c['tn']}/{c['fp']})"
            ).ljust(30)
        lines.append(row)
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
