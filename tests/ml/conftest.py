"""Shared fixtures for ml tests: two torch threads and tiny synthetic slices with fixed seeds."""

import numpy as np
import pytest
import torch

from ml.model import NetConfig
from ml.train import TrainConfig, TrainResult, train

# the project machines have 2 cores; more threads only adds contention in CI
torch.set_num_threads(2)

SHAPE_NAMES = ["bright_square", "dark_disc", "stripes"]


def draw_shape(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One noisy (size, size) image in 0..1 of the given kind, at a random place and scale."""
    img = 0.5 + 0.08 * rng.standard_normal((size, size))
    yy, xx = np.mgrid[0:size, 0:size]
    r = rng.integers(size // 8, size // 4 + 1)
    cy, cx = rng.integers(r, size - r, size=2)
    if kind == 0:
        img[(abs(yy - cy) <= r) & (abs(xx - cx) <= r)] += 0.4
    elif kind == 1:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] -= 0.4
    else:
        period = rng.integers(4, 7)
        img += 0.25 * np.sign(np.sin(2 * np.pi * xx / period + rng.uniform(0, 2 * np.pi)))
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def _make_shapes(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, 1, size, size) float32 and balanced labels (n,) int64 over 3 shapes."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SHAPE_NAMES)).astype(np.int64)
    images = np.stack([draw_shape(int(k), size, rng) for k in labels])[:, None]
    return images, labels


@pytest.fixture(scope="session")
def make_shapes():
    """The synthetic-shapes generator: make_shapes(n, size=32, seed=0) -> (images, labels)."""
    return _make_shapes


@pytest.fixture(scope="session")
def shape_names() -> list[str]:
    return list(SHAPE_NAMES)


@pytest.fixture(scope="session")
def shapes_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """90 training and 60 held-out images, drawn with different seeds."""
    x_train, y_train = _make_shapes(90, seed=1)
    x_test, y_test = _make_shapes(60, seed=2)
    return x_train, y_train, x_test, y_test


@pytest.fixture(scope="session")
def trained(shapes_split) -> TrainResult:
    """A width-8 SliceNet trained for 8 epochs on the synthetic shapes (about half a second)."""
    x_train, y_train, _, _ = shapes_split
    net = NetConfig(n_classes=3, in_size=32, width=8)
    return train(x_train, y_train, net, TrainConfig(epochs=8, seed=0))
