"""Find the vertebral canal on a whole slice.

Lesions are tiny (about 0.2% of a slice), so the classifier does not read the downsampled
whole slice: a small CNN first regresses the canal box on a ``ml.preprocess`` input (the
slice padded to a square and resized to ``in_size``), and ``ml.tiles`` then cuts
native-resolution tiles along that box, where the lesion still has its pixels.

Boxes are pixel ``(x, y, w, h)`` of the original slice (x, y the top-left corner) on the way
in and out; inside, targets are ``(cx, cy, w, h)`` as fractions of the padded square, the
frame the network sees. The centre comes from a soft-argmax over a coarse heat map (a
weighted mean of cell positions, so sub-cell precision and no hard decision to learn), the
width and height from the globally pooled features.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ml.preprocess import to_model_input


class ConvBlock(nn.Module):
    """3×3 convolution, batch norm, ReLU, and an optional 2×2 max pool."""

    def __init__(self, c_in: int, c_out: int, pool: bool) -> None:
        super().__init__()
        # no conv bias: the batch norm that follows has its own
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv(x)))  # (B, c_out, H, W)
        if self.pool:
            x = F.max_pool2d(x, 2)  # (B, c_out, H/2, W/2)
        return x


@dataclass
class LocaliserConfig:
    in_size: int = 128  # side of the square whole-slice input
    width: int = 8  # channels of the first block; doubled in each of the next two
    # training
    steps: int = 400
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    max_shift: float = 0.1  # augmentation: largest shift, as a fraction of the input side
    max_gain: float = 0.1  # augmentation: intensity x U(1 - g, 1 + g) + U(-g/2, g/2)
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.in_size < 16 or self.in_size % 8:
            raise ValueError(f"in_size must be a multiple of 8, at least 16: {self.in_size}")
        if self.width < 1 or self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"width, steps and batch_size must be positive: {self}")


class Localiser(nn.Module):
    def __init__(self, config: LocaliserConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.trunk = nn.Sequential(
            ConvBlock(1, w, pool=True),
            ConvBlock(w, 2 * w, pool=True),
            ConvBlock(2 * w, 4 * w, pool=True),
            ConvBlock(4 * w, 4 * w, pool=False),
        )
        self.heat = nn.Conv2d(4 * w, 1, kernel_size=1)  # canal-centre score per cell
        self.size = nn.Linear(4 * w, 2)  # log-odds of (w, h) as fractions of the side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Boxes (B, 4) as (cx, cy, w, h) in 0..1 of the square input x (B, 1, S, S)."""
        fmap = self.trunk(x)  # (B, 4w, S/8, S/8)
        b, _, h, w = fmap.shape
        weights = F.softmax(self.heat(fmap).flatten(1), dim=1).view(b, h, w)  # (B, h, w)
        # cell centres in 0..1, so a one-hot heat map points at the middle of its cell
        ys = (torch.arange(h, device=x.device, dtype=fmap.dtype) + 0.5) / h  # (h,)
        xs = (torch.arange(w, device=x.device, dtype=fmap.dtype) + 0.5) / w  # (w,)
        cy = (weights.sum(dim=2) * ys).sum(dim=1)  # (B,)
        cx = (weights.sum(dim=1) * xs).sum(dim=1)  # (B,)
        size = torch.sigmoid(self.size(fmap.mean(dim=(2, 3))))  # (B, 2)
        return torch.cat([cx[:, None], cy[:, None], size], dim=1)  # (B, 4)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _inputs(images: Sequence[np.ndarray] | np.ndarray, size: int) -> np.ndarray:
    """Raw slices of any sizes -> (N, 1, size, size) float32, as ``ml.preprocess`` makes them."""
    return np.stack([to_model_input(im, size) for im in images])[:, None]


def _to_unit(boxes: np.ndarray, shapes: list[tuple[int, int]]) -> np.ndarray:
    """Pixel (x, y, w, h) -> (cx, cy, w, h) in 0..1 of each slice's padded square."""
    out = np.empty((len(boxes), 4), dtype=np.float32)
    for i, ((h, w), (bx, by, bw, bh)) in enumerate(zip(shapes, boxes, strict=True)):
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2  # as ml.preprocess.pad_to_square
        out[i] = [(bx + bw / 2 + left) / side, (by + bh / 2 + top) / side, bw / side, bh / side]
    return out


def _to_pixels(unit: np.ndarray, shapes: list[tuple[int, int]]) -> np.ndarray:
    """Inverse of ``_to_unit``."""
    out = np.empty((len(unit), 4), dtype=np.float32)
    for i, ((h, w), (cx, cy, bw, bh)) in enumerate(zip(shapes, unit, strict=True)):
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        bw, bh = bw * side, bh * side
        out[i] = [cx * side - left - bw / 2, cy * side - top - bh / 2, bw, bh]
    return out


def _augment(
    x: torch.Tensor, y: torch.Tensor, cfg: LocaliserConfig, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift, flip and intensity jitter per image; the target box moves with the image.

    Any flip is fine here: the box of a mirrored canal is the mirrored box.
    """
    b, _, s, _ = x.shape
    pad = max(1, round(cfg.max_shift * s))
    padded = F.pad(x, (pad, pad, pad, pad))  # (B, 1, S + 2p, S + 2p), zero = background
    dy = rng.integers(0, 2 * pad + 1, size=b)
    dx = rng.integers(0, 2 * pad + 1, size=b)
    x = torch.stack([padded[i, :, dy[i] : dy[i] + s, dx[i] : dx[i] + s] for i in range(b)])
    y = y.clone()
    y[:, 0] += torch.from_numpy((pad - dx) / s).float()
    y[:, 1] += torch.from_numpy((pad - dy) / s).float()
    for dim, col in ((3, 0), (2, 1)):  # horizontal flips x, vertical flips y
        flip = torch.from_numpy(rng.random(b) < 0.5)
        x = torch.where(flip[:, None, None, None], x.flip(dim), x)
        y[:, col] = torch.where(flip, 1.0 - y[:, col], y[:, col])
    gain = rng.uniform(1 - cfg.max_gain, 1 + cfg.max_gain, size=(b, 1, 1, 1))
    offset = rng.uniform(-cfg.max_gain / 2, cfg.max_gain / 2, size=(b, 1, 1, 1))
    x = x * torch.from_numpy(gain).float() + torch.from_numpy(offset).float()
    return x, y


def train_localiser(
    images: Sequence[np.ndarray] | np.ndarray, boxes: np.ndarray, cfg: LocaliserConfig
) -> Localiser:
    """Train a fresh Localiser on raw slices (each (H, W), sizes may differ) and their canal
    boxes (N, 4) pixel (x, y, w, h); L1 loss on (cx, cy, w, h), AdamW with a cosine schedule.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.shape != (len(images), 4):
        raise ValueError(f"expected boxes ({len(images)}, 4), got {boxes.shape}")
    if len(images) == 0:
        raise ValueError("no slices to train on")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = torch.device(cfg.device)
    x_all = torch.from_numpy(_inputs(images, cfg.in_size))  # (N, 1, S, S)
    y_all = torch.from_numpy(_to_unit(boxes, [np.shape(im) for im in images]))  # (N, 4)
    model = Localiser(cfg).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    for step in range(cfg.steps):
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = torch.from_numpy(rng.integers(0, len(x_all), size=cfg.batch_size))
        x, y = _augment(x_all[idx], y_all[idx], cfg, rng)  # (B, 1, S, S), (B, 4)
        loss = F.l1_loss(model(x.to(device)), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    return model


@torch.no_grad()
def locate(
    model: Localiser, images: Sequence[np.ndarray] | np.ndarray, batch_size: int = 64
) -> np.ndarray:
    """Canal boxes (N, 4) float32 pixel (x, y, w, h) for raw slices (each (H, W))."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(_inputs(images[start : start + batch_size], model.config.in_size))
        out.append(model(x.to(device)).cpu().numpy())  # (B, 4)
    if not out:
        return np.zeros((0, 4), dtype=np.float32)
    return _to_pixels(np.concatenate(out), [np.shape(im) for im in images])
