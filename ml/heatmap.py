"""Where the model looked: class activation maps of the lesion classifier, on the slice.

LesionNet pools its last maps by averaging and feeds them to one linear layer, so a
finding's logit is the average over positions of ``w_k · A(i, j)``: that sum per position is
the class activation map (CAM), exact for this architecture, no gradients needed. Each
tile's map is placed where the tile was cut, overlaps keep the highest value, and the
slice's map is scaled to 0..1.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ml.lesion_model import LesionModel
from ml.localiser import locate
from ml.multilabel import as_batch
from ml.tiles import slice_tiles


@torch.no_grad()
def tile_cams(model: LesionModel, tiles: np.ndarray, finding: int) -> np.ndarray:
    """(T, S/8, S/8) non-negative activation of `finding` over each tile."""
    net = model.classifier.eval()
    device = next(net.parameters()).device
    x = torch.from_numpy(as_batch(tiles)).to(device)
    maps = net.feature_maps(x)  # (T, 8w, S/8, S/8)
    weights = net.head_fc.weight[finding, : net.n_features]  # (8w,)
    return F.relu(torch.einsum("c,tchw->thw", weights, maps)).cpu().numpy()


def place_cams(cams: np.ndarray, origins: list, size: int, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 in 0..1 from tiles' low-resolution maps (T, h, w): each map scaled up to
    its tile, placed where the tile was cut (overlaps keep the highest), then the whole
    scaled to a peak of 1."""
    h, w = shape
    out = np.zeros((h, w), dtype=np.float32)
    if not len(cams):
        return out
    up = F.interpolate(
        torch.as_tensor(np.asarray(cams, dtype=np.float32))[:, None],
        size=(size, size),
        mode="bilinear",
        align_corners=False,
    )[:, 0].numpy()
    for cam, (top, left) in zip(up, origins, strict=True):
        y0, y1 = max(top, 0), min(top + size, h)
        x0, x1 = max(left, 0), min(left + size, w)
        if y0 < y1 and x0 < x1:
            patch = cam[y0 - top : y1 - top, x0 - left : x1 - left]
            np.maximum(out[y0:y1, x0:x1], patch, out=out[y0:y1, x0:x1])
    peak = out.max()
    return out / peak if peak > 0 else out


def slice_heatmap(model: LesionModel, image: np.ndarray, finding: int) -> np.ndarray:
    """(H, W) float32 in 0..1: where `finding` drove the classifier on this slice."""
    box = locate(model.localiser, [image])[0]
    tiles, origins = slice_tiles(image, box, model.crop_size, model.stride)
    return place_cams(tile_cams(model, tiles, finding), origins, model.crop_size, image.shape)
