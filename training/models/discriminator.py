"""PatchGAN discriminator (pix2pix / CycleGAN): one real/fake logit per image patch.

DSANet uses two of them: D_B judges clean images, D_R rainy ones. The thesis does not give
their sizes; the defaults are the 70x70 PatchGAN's layout at a configurable width and depth.

Example:
    D = PatchDiscriminator(base_channels=64, num_layers=3)
    logits = D(img)   # (B, 1, H', W') raw logits (no sigmoid: the GAN loss picks its form)
"""

from __future__ import annotations

import torch
from torch import nn


class PatchDiscriminator(nn.Module):
    """image (B, 3, H, W) in [0, 1] -> patch logits (B, 1, H/2^num_layers - 2, ...).

    Args:
        base_channels: width of the first conv, doubled per stride-2 layer (capped at 8x).
        num_layers: stride-2 conv layers; more layers = larger receptive field per logit.
    """

    def __init__(self, base_channels: int = 64, num_layers: int = 3):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        w = base_channels
        layers: list[nn.Module] = [nn.Conv2d(3, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        ch = w
        for i in range(1, num_layers + 1):
            nxt = w * min(2 ** i, 8)
            stride = 2 if i < num_layers else 1  # last feature layer keeps resolution (pix2pix)
            layers += [nn.Conv2d(ch, nxt, 4, stride=stride, padding=1, bias=False),
                       nn.InstanceNorm2d(nxt, affine=True), nn.LeakyReLU(0.2, inplace=True)]
            ch = nxt
        layers.append(nn.Conv2d(ch, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image * 2.0 - 1.0)  # (B, 1, H', W')
