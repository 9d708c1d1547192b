"""MC dropout for the lesion classifier: run the trunk once, repeat only the cheap head.

Dropout sits on the pooled features only (see ml/multilabel.py), so a pass with dropout is
head(drop(features(x))): the convolutions, which are nearly all the cost, run once per tile
and T passes cost T small matrix products. Batch norm stays in eval mode throughout.

Dropout masks come from a private ``torch.Generator`` seeded by ``seed``, so the samples are
the same on every run on the same device and the global torch RNG is left alone (a worker
that also trains keeps its own random stream).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from ml.heatmap import place_cams
from ml.lesion_model import LesionModel
from ml.localiser import locate
from ml.multilabel import LesionNet, as_batch
from ml.tiles import slice_max, slice_tiles


class TileMC(NamedTuple):
    probs: np.ndarray  # (N, K) float32, the deterministic forward: exactly ``predict``
    samples: np.ndarray  # (T, N, K) float32, one row of probabilities per dropout pass
    features: np.ndarray  # (N, F) float32, pooled image features before dropout
    cams: np.ndarray  # (N, K, S/8, S/8) float32, each finding's activation map (ml.heatmap)


@dataclass
class SliceMC:
    probs: np.ndarray  # (N, K), exactly ``LesionModel.predict_slices``' probabilities
    samples: np.ndarray  # (T, N, K) per pass, a slice's probability is its highest tile's
    embeddings: np.ndarray  # (N, F) mean of the slice's tiles' features
    boxes: np.ndarray  # (N, 4) canal boxes, pixel x, y, w, h
    tile_cams: list  # per slice: (tiles, K, S/8, S/8) activation maps of its tiles
    origins: list  # per slice: its tiles' top-left corners (y, x)
    crop_size: int

    def heatmap(self, row: int, finding: int, shape: tuple[int, int]) -> np.ndarray:
        """(H, W) in 0..1: where `finding` drove the classifier on slice `row` (see
        ml.heatmap), from the maps of the same forward pass."""
        return place_cams(self.tile_cams[row][:, finding], self.origins[row], self.crop_size, shape)


@torch.no_grad()
def mc_tile_probs(
    model: LesionNet,
    crops: np.ndarray,
    planes: np.ndarray,
    sequences: np.ndarray,
    passes: int,
    seed: int,
    batch_size: int = 128,
) -> TileMC:
    """Crops (N, 1, S, S) or (N, S, S) with plane and sequence indices (N,) -> TileMC.

    ``probs`` are the probabilities without dropout (dropout's rescaling makes them the
    usual stand-in for the mean over passes), bit for bit what ``predict`` gives, so a
    slice's call and its uncertainty come from one run. ``samples`` are ``passes`` forward
    passes with dropout p = model.config.dropout; pass t draws one mask (N, F) from the
    generator, so the samples do not depend on ``batch_size``.
    """
    if passes < 1:
        raise ValueError(f"need at least one MC pass, got {passes}")
    model.eval()
    x_all = as_batch(crops)
    p_all = torch.as_tensor(np.asarray(planes, dtype=np.int64))
    s_all = torch.as_tensor(np.asarray(sequences, dtype=np.int64))
    if not len(x_all) == len(p_all) == len(s_all):
        raise ValueError(f"{len(x_all)} crops, {len(p_all)} planes, {len(s_all)} sequences")
    device = next(model.parameters()).device
    p_all, s_all = p_all.to(device), s_all.to(device)

    weights = model.head_fc.weight[:, : model.n_features]  # (K, F)
    feats, probs, cams = [], [], []
    for start in range(0, len(x_all), batch_size):
        end = start + batch_size
        maps = model.feature_maps(torch.from_numpy(x_all[start:end]).to(device))  # (B, F, h, w)
        f = maps.mean(dim=(2, 3))  # (B, F), as model.features
        feats.append(f)
        cams.append(torch.relu(torch.einsum("kc,bchw->bkhw", weights, maps)).float().cpu())
        # eval-mode dropout is the identity, so this is predict's model(x) exactly
        logits = model.head(model.dropout(f), p_all[start:end], s_all[start:end])
        probs.append(torch.sigmoid(logits.float()))  # (B, K)
    n_lesions = model.config.n_lesions
    if not feats:
        return TileMC(
            np.zeros((0, n_lesions), dtype=np.float32),
            np.zeros((passes, 0, n_lesions), dtype=np.float32),
            np.zeros((0, model.n_features), dtype=np.float32),
            np.zeros((0, n_lesions, 1, 1), dtype=np.float32),
        )
    f_all = torch.cat(feats)  # (N, F)

    keep = 1.0 - model.config.dropout
    generator = torch.Generator(device=device).manual_seed(seed)
    samples = []
    for _ in range(passes):
        mask = torch.empty_like(f_all).bernoulli_(keep, generator=generator)  # (N, F)
        logits = model.head(f_all * mask / keep, p_all, s_all)  # inverted dropout, (N, K)
        samples.append(torch.sigmoid(logits.float()))
    return TileMC(
        torch.cat(probs).cpu().numpy(),
        torch.stack(samples).cpu().numpy(),
        f_all.float().cpu().numpy(),
        torch.cat(cams).numpy(),
    )


@torch.no_grad()
def mc_slices(
    lesion_model: LesionModel,
    pixel_arrays: Sequence[np.ndarray],
    planes: Sequence[str],
    sequences: Sequence[str],
    passes: int,
    seed: int,
    batch_size: int = 128,
) -> SliceMC:
    """Raw slices (each (H, W)) with their series' plane and weighting names -> SliceMC.

    Tiles are cut as ``LesionModel.predict_slices`` cuts them, so ``probs`` and ``boxes``
    equal its answer. A slice's embedding is the mean of its tiles' features: it describes
    the whole slice whatever its number of tiles (one on transverse, several on sagittal),
    as the net's own average pooling describes a tile, and it does not jump between tiles
    as the most suspicious one would from finding to finding.
    """
    if passes < 1:
        raise ValueError(f"need at least one MC pass, got {passes}")
    boxes = locate(lesion_model.localiser, pixel_arrays)
    tiles, origins, counts, plane_idx, seq_idx = [], [], [], [], []
    for image, box, plane, sequence in zip(pixel_arrays, boxes, planes, sequences, strict=True):
        cut, corners = slice_tiles(image, box, lesion_model.crop_size, lesion_model.stride)
        tiles.append(cut)
        origins.append(corners)
        counts.append(len(cut))
        plane_idx += [lesion_model.planes.index(plane)] * len(cut)
        seq_idx += [lesion_model.sequences.index(sequence)] * len(cut)
    net = lesion_model.classifier
    if not tiles:
        k = len(lesion_model.lesions)
        empty = np.zeros((0, net.n_features))
        return SliceMC(
            np.zeros((0, k)), np.zeros((passes, 0, k)), empty, boxes, [], [], lesion_model.crop_size
        )
    tile = mc_tile_probs(
        net,
        np.concatenate(tiles),
        np.array(plane_idx, dtype=np.int64),
        np.array(seq_idx, dtype=np.int64),
        passes=passes,
        seed=seed,
        batch_size=batch_size,
    )
    probs, samples, embeddings = per_slice(tile, counts)
    return SliceMC(
        probs=probs,
        samples=samples,
        embeddings=embeddings,
        boxes=boxes,
        tile_cams=np.split(tile.cams, np.cumsum(counts)[:-1]),
        origins=origins,
        crop_size=lesion_model.crop_size,
    )


def per_slice(tile: TileMC, counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tiles' results -> per slice (probabilities (N, K), samples (T, N, K), embeddings
    (N, F)), for slices of ``counts`` consecutive tiles each (every count at least 1)."""
    starts = np.cumsum(counts) - counts
    embeddings = np.add.reduceat(tile.features, starts, axis=0) / np.asarray(counts)[:, None]
    return (
        slice_max(tile.probs, counts),
        np.stack([slice_max(s, counts) for s in tile.samples]),
        embeddings.astype(np.float32),
    )
