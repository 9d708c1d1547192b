"""Tiles along the canal: native resolution, labels from boxes, slice = max of its tiles."""

import numpy as np

from ml.tiles import cut, slice_max, slice_tiles, tile_labels, tile_origins


def test_a_transverse_canal_gets_one_tile_centred_on_it():
    assert tile_origins((100, 120, 40, 36), (384, 384), 64, 32) == [(106, 88)]


def test_a_sagittal_canal_is_covered_end_to_end_by_overlapping_tiles():
    origins = tile_origins((0, 117, 320, 28), (320, 320), 64, 48)
    lefts = [left for _, left in origins]
    assert {top for top, _ in origins} == {99}  # centred across the canal
    assert lefts[0] == 0 and lefts[-1] == 256  # the last tile ends at the box's end
    assert all(b - a <= 48 for a, b in zip(lefts, lefts[1:], strict=False))


def test_tiles_keep_native_pixels_and_pad_outside_the_slice():
    image = np.arange(100, dtype=np.float32).reshape(10, 10)
    tile = cut(image, (-2, 7), 4)
    assert tile[2, 0] == image[0, 7]
    assert tile[0].sum() == 0 and tile[:, 3].sum() == 0  # above and right of the slice


def test_a_lesion_box_marks_only_the_tiles_that_hold_it():
    origins = [(0, 0), (0, 48), (0, 96)]
    labels = tile_labels(origins, 64, [True, False], [(0, (70, 10, 10, 6))])
    assert labels[:, 0].tolist() == [False, True, False]
    assert not labels[:, 1].any()


def test_a_finding_without_a_box_marks_every_tile_of_its_slice():
    labels = tile_labels([(0, 0), (0, 48)], 64, [False, True], [])
    assert labels.tolist() == [[False, True], [False, True]]


def test_the_slice_takes_the_highest_tile():
    probs = np.array([[0.1, 0.2], [0.9, 0.1], [0.3, 0.4]])
    assert slice_max(probs, [2, 1]).tolist() == [[0.9, 0.2], [0.3, 0.4]]


def test_slice_tiles_normalises_and_cuts():
    rng = np.random.default_rng(0)
    image = rng.normal(500, 50, (96, 200)).astype(np.float32)
    tiles, origins = slice_tiles(image, (0, 30, 200, 20), 64, 48)
    assert tiles.shape == (len(origins), 64, 64)
    assert tiles.min() >= 0.0 and tiles.max() <= 1.0
