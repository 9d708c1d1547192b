import numpy as np
import pytest

from ml.localiser import (
    Localiser,
    LocaliserConfig,
    locate,
    train_localiser,
)
from tests.ml.lesion_data import canal_slices


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of two (N, 4) arrays of (x, y, w, h) boxes."""
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y1 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


@pytest.fixture(scope="module")
def localiser() -> Localiser:
    """Trained on 200 synthetic slices at 64 px for 100 steps (about 2 s)."""
    images, boxes = canal_slices(200, seed=0)
    return train_localiser(images, boxes, LocaliserConfig(in_size=64, steps=100, batch_size=16))


def test_finds_the_canal_on_held_out_slices(localiser):
    images, truth = canal_slices(40, seed=1)
    found = locate(localiser, images)
    assert found.shape == (40, 4) and found.dtype == np.float32
    centre_error = np.hypot(
        found[:, 0] + found[:, 2] / 2 - truth[:, 0] - truth[:, 2] / 2,
        found[:, 1] + found[:, 3] / 2 - truth[:, 1] - truth[:, 3] / 2,
    )
    assert np.median(centre_error) < 2.0  # pixels of slices 80..128 px a side
    assert centre_error.max() < 6.0
    assert np.mean(iou(found, truth)) > 0.5
    assert np.mean(iou(found, truth) > 0.5) > 0.75


def test_locate_takes_a_stacked_array_and_an_empty_list(localiser):
    images, _ = canal_slices(3, seed=2)
    square = np.stack([im[:80, :80] for im in images])
    assert locate(localiser, square).shape == (3, 4)
    assert locate(localiser, []).shape == (0, 4)


def test_rejects_boxes_that_do_not_match_the_slices():
    images, boxes = canal_slices(3, seed=4)
    with pytest.raises(ValueError):
        train_localiser(images, boxes[:2], LocaliserConfig(in_size=64, steps=1))
