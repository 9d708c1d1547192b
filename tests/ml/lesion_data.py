"""Tiny synthetic data with fixed seeds for the lesion models: whole slices with a canal, and
crops with two findings that can co-occur."""

import numpy as np

from ml.fit import CropSet


def canal_slices(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """n noisy slices of random sizes (80..128 px a side, rarely square), each with one bright
    elongated rectangle (the "canal") at a random place, lying or standing; and their boxes
    (n, 4) pixel (x, y, w, h)."""
    rng = np.random.default_rng(seed)
    images, boxes = [], []
    for _ in range(n):
        h, w = rng.integers(80, 129, size=2)
        image = rng.normal(100.0, 20.0, size=(h, w))
        bw, bh = int(rng.integers(6, 14)), int(rng.integers(30, 60))
        if rng.random() < 0.5:
            bw, bh = bh, bw
        x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        image[y : y + bh, x : x + bw] += 150.0
        images.append(image)
        boxes.append([x, y, bw, bh])
    return images, np.array(boxes, dtype=np.float64)


def dots_and_bars(n: int, seed: int, size: int = 16) -> CropSet:
    """Crops where finding 0 is a bright 2x2 dot and finding 1 a dark vertical bar; each is
    present with probability 0.35, independently, so both, either or neither can show."""
    rng = np.random.default_rng(seed)
    labels = rng.random((n, 2)) < 0.35
    crops = 0.5 + 0.1 * rng.standard_normal((n, size, size))
    for i in range(n):
        if labels[i, 0]:
            y, x = rng.integers(2, size - 3, size=2)
            crops[i, y : y + 2, x : x + 2] += 0.5
        if labels[i, 1]:
            y, x = rng.integers(1, size - 7, size=2)
            crops[i, y : y + 6, x] -= 0.4
    return CropSet(
        crops=crops.astype(np.float32),
        labels=labels,
        planes=rng.integers(0, 2, n),
        sequences=rng.integers(0, 2, n),
    )
