"""What BALD costs over a bare forward pass of the same classifier on the same tiles.

Usage: python bench/bench_bald.py [--tiles 4096] [--passes 10] [--repeats 3] [--json]

MC dropout runs the convolutional trunk once and repeats only dropout and the linear head
(ml/mc.py), so its cost over `ml.multilabel.predict` should be small. Both run on the same
random 64 px tiles with the app's classifier shape, on CPU with the app's thread count,
after a warm-up; the best of `repeats` interleaved timings of each is compared (weights do
not change the arithmetic, so the net is untrained). Prints both times and their ratio; the
issue's target is at most 1.3.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.mc import mc_tile_probs  # noqa: E402
from ml.multilabel import ClassifierConfig, LesionNet, predict  # noqa: E402


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles", type=int, default=4096)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(int(os.environ.get("DACHS_TORCH_THREADS", "2")))
    torch.manual_seed(0)
    net = LesionNet(ClassifierConfig(n_lesions=5, in_size=64)).eval()
    rng = np.random.default_rng(0)
    tiles = rng.random((args.tiles, 1, 64, 64), dtype=np.float32)
    planes = rng.integers(0, 2, args.tiles)
    sequences = rng.integers(0, 2, args.tiles)

    # warm-up: the first passes over fresh buffers run markedly slower on CPU
    for _ in range(2):
        predict(net, tiles, planes, sequences)
        mc_tile_probs(net, tiles, planes, sequences, args.passes, seed=0)
    bare, mc = float("inf"), float("inf")
    for _ in range(args.repeats):  # interleaved, so a busy moment hits both alike
        bare = min(bare, timed(lambda: predict(net, tiles, planes, sequences)))
        mc = min(
            mc, timed(lambda: mc_tile_probs(net, tiles, planes, sequences, args.passes, seed=0))
        )
    result = {
        "tiles": args.tiles,
        "passes": args.passes,
        "threads": torch.get_num_threads(),
        "forward_s": round(bare, 3),
        "bald_s": round(mc, 3),
        "ratio": round(mc / bare, 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.tiles} tiles: bare forward {bare:.2f} s, with BALD ({args.passes} passes) "
            f"{mc:.2f} s: ratio {mc / bare:.2f}"
        )


if __name__ == "__main__":
    main()
