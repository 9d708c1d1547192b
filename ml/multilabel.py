"""LesionNet: a small residual CNN that names the lesion findings on a crop around the canal.

Multi-label: one logit (one sigmoid) per lesion finding, since a slice can show, say, an
IVDE and a syrinx at once; "unremarkable" is no finding above its threshold, not a class.

- The first residual stage runs at full crop resolution (no pooling, no stride before it):
  a lesion of a few pixels must survive until the network has looked at it.
- The series' plane and weighting go in as one-hot vectors beside the pooled image
  features: the same dark spot means different things on T1W and T2W.
- Dropout sits on the pooled image features only, and ``features`` / ``head`` are split so
  MC dropout can run the trunk once and repeat only the cheap head.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ClassifierConfig:
    n_lesions: int = 5
    in_size: int = 64  # side of the square crop; the net accepts any size, this records
    # what it was trained on
    width: int = 16  # channels of the first stage; doubled in each of the next three
    planes: int = 3  # size of the plane vocabulary (names live in the checkpoint)
    sequences: int = 4  # size of the weighting vocabulary
    dropout: float = 0.2  # on the pooled image features, before the head

    def __post_init__(self) -> None:
        if min(self.n_lesions, self.in_size, self.width, self.planes, self.sequences) < 1:
            raise ValueError(f"all sizes must be positive: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


class ResBlock(nn.Module):
    """Two 3x3 conv-bn layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        # no conv bias: the batch norm that follows has its own
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))  # (B, c_out, H/stride, W/stride)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class LesionNet(nn.Module):
    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.stem = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()
        )
        self.stages = nn.Sequential(
            ResBlock(w, w, stride=1),  # full resolution
            ResBlock(w, 2 * w, stride=2),
            ResBlock(2 * w, 4 * w, stride=2),
            ResBlock(4 * w, 8 * w, stride=2),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head_fc = nn.Linear(8 * w + config.planes + config.sequences, config.n_lesions)

    @property
    def n_features(self) -> int:
        return 8 * self.config.width

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's maps (B, 8*width, S/8, S/8) of crops x (B, 1, S, S)."""
        return self.stages(self.stem(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled image features (B, 8*width) of crops x (B, 1, S, S)."""
        return self.feature_maps(x).mean(dim=(2, 3))  # (B, 8w)

    def head(
        self, feats: torch.Tensor, plane: torch.Tensor, sequence: torch.Tensor
    ) -> torch.Tensor:
        """Logits (B, n_lesions) from (dropped-out) features (B, 8w) and the series' plane and
        sequence (B,) int indices."""
        p = F.one_hot(plane.long(), self.config.planes).to(feats.dtype)  # (B, P)
        s = F.one_hot(sequence.long(), self.config.sequences).to(feats.dtype)  # (B, Q)
        return self.head_fc(torch.cat([feats, p, s], dim=1))  # (B, K)

    def forward(self, x: torch.Tensor, plane: torch.Tensor, sequence: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)), plane, sequence)  # (B, K)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def as_batch(crops: np.ndarray) -> np.ndarray:
    """Crops (N, S, S) or (N, 1, S, S) -> contiguous float32 (N, 1, S, S)."""
    a = np.asarray(crops, dtype=np.float32)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] != 1:
        raise ValueError(f"expected crops (N, S, S) or (N, 1, S, S), got {a.shape}")
    return np.ascontiguousarray(a)


@torch.no_grad()
def predict(
    model: LesionNet,
    crops: np.ndarray,
    planes: np.ndarray,
    sequences: np.ndarray,
    batch_size: int = 128,
) -> np.ndarray:
    """Sigmoid probabilities (N, n_lesions) float32, one independent probability per finding."""
    model.eval()
    x_all = as_batch(crops)
    p_all = torch.as_tensor(np.asarray(planes, dtype=np.int64))
    s_all = torch.as_tensor(np.asarray(sequences, dtype=np.int64))
    if not len(x_all) == len(p_all) == len(s_all):
        raise ValueError(f"{len(x_all)} crops, {len(p_all)} planes, {len(s_all)} sequences")
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(x_all), batch_size):
        end = start + batch_size
        x = torch.from_numpy(x_all[start:end]).to(device)  # (B, 1, S, S)
        logits = model(x, p_all[start:end].to(device), s_all[start:end].to(device))
        out.append(torch.sigmoid(logits.float()).cpu())  # (B, K)
    if not out:
        return np.zeros((0, model.config.n_lesions), dtype=np.float32)
    return torch.cat(out).numpy()
