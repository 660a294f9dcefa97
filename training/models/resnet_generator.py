"""ResNet generator of CycleGAN (Zhu et al. 2017, after Johnson et al. 2016): image -> image.

Layout: 7x7 conv to `base_channels`, `num_down` stride-2 convs (width doubles each), `num_blocks`
residual blocks at 1/2^num_down resolution, the same number of stride-2 transposed convs back,
a 7x7 conv to RGB and tanh. Reflection padding and instance norm as in the paper; 9 blocks /
width 64 is the paper's 256x256 generator. Images are [0, 1] in and out (scaled to [-1, 1]
inside), like the project's PatchDiscriminator, so the generator plugs into [0, 1] pipelines.

Example:
    G = ResnetGenerator(base_channels=64, num_blocks=9)
    night = G(day)      # (B, 3, H, W) -> (B, 3, H, W), H and W multiples of 2^num_down
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded (no border artefacts at 3x3)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels, affine=True), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """(B, 3, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1].

    Args:
        base_channels: width of the first and last convs (64 in the paper).
        num_blocks: residual blocks at the bottleneck (9 for 256x256, 6 for 128x128 in the paper).
        num_down: stride-2 down/up-sampling stages (2 in the paper); H, W must be multiples of 2^num_down.
    """

    def __init__(self, base_channels: int = 64, num_blocks: int = 9, num_down: int = 2):
        super().__init__()
        if base_channels < 1 or num_blocks < 0 or num_down < 0:
            raise ValueError(f"bad generator size: base_channels={base_channels}, "
                             f"num_blocks={num_blocks}, num_down={num_down}")
        w = base_channels
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, w, 7, bias=False),
                                   nn.InstanceNorm2d(w, affine=True), nn.ReLU(inplace=True)]
        for i in range(num_down):
            c = w * 2 ** i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False),
                       nn.InstanceNorm2d(2 * c, affine=True), nn.ReLU(inplace=True)]
        layers += [ResidualBlock(w * 2 ** num_down) for _ in range(num_blocks)]
        for i in reversed(range(num_down)):
            c = w * 2 ** (i + 1)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=False),
                       nn.InstanceNorm2d(c // 2, affine=True), nn.ReLU(inplace=True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.multiple = 2 ** num_down

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (self.net(image * 2.0 - 1.0) + 1.0) * 0.5   # (B, 3, H, W) in [0, 1]
