"""SliceNet: a small CNN that classifies one MRI slice, plus what a class-activation map needs.

Four conv-bn-relu blocks; the first three end in a 2x2 max-pool and the fourth in the global
average pool. Keeping the last block unpooled leaves a 1/8-resolution feature map (16x16 at
128 px) whose global average feeds the linear head directly, so the class-activation map
(``ml/heatmap.py``) is exact rather than an approximation through a final max-pool.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class NetConfig:
    n_classes: int = 6
    in_size: int = 128  # side of the square input that ml.preprocess produces; the net itself
    # accepts any size, this records what it was trained on
    width: int = 16  # channels of the first block; doubled in each following block
    dropout: float = 0.2  # on the pooled features, before the linear head
    in_channels: int = 1

    def __post_init__(self) -> None:
        if self.n_classes < 1 or self.width < 1 or self.in_channels < 1:
            raise ValueError(f"n_classes, width and in_channels must be positive: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


class ConvBlock(nn.Module):
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


class SliceNet(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.trunk = nn.Sequential(
            ConvBlock(config.in_channels, w, pool=True),
            ConvBlock(w, 2 * w, pool=True),
            ConvBlock(2 * w, 4 * w, pool=True),
            ConvBlock(4 * w, 8 * w, pool=False),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(8 * w, config.n_classes)

    @property
    def n_features(self) -> int:
        return self.head.in_features

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, n_classes) and the last conv feature maps (B, 8*width, H/8, W/8)."""
        fmap = self.trunk(x)  # (B, 8w, H/8, W/8)
        pooled = fmap.mean(dim=(2, 3))  # (B, 8w): the global average pool
        logits = self.head(self.dropout(pooled))  # (B, n_classes)
        return logits, fmap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits, _ = self.forward_with_features(x)
        return logits  # (B, n_classes)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
