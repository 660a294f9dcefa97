"""Output-space discriminator (AdaptSegNet / DANNet): judges class-probability maps, not images.

DANNet uses two of them, D_d (target day) and D_n (target night), each trained to tell the
source's predictions from the target's. Five 4x4 convolutions with {64, 128, 256, 256, 1}
channels by default; the strides are a parameter because the spec reads 2, 2, 1, 1, 1 while
the usual output-space discriminator uses 2 throughout.

Example:
    D = OutputDiscriminator(num_classes=19, strides=[2, 2, 1, 1, 1])
    scores = D(torch.softmax(logits, 1))   # (B, 1, H', W') raw scores (least-squares GAN)
"""

from __future__ import annotations

import torch
from torch import nn


class OutputDiscriminator(nn.Module):
    """probabilities (B, num_classes, H, W) -> patch scores (B, 1, H', W').

    Args:
        num_classes: input channels (the segmenter's classes).
        channels: output widths of the five convolutions (the last must be 1).
        strides: stride of each convolution.
    """

    def __init__(self, num_classes: int = 19, channels: list[int] | tuple[int, ...] = (64, 128, 256, 256, 1),
                 strides: list[int] | tuple[int, ...] = (2, 2, 1, 1, 1)):
        super().__init__()
        if len(channels) != len(strides) or not channels or channels[-1] != 1:
            raise ValueError(f"channels {list(channels)} and strides {list(strides)} must have equal "
                             f"length and end in one output channel")
        layers: list[nn.Module] = []
        cin = num_classes
        for i, (cout, stride) in enumerate(zip(channels, strides)):
            layers.append(nn.Conv2d(cin, cout, 4, stride=stride, padding=1))
            if i < len(channels) - 1:
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        self.net = nn.Sequential(*layers)

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        return self.net(probs)
