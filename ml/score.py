"""Run a trained SliceNet over many slices: class probabilities, plain or with MC dropout."""

import numpy as np
import torch
import torch.nn.functional as F

from ml.model import SliceNet


def _batches(images: np.ndarray, batch_size: int):
    for start in range(0, len(images), batch_size):
        chunk = np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32)
        yield torch.from_numpy(chunk)  # (B, 1, H, W)


@torch.no_grad()
def predict_proba(model: SliceNet, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities (N, n_classes) float32 for images (N, 1, H, W)."""
    model.eval()
    device = next(model.parameters()).device
    out = [F.softmax(model(x.to(device)), dim=1).cpu() for x in _batches(images, batch_size)]
    if not out:
        return np.zeros((0, model.config.n_classes), dtype=np.float32)
    return torch.cat(out).numpy()


@torch.no_grad()
def predict_proba_mc(
    model: SliceNet, images: np.ndarray, passes: int = 20, batch_size: int = 64, seed: int = 0
) -> np.ndarray:
    """Mean softmax probabilities (N, n_classes) over ``passes`` dropout masks (MC dropout).

    SliceNet's only dropout sits between the pooled features and the linear head, so the
    conv trunk runs once per batch and only the cheap head is repeated: extra passes cost
    almost nothing. Batch norm stays in eval mode. Masks come from a seeded generator, so
    scores are reproducible and the global torch RNG is left alone.
    """
    model.eval()
    p = model.config.dropout
    gen = torch.Generator().manual_seed(seed)
    out = []
    for x in _batches(images, batch_size):
        pooled = model.trunk(x).mean(dim=(2, 3))  # (B, K)
        total = torch.zeros(len(x), model.config.n_classes)
        for _ in range(passes):
            keep = (torch.rand(pooled.shape, generator=gen) >= p).float()  # (B, K)
            dropped = pooled * keep / (1.0 - p) if p > 0 else pooled  # inverted dropout
            total += F.softmax(model.head(dropped), dim=1)
        out.append(total / passes)
    if not out:
        return np.zeros((0, model.config.n_classes), dtype=np.float32)
    return torch.cat(out).numpy()
