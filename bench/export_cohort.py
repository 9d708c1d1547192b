"""Write a synthetic cohort and save it as model inputs (.npz) for bench/gpu_check.py.

Usage: python bench/export_cohort.py --dogs 48 --seed 3 --size 128 --out cohort.npz
Stores uint8 images (N, size, size), finding indices, dog ids, plane/sequence per slice, so a
machine without pydicom (or Django) can train and score on the same data.
"""

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator.synth.cohort import write_cohort  # noqa: E402  (pure numpy/pydicom, no Django)
from annotator.synth.findings import FINDINGS  # noqa: E402
from ml.preprocess import to_model_input  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dogs", type=int, default=48)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cohort = Path(tmp) / "cohort"
        write_cohort(cohort, dogs=args.dogs, seed=args.seed)
        with (cohort / "manifest.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        images = []
        for row in rows:
            ds = pydicom.dcmread(cohort / row["path"])
            x = to_model_input(np.asarray(apply_modality_lut(ds.pixel_array, ds)), args.size)
            images.append(np.round(x * 255).astype(np.uint8))
    np.savez_compressed(
        args.out,
        images=np.stack(images),
        labels=np.array([list(FINDINGS).index(r["finding"]) for r in rows], dtype=np.int64),
        dogs=np.array([r["patient_id"] for r in rows]),
        series_type=np.array([f"{r['plane']}-{r['sequence']}" for r in rows]),
        class_names=np.array(list(FINDINGS)),
    )
    print(f"{len(rows)} slices of {args.dogs} dogs -> {args.out}")


if __name__ == "__main__":
    main()
