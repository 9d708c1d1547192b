"""Time the demo's pieces on this machine: cohort, ingest, and one retrain round.

Usage: python bench/bench_demo_round.py [--dogs 24] [--labels 25]
Prints one JSON line. Uses a fresh temporary data directory and the embedded SQLite.
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
    parser.add_argument("--dogs", type=int, default=24)
    parser.add_argument("--labels", type=int, default=25)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dachs-bench-"))
    os.environ.update(DACHS_DATA_DIR=str(data_dir), DATABASE_URL="")
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from annotator.imaging.ingest import ingest_paths
    from annotator.labeling.imports import import_rows, read_csv
    from annotator.labeling.services import LabelContent, submit
    from annotator.learning.policy import request_training
    from annotator.learning.tasks import train
    from annotator.synth.cohort import write_cohort
    from annotator.worklist.claim import claim

    call_command("migrate", verbosity=0)
    timings: dict[str, float] = {}

    started = time.monotonic()
    cohort = data_dir / "cohort"
    write_cohort(cohort, dogs=args.dogs, seed=7)
    timings["cohort_s"] = time.monotonic() - started

    started = time.monotonic()
    report = ingest_paths(sorted(p for p in cohort.iterdir() if p.is_dir()))
    timings["ingest_s"] = time.monotonic() - started

    with (cohort / "manifest.csv").open() as manifest:
        truth = {r["sop_instance_uid"]: r["findings"].split(";") for r in csv.DictReader(manifest)}
    vet = get_user_model().objects.create_user("bench-vet")
    # The demo imports the cohort's canal boxes (what the spine localiser learns from).
    import_rows(read_csv(cohort / "manifest.csv"), vet, source="manifest.csv", canal_only=True)
    for _ in range(args.labels):
        held = claim(vet).current
        submit(vet, held.pk, LabelContent(findings=truth[held.sop_instance_uid]))

    run, _ = request_training("manual", send_now=False)
    started = time.monotonic()
    summary = train(run.pk)
    timings["retrain_round_s"] = time.monotonic() - started

    print(
        json.dumps(
            {
                "bench": "demo_round",
                "dogs": args.dogs,
                "slices": report.ingested,
                "labels": args.labels,
                **{k: round(v, 1) for k, v in timings.items()},
                "train_s": summary["training_s"],
                "scored_slices": summary["scored"],
                "val_macro_auroc": summary["val"]["macro_auroc"],
            }
        )
    )


if __name__ == "__main__":
    main()
