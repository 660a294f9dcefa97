"""Tiny networks with the real I/O signatures, for export tests (registered as model kinds by the tests)."""

from __future__ import annotations

import torch
from torch import nn


class TinySegmenter(nn.Module):
    """(B, 3, H, W) normalised -> (B, num_classes, H, W) logits, with a stride-2 stage and upsampling."""

    def __init__(self, num_classes: int = 4, width: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, stride=2, padding=1), nn.BatchNorm2d(width),
                                  nn.ReLU(), nn.Conv2d(width, num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.body(x)                                           # (B, C, H/2, W/2)
        return nn.functional.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


class TinyEncoder(nn.Module):
    """(B, 3, H, W) in [0, 1] -> (B, C, H/4, W/4): first C/2 channels background code, last C/2 rain code."""

    def __init__(self, code_channels: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, code_channels, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(code_channels, code_channels, 3, stride=2, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TinyGenerator(nn.Module):
    """(B, C, h, w) codes -> (B, 3, 4h, 4w) image in [0, 1]."""

    def __init__(self, code_channels: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.ConvTranspose2d(code_channels, 8, 4, stride=4), nn.ReLU(),
                                 nn.Conv2d(8, 3, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z))
