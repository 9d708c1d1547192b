"""The scoring job against a bare loop over the same slices with the same model.

Usage: python bench/bench_scoring.py [--dogs 12] [--repeats 2] [--json]

Writes a synthetic cohort, ingests it into a fresh SQLite data folder, and builds the app's
lesion model (localiser and classifier at their real sizes; untrained, since weights do not
change the arithmetic). Then it times, over every ingested slice:

- bare: one batch of 64 slices after another, read from storage, decode, and
  `LesionModel.predict_slices` (localiser, tiles, classifier); nothing is written;
- job: `annotator.learning.scoring.score`, what the worker runs: the same reading and
  decoding in a read-ahead thread, the same model plus MC dropout for BALD, the
  heatmaps, and every row written (predictions, three scores, heatmaps, embeddings).

The best of `repeats` runs of each (the job's rows are deleted between runs). The issue's
target: job / bare at most 1.1.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dogs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dachs-bench-scoring-"))
    os.environ.update(DACHS_DATA_DIR=str(data_dir), DATABASE_URL="")
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import numpy as np
    import torch
    from django.conf import settings
    from django.core.management import call_command

    from annotator.imaging.ingest import ingest_paths
    from annotator.imaging.models import Instance
    from annotator.learning import dataset, scoring, training
    from annotator.learning.models import (
        Embedding,
        Heatmap,
        ModelVersion,
        Prediction,
        Score,
        TrainingRun,
    )
    from annotator.synth.cohort import write_cohort
    from ml.lesion_model import LesionModel
    from ml.localiser import Localiser, LocaliserConfig
    from ml.multilabel import ClassifierConfig, LesionNet

    call_command("migrate", verbosity=0)
    torch.set_num_threads(settings.TORCH_THREADS)
    cohort = data_dir / "cohort"
    write_cohort(cohort, dogs=args.dogs, seed=5)
    ingest_paths(sorted(p for p in cohort.iterdir() if p.is_dir()))
    ids = list(Instance.objects.order_by("id").values_list("id", flat=True))

    torch.manual_seed(0)
    k = len(dataset.LESIONS)
    model = LesionModel(
        classifier=LesionNet(
            ClassifierConfig(
                n_lesions=k,
                in_size=settings.TRAIN_TILE_SIZE,
                planes=len(training.PLANES),
                sequences=len(training.SEQUENCES),
            )
        ).eval(),
        localiser=Localiser(LocaliserConfig()).eval(),
        lesions=list(dataset.LESIONS),
        planes=training.PLANES,
        sequences=training.SEQUENCES,
        thresholds=np.full(k, 0.5),
        crop_size=settings.TRAIN_TILE_SIZE,
        stride=settings.TRAIN_TILE_STRIDE,
    )
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    version = ModelVersion.objects.create(run=run, checkpoint_key="bench", status="promoted")

    def bare() -> None:
        for start in range(0, len(ids), scoring.BATCH):
            batch = scoring._rows(ids[start : start + scoring.BATCH])
            training.predict_images(model, batch, [training.image_of(i) for i in batch])

    def job() -> None:
        for table in (Prediction, Score, Heatmap, Embedding):
            table.objects.all().delete()
        scoring.score(version, model, ids, keep_embeddings=True)

    timings = {}
    for name, work in (("bare", bare), ("job", job)):
        best = None
        for _ in range(args.repeats):
            started = time.perf_counter()
            work()
            took = time.perf_counter() - started
            best = took if best is None else min(best, took)
        timings[name] = best
    result = {
        "slices": len(ids),
        "mc_passes": settings.MC_PASSES,
        "threads": settings.TORCH_THREADS,
        "bare_s": round(timings["bare"], 2),
        "job_s": round(timings["job"], 2),
        "ratio": round(timings["job"] / timings["bare"], 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{len(ids)} slices: bare loop {timings['bare']:.1f} s, scoring job "
            f"{timings['job']:.1f} s: ratio {result['ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
