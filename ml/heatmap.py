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
    """(T, S, S) non-negative activation of `finding` over each tile, at tile resolution."""
    net = model.classifier.eval()
    device = next(net.parameters()).device
    x = torch.from_numpy(as_batch(tiles)).to(device)
    maps = net.feature_maps(x)  # (T, 8w, S/8, S/8)
    weights = net.head_fc.weight[finding, : net.n_features]  # (8w,)
    cam = F.relu(torch.einsum("c,tchw->thw", weights, maps))  # (T, S/8, S/8)
    size = tiles.shape[-1]
    up = F.interpolate(cam[:, None], size=(size, size), mode="bilinear", align_corners=False)
    return up[:, 0].cpu().numpy()


def slice_heatmap(model: LesionModel, image: np.ndarray, finding: int) -> np.ndarray:
    """(H, W) float32 in 0..1: where `finding` drove the classifier on this slice."""
    box = locate(model.localiser, [image])[0]
    tiles, origins = slice_tiles(image, box, model.crop_size, model.stride)
    cams = tile_cams(model, tiles, finding)
    h, w = image.shape
    out = np.zeros((h, w), dtype=np.float32)
    size = model.crop_size
    for cam, (top, left) in zip(cams, origins, strict=True):
        y0, y1 = max(top, 0), min(top + size, h)
        x0, x1 = max(left, 0), min(left + size, w)
        if y0 < y1 and x0 < x1:
            patch = cam[y0 - top : y1 - top, x0 - left : x1 - left]
            np.maximum(out[y0:y1, x0:x1], patch, out=out[y0:y1, x0:x1])
    peak = out.max()
    return out / peak if peak > 0 else out
