"""ERF-PSPNet: ERFNet encoder + PSPNet pyramid pooling decoder (real-time segmenter).

From "See Clearer at Night" (../shared/spec/night.md). The encoder is ERFNet's (Romera et
al., 2018): downsampler blocks (strided 3x3 conv concatenated with 2x2 max pooling) and
non-bottleneck-1d residual blocks (factorised 3x1/1x3 convolutions, dilated in the last
stage). The decoder is PSPNet's pyramid pooling module on the 1/8 feature map, a 3x3
fusion conv and a 1x1 classifier; logits are upsampled to the input size.

Input height and width must be multiples of 8 (three downsamplers concatenate a strided
conv with a max pool, whose sizes differ on odd inputs).

Example:
    model = ERFPSPNet(num_classes=19)
    logits = model(normalised_images)  # (B, 19, H, W)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DownsamplerBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels - in_channels, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2, stride=2)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(torch.cat([self.conv(x), self.pool(x)], dim=1)))  # (B, out, H/2, W/2)


class NonBottleneck1d(nn.Module):
    """ERFNet residual block: two factorised 3x3 convs, the second pair dilated."""

    def __init__(self, channels: int, dropout: float, dilation: int):
        super().__init__()
        d = dilation
        self.conv3x1_1 = nn.Conv2d(channels, channels, (3, 1), padding=(1, 0))
        self.conv1x3_1 = nn.Conv2d(channels, channels, (1, 3), padding=(0, 1))
        self.bn1 = nn.BatchNorm2d(channels, eps=1e-3)
        self.conv3x1_2 = nn.Conv2d(channels, channels, (3, 1), padding=(d, 0), dilation=(d, 1))
        self.conv1x3_2 = nn.Conv2d(channels, channels, (1, 3), padding=(0, d), dilation=(1, d))
        self.bn2 = nn.BatchNorm2d(channels, eps=1e-3)
        self.dropout = nn.Dropout2d(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv3x1_1(x))
        out = F.relu(self.bn1(self.conv1x3_1(out)))
        out = F.relu(self.conv3x1_2(out))
        out = self.dropout(self.bn2(self.conv1x3_2(out)))
        return F.relu(out + x)


class ERFNetEncoder(nn.Module):
    """(B, 3, H, W) -> (B, C3, H/8, W/8) with channels (C1, C2, C3) = (16, 64, 128) by default."""

    def __init__(self, channels: tuple[int, int, int] = (16, 64, 128),
                 dropout: tuple[float, float] = (0.03, 0.3)):
        super().__init__()
        c1, c2, c3 = channels
        layers: list[nn.Module] = [DownsamplerBlock(3, c1), DownsamplerBlock(c1, c2)]
        layers += [NonBottleneck1d(c2, dropout[0], 1) for _ in range(5)]
        layers.append(DownsamplerBlock(c2, c3))
        for _ in range(2):
            layers += [NonBottleneck1d(c3, dropout[1], d) for d in (2, 4, 8, 16)]
        self.layers = nn.Sequential(*layers)
        self.out_channels = c3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class PyramidPooling(nn.Module):
    """PSPNet pyramid pooling: pool to each bin size, 1x1 conv, upsample, concat with input."""

    def __init__(self, in_channels: int, bins: tuple[int, ...] = (1, 2, 3, 6)):
        super().__init__()
        branch = in_channels // len(bins)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(in_channels, branch, 1, bias=False),
                          nn.BatchNorm2d(branch), nn.ReLU())
            for b in bins)
        self.out_channels = in_channels + branch * len(bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pooled = [F.interpolate(stage(x), size=size, mode="bilinear", align_corners=False)
                  for stage in self.stages]
        return torch.cat([x, *pooled], dim=1)  # (B, C + len(bins) * C/len(bins), h, w)


class ERFPSPNet(nn.Module):
    """ERF-PSPNet: normalised (B, 3, H, W) -> logits (B, num_classes, H, W).

    Args:
        num_classes: output classes.
        channels: encoder stage widths (ERFNet: 16, 64, 128).
        bins: pyramid pooling bin sizes (PSPNet: 1, 2, 3, 6).
        head_channels: width of the 3x3 fusion conv after pyramid pooling.
        dropout: encoder dropout of the 64- and 128-channel stages (ERFNet: 0.03, 0.3).
    """

    def __init__(self, *, num_classes: int = 19, channels: tuple[int, int, int] | list[int] = (16, 64, 128),
                 bins: tuple[int, ...] | list[int] = (1, 2, 3, 6), head_channels: int = 256,
                 dropout: tuple[float, float] | list[float] = (0.03, 0.3)):
        super().__init__()
        c = tuple(channels)
        if len(c) != 3:
            raise ValueError(f"channels must have 3 entries, got {channels}")
        self.encoder = ERFNetEncoder((c[0], c[1], c[2]), (dropout[0], dropout[1]))
        self.ppm = PyramidPooling(self.encoder.out_channels, tuple(bins))
        self.fuse = nn.Sequential(
            nn.Conv2d(self.ppm.out_channels, head_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(head_channels), nn.ReLU(), nn.Dropout2d(0.1))
        self.classifier = nn.Conv2d(head_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(x)                      # (B, 128, H/8, W/8)
        logits = self.classifier(self.fuse(self.ppm(feats)))  # (B, K, H/8, W/8)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
