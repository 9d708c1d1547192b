"""Train and score SliceNet on a GPU (or CPU) from an exported cohort; print one JSON line.

Usage: python bench/gpu_check.py cohort.npz [--device cuda] [--width 32] [--epochs 20]
The cohort comes from bench/export_cohort.py. Dogs are split 70/15/15 by a hash of their id,
as the app does it (never a dog in two splits). Needs only numpy, torch and ml/.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.evaluate import evaluate  # noqa: E402
from ml.model import NetConfig  # noqa: E402
from ml.score import predict_proba  # noqa: E402
from ml.train import TrainConfig, train  # noqa: E402
from ml.uncertainty import predictive_entropy  # noqa: E402


def dog_split(dog: str) -> str:
    u = int(hashlib.sha256(dog.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if u < 0.7 else "val" if u < 0.85 else "test"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cohort", type=Path)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    data = np.load(args.cohort)
    images = (data["images"].astype(np.float32) / 255.0)[:, None]  # (N, 1, S, S)
    labels, dogs = data["labels"], data["dogs"]
    names = [str(n) for n in data["class_names"]]
    split = np.array([dog_split(str(d)) for d in dogs])
    tr, va, te = (split == "train"), (split == "val"), (split == "test")

    net = NetConfig(n_classes=len(names), in_size=images.shape[-1], width=args.width)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch, seed=0, device=args.device)
    result = train(images[tr], labels[tr], net, cfg)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    train_img_s = result.steps * args.batch / result.seconds

    started = time.perf_counter()
    probs = predict_proba(result.model, images, batch_size=256)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    score_img_s = len(images) / (time.perf_counter() - started)
    entropy = predictive_entropy(probs)
    val = evaluate(result.model, images[va], labels[va], names)
    test = evaluate(result.model, images[te], labels[te], names)
    print(
        json.dumps(
            {
                "bench": "gpu_check",
                "device": args.device,
                "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                "torch": torch.__version__,
                "slices": int(len(images)),
                "train_slices": int(tr.sum()),
                "width": args.width,
                "size": int(images.shape[-1]),
                "epochs": len(result.history),
                "train_seconds": round(result.seconds, 2),
                "train_img_per_s": round(train_img_s, 1),
                "score_img_per_s": round(score_img_s, 1),
                "final_loss": round(result.history[-1]["loss"], 4),
                "val_accuracy": val["accuracy"],
                "val_macro_f1": val["macro_f1"],
                "test_accuracy": test["accuracy"],
                "test_macro_f1": test["macro_f1"],
                "test_sensitivity": {k: v["sensitivity"] for k, v in test["per_class"].items()},
                "mean_entropy": round(float(entropy.mean()), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
