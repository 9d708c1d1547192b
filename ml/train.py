"""Train a SliceNet from scratch on labelled slices: the loop written out, no framework.

Deterministic on CPU for a fixed seed and thread count: torch's global RNG (weight init,
dropout) is seeded here, and every data decision (order, augmentation) comes from one numpy
generator. The number of torch threads is the caller's choice, not this module's.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ml.model import NetConfig, SliceNet


@dataclass
class TrainConfig:
    epochs: int = 8
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    max_seconds: float | None = None  # wall-clock budget; checked after every step
    augment: bool = True
    class_weighting: bool = True  # weight the loss by inverse class frequency
    max_shift: float = 0.06  # augmentation: largest shift, as a fraction of the image side
    max_gain: float = 0.1  # augmentation: intensity x U(1 - g, 1 + g) + U(-g/2, g/2)
    device: str = "cpu"  # "cuda" on a GPU worker; augmentation stays on the CPU


@dataclass
class TrainResult:
    model: SliceNet
    history: list[dict] = field(default_factory=list)  # one {epoch, loss, seconds} per epoch
    steps: int = 0
    stopped_early: bool = False  # True when max_seconds ran out before the last epoch ended
    seconds: float = 0.0


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights averaging 1 over present classes; absent classes get 0.

    An absent class never appears as a target, so its weight is never used; 0 just avoids
    dividing by its zero count.
    """
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_classes, dtype=np.float64)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights.astype(np.float32)


def make_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A shuffled split of range(n) into near-equal batches of at most batch_size.

    Near-equal rather than "full batches plus a remainder" so there is never a lonely final
    sample, whose batch-norm statistics would be noise.
    """
    n_batches = max(1, math.ceil(n / batch_size))
    return np.array_split(rng.permutation(n), n_batches)


def augment(x: torch.Tensor, cfg: TrainConfig, rng: np.random.Generator) -> torch.Tensor:
    """Small random shifts and intensity jitter, per image.

    No flips or rotations: sagittal spine slices have a fixed orientation (head up, ventral
    to one side), and a flipped slice is not a plausible scan.
    """
    b, _, h, w = x.shape
    pad = max(1, round(cfg.max_shift * max(h, w)))
    padded = F.pad(x, (pad, pad, pad, pad))  # (B, 1, H + 2p, W + 2p), zero = background
    dy = rng.integers(0, 2 * pad + 1, size=b)
    dx = rng.integers(0, 2 * pad + 1, size=b)
    shifted = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])
    gain = rng.uniform(1 - cfg.max_gain, 1 + cfg.max_gain, size=(b, 1, 1, 1))
    offset = rng.uniform(-cfg.max_gain / 2, cfg.max_gain / 2, size=(b, 1, 1, 1))
    return shifted * torch.from_numpy(gain).float() + torch.from_numpy(offset).float()


def train(
    images: np.ndarray,
    labels: np.ndarray,
    net: NetConfig,
    cfg: TrainConfig,
    progress: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train a fresh SliceNet on images (N, 1, H, W) float32 with labels (N,) in 0..n_classes-1.

    ``progress`` is called after every epoch with {epoch, epochs, loss, seconds, steps}.
    At least one step is always taken, even with a budget of 0 seconds.
    """
    if images.ndim != 4 or images.shape[1] != net.in_channels:
        raise ValueError(f"expected images (N, {net.in_channels}, H, W), got {images.shape}")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(images),):
        raise ValueError(f"expected {len(images)} labels, got shape {labels.shape}")
    if len(labels) == 0:
        raise ValueError("no labelled images to train on")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    if labels.min() < 0 or labels.max() >= net.n_classes:
        raise ValueError(f"labels must lie in 0..{net.n_classes - 1}")

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = torch.device(cfg.device)
    model = SliceNet(net).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    weight = None
    if cfg.class_weighting:
        weight = torch.from_numpy(class_weights(labels, net.n_classes)).to(device)
    x_all = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    y_all = torch.from_numpy(labels)

    result = TrainResult(model=model)
    t0 = time.perf_counter()
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        t_epoch = time.perf_counter()
        loss_sum, n_seen = 0.0, 0
        for idx in make_batches(len(labels), cfg.batch_size, rng):
            # checked before a step, so running out only counts when work was left undone
            over = cfg.max_seconds is not None and time.perf_counter() - t0 >= cfg.max_seconds
            if over and result.steps > 0:
                result.stopped_early = True
                break
            index = torch.from_numpy(idx)
            x, y = x_all[index], y_all[index]  # (B, 1, H, W), (B,)
            if cfg.augment:
                x = augment(x, cfg, rng)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            logits = model(x)  # (B, n_classes)
            loss = F.cross_entropy(logits, y, weight=weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            result.steps += 1
            loss_sum += loss.item() * len(idx)
            n_seen += len(idx)
        if n_seen == 0:
            break  # the budget ran out between two epochs
        record = {
            "epoch": epoch,
            "loss": loss_sum / n_seen,
            "seconds": time.perf_counter() - t_epoch,
        }
        if result.stopped_early:
            record["partial"] = True  # this epoch saw only part of the data
        result.history.append(record)
        if progress is not None:
            progress({**record, "epochs": cfg.epochs, "steps": result.steps})
        if result.stopped_early:
            break
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result
