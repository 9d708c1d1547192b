"""Tiles along the vertebral canal: how a slice is shown to the classifier.

A lesion covers a few dozen pixels of a 512² slice. On a transverse slice the canal fits
one tile at native resolution; on a sagittal slice it runs the whole length of the image,
so it is cut into overlapping native-resolution tiles along its long axis and the slice's
probability for a finding is the highest of its tiles' (a lesion anywhere along the canal
makes the slice positive). Nothing is downscaled, so a lesion keeps its pixels.

Training tiles get labels from the lesion boxes where a reader drew them (a tile shows a
finding when it holds most of that finding's box); a finding without a box is given to
every tile of its slice, which is noisy but never wrong about the slice.
"""

from collections.abc import Sequence

import numpy as np

from ml.preprocess import normalise_intensity


def tile_origins(box: Sequence[float], shape: tuple[int, int], size: int, stride: int) -> list:
    """Top-left corners (y, x) of the tiles covering the canal box (x, y, w, h) in pixels.

    Tiles are centred on the box across its short axis and step by `stride` along its long
    axis from one end of the box to the other; a box shorter than a tile gets one tile
    centred on it.
    """
    bx, by, bw, bh = (float(v) for v in box)
    along_x = bw >= bh
    start, length = (bx, bw) if along_x else (by, bh)
    across = (by + bh / 2) if along_x else (bx + bw / 2)
    span = length - size
    if span <= 0:
        firsts = [round(start + length / 2 - size / 2)]
    else:
        steps = int(np.ceil(span / stride))
        firsts = [round(start + min(span, i * stride)) for i in range(steps + 1)]
    fixed = round(across - size / 2)
    return [(fixed, f) if along_x else (f, fixed) for f in firsts]


def cut(image: np.ndarray, origin: tuple[int, int], size: int) -> np.ndarray:
    """A (size, size) float32 tile at (top, left); outside the slice is 0."""
    top, left = origin
    out = np.zeros((size, size), dtype=np.float32)
    h, w = image.shape
    y0, y1 = max(top, 0), min(top + size, h)
    x0, x1 = max(left, 0), min(left + size, w)
    if y0 < y1 and x0 < x1:
        out[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
    return out


def slice_tiles(
    image: np.ndarray, canal_box: Sequence[float], size: int, stride: int
) -> tuple[np.ndarray, list]:
    """(tiles (T, size, size) in 0..1, their origins) for one raw slice."""
    normalised = normalise_intensity(np.asarray(image, dtype=np.float32))
    origins = tile_origins(canal_box, normalised.shape, size, stride)
    return np.stack([cut(normalised, o, size) for o in origins]), origins


def tile_labels(
    origins: list,
    size: int,
    findings: Sequence[bool],
    boxes: Sequence[tuple[int, Sequence[float]]],
    min_cover: float = 0.5,
) -> np.ndarray:
    """(T, K) bool labels of a slice's tiles.

    `findings` (K,) is the slice's label; `boxes` are (finding index, (x, y, w, h)) a reader
    drew. A finding with boxes marks the tiles holding at least `min_cover` of one of its
    boxes; a finding without a box marks every tile.
    """
    labels = np.zeros((len(origins), len(findings)), dtype=bool)
    boxed = {k for k, _ in boxes}
    for k, present in enumerate(findings):
        if present and k not in boxed:
            labels[:, k] = True
    for k, (bx, by, bw, bh) in boxes:
        if not findings[k] or bw <= 0 or bh <= 0:
            continue
        for t, (top, left) in enumerate(origins):
            ix = max(0.0, min(bx + bw, left + size) - max(bx, left))
            iy = max(0.0, min(by + bh, top + size) - max(by, top))
            if ix * iy >= min_cover * bw * bh:
                labels[t, k] = True
    return labels


def slice_max(tile_probs: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Per-slice (N, K) probabilities: the highest of each slice's tiles."""
    out, start = [], 0
    for count in counts:
        out.append(tile_probs[start : start + count].max(axis=0))
        start += count
    if not out:
        return np.zeros((0, tile_probs.shape[1] if tile_probs.ndim == 2 else 0))
    return np.stack(out)
