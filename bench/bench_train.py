"""Time SliceNet training and scoring on random 128 px slices; prints one JSON line.

Run from the repository root: ``python bench/bench_train.py [--threads 2] [--width 16]``.
Compare with the CPU table in docs/stack.md (2 threads; train batch 16, score batch 64).
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

# a plain script: make ``ml`` importable without installing the project
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ml.model import NetConfig, SliceNet  # noqa: E402
from ml.score import predict_proba  # noqa: E402
from ml.train import TrainConfig, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--width", type=int, default=NetConfig.width)
    parser.add_argument("--train-images", type=int, default=160)
    parser.add_argument("--score-images", type=int, default=640)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    net = NetConfig(n_classes=6, in_size=args.size, width=args.width)
    shape = (args.train_images, 1, args.size, args.size)
    images = rng.random(shape, dtype=np.float32)
    labels = rng.integers(0, net.n_classes, size=args.train_images)

    # warm-up: the first steps pay for kernel selection and allocation
    train(images[:32], labels[:32], net, TrainConfig(epochs=1, batch_size=16))
    # best of several runs: on a shared 2-core machine the slowest runs measure the neighbours
    cfg = TrainConfig(epochs=1, batch_size=16, augment=True)
    train_s = min(train(images, labels, net, cfg).seconds for _ in range(args.repeats))
    train_ips = args.train_images / train_s

    model = SliceNet(net).eval()
    to_score = rng.random((args.score_images, 1, args.size, args.size), dtype=np.float32)
    predict_proba(model, to_score[:64], batch_size=64)
    score_s = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        predict_proba(model, to_score, batch_size=64)
        score_s.append(time.perf_counter() - t0)
    score_ips = args.score_images / min(score_s)

    report = {
        "bench": "slicenet",
        "size": args.size,
        "width": args.width,
        "params": model.n_params(),
        "threads": torch.get_num_threads(),
        "train_batch": 16,
        "score_batch": 64,
        "train_img_per_s": round(train_ips, 1),
        "score_img_per_s": round(score_ips, 1),
        "repeats": args.repeats,  # the best run is reported
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
