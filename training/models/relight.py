"""DANNet's image relighting network: a light encoder-decoder whose output is added to its input.

`R = I + f(I)`: the network learns a residual brightness/contrast correction, so it starts as
the identity (the last conv is zero-initialised) and the segmenter sees unchanged images
until the light loss and the segmentation losses move it. One network serves all three
domains (source day, target day, target night); the light loss pulls their intensity
distributions together.

Example:
    relight = RelightNet(base_channels=16)
    relit = relight(images)   # (B, 3, H, W) in ~[0, 1] -> (B, 3, H, W), same size
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU(inplace=True))


class RelightNet(nn.Module):
    """[0, 1] image (B, 3, H, W) -> relit image (B, 3, H, W) = input + residual.

    Args:
        base_channels: width at full resolution (x2 at 1/2, x4 at 1/4).
        num_blocks: residual 3x3 blocks at 1/4 resolution.
    """

    def __init__(self, base_channels: int = 16, num_blocks: int = 2):
        super().__init__()
        c = base_channels
        self.stem = _conv(3, c)
        self.down1 = _conv(c, 2 * c, stride=2)
        self.down2 = _conv(2 * c, 4 * c, stride=2)
        self.blocks = nn.ModuleList(nn.Sequential(_conv(4 * c, 4 * c), nn.Conv2d(4 * c, 4 * c, 3, padding=1))
                                    for _ in range(num_blocks))
        self.up2 = _conv(4 * c, 2 * c)
        self.up1 = _conv(2 * c, c)
        self.out = nn.Conv2d(c, 3, 3, padding=1)
        assert self.out.bias is not None
        nn.init.zeros_(self.out.weight)  # start as the identity: R = I
        nn.init.zeros_(self.out.bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x0 = self.stem(image)          # (B, c, H, W)
        x1 = self.down1(x0)            # (B, 2c, H/2, W/2)
        x = self.down2(x1)             # (B, 4c, H/4, W/4)
        for block in self.blocks:
            x = F.relu(x + block(x))
        # Upsample to the skip's exact size, so odd sizes work too.
        x = self.up2(F.interpolate(x, size=x1.shape[-2:], mode="bilinear", align_corners=False)) + x1
        x = self.up1(F.interpolate(x, size=x0.shape[-2:], mode="bilinear", align_corners=False)) + x0
        return image + torch.tanh(self.out(x))   # residual bounded to [-1, 1]
