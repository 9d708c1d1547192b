"""One full round on a synthetic cohort, as the model issue's "done" asks for it.

Usage: python bench/bench_cohort_round.py [--dogs 150] [--seed 1] [--json] [--table]

Writes the cohort (both cores), ingests it into a fresh SQLite data directory, imports the
whole manifest as one reader's labels (findings, boxes and canal boxes), trains one round
in-process with the default CPU configuration, and scores the test dogs. Prints the
timings and the Table-2 report (the same JSON as `manage.py evaluate --json`).
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dogs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--table", action="store_true", help="print the Table-2 layout")
    parser.add_argument(
        "--cohort", type=Path, help="a cohort folder to reuse (written there if missing)"
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dachs-round-"))
    os.environ.update(DACHS_DATA_DIR=str(data_dir), DATABASE_URL="", DACHS_RETRAIN_EVERY="10000000")
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from annotator.imaging.ingest import ingest_paths
    from annotator.labeling.imports import import_rows
    from annotator.learning.management.commands.evaluate import render
    from annotator.learning.models import Evaluation, ModelVersion
    from annotator.learning.policy import request_training
    from annotator.learning.tasks import train
    from annotator.synth.cohort import write_cohort

    call_command("migrate", verbosity=0)
    timings: dict[str, float] = {}
    started = time.monotonic()
    cohort = args.cohort or data_dir / "cohort"
    if not (cohort / "manifest.csv").exists():
        write_cohort(cohort, dogs=args.dogs, seed=args.seed)
    timings["cohort_s"] = time.monotonic() - started

    started = time.monotonic()
    report = ingest_paths(sorted(p for p in cohort.iterdir() if p.is_dir()))
    timings["ingest_s"] = time.monotonic() - started

    started = time.monotonic()
    reader = get_user_model().objects.create_user("reference-reader")
    with (cohort / "manifest.csv").open() as manifest:
        rows = list(enumerate(csv.DictReader(manifest), start=2))
    imported = import_rows(rows, reader, source="manifest.csv")
    timings["import_s"] = time.monotonic() - started

    run, _ = request_training("manual", send_now=False)
    started = time.monotonic()
    summary = train(run.pk)
    timings["round_s"] = time.monotonic() - started
    version = ModelVersion.objects.get(run=run)
    table = Evaluation.objects.get(model=version, split="test").metrics
    result = {
        "dogs": args.dogs,
        "seed": args.seed,
        "slices": report.ingested,
        "labels": imported.imported,
        **{k: round(v, 1) for k, v in timings.items()},
        "val_macro_auroc": summary["val"]["macro_auroc"],
        "test_macro_auroc": table["macro_auroc"],
        "test_within_dog_auroc": table["within_dog_auroc"],
        "report": table,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps({k: v for k, v in result.items() if k != "report"}, indent=2))
    if args.table:
        print(render(table))


if __name__ == "__main__":
    main()
