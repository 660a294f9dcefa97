"""SPADE (Park et al. 2019): normalised activations modulated by convolutions of a label map.

Used twice by mask restoration (docs/mask_restoration.md):
- the image generator, label distribution (B, K, H, W) -> image (B, 3, H, W) in [0, 1],
  trained by train-spade and then frozen;
- the mask generator, incomplete one-hot mask (B, K + 1, H, W) -> class logits (B, K, H, W)
  (the extra channel marks unknown pixels), trained by train-mask-restorer.

Facts taken from the paper and NVlabs/SPADE (no code copied): SPADE normalises without
learned affine parameters, then a shared conv + ReLU on the resized label map feeds two
convs giving the per-pixel gamma and beta, out = norm(x) * (1 + gamma) + beta; a SPADE
residual block is SPADE -> LeakyReLU(0.2) -> conv3x3, twice, with a learned SPADE + 1x1 conv
shortcut when the width changes; the generator starts from the label map downsampled to
1/2^num_up and alternates residual blocks with x2 nearest upsampling; convs of the blocks
carry spectral norm.

Example:
    g = SPADEGenerator(label_channels=34, out_channels=3, base_channels=16, num_up=4)
    image = g(torch.softmax(logits, 1))        # (B, 3, H, W), H and W multiples of 16
"""

from __future__ import annotations

from typing import Literal, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class SPADE(nn.Module):
    """Spatially-adaptive normalisation of x (B, C, H, W) by a label map (B, L, h, w).

    Args:
        channels: C, the channels of x.
        label_channels: L, the channels of the label map (resized to x's size, nearest).
        hidden: width of the shared conv on the label map.
        kernel: kernel size of the three label convs (3 in the paper).
        norm: "instance" or "batch" (both without learned affine parameters). Instance is the
            default here: CPU batches are 1-4 images and the frozen generator then computes
            the same function in train and eval mode.
    """

    def __init__(self, channels: int, label_channels: int, hidden: int = 64, kernel: int = 3,
                 norm: Literal["instance", "batch"] = "instance"):
        super().__init__()
        if norm == "instance":
            self.norm: nn.Module = nn.InstanceNorm2d(channels, affine=False)
        elif norm == "batch":
            self.norm = nn.BatchNorm2d(channels, affine=False)
        else:
            raise ValueError(f"SPADE norm must be 'instance' or 'batch', got {norm!r}")
        pad = kernel // 2
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, kernel, padding=pad), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, kernel, padding=pad)
        self.beta = nn.Conv2d(hidden, channels, kernel, padding=pad)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        label = F.interpolate(label, size=x.shape[-2:], mode="nearest")   # (B, L, H, W)
        h = self.shared(label)                                             # (B, hidden, H, W)
        return self.norm(x) * (1 + self.gamma(h)) + self.beta(h)


class SPADEResBlock(nn.Module):
    """x (B, fin, H, W), label -> (B, fout, H, W): two SPADE-ReLU-conv stages + shortcut."""

    def __init__(self, fin: int, fout: int, label_channels: int, hidden: int = 64,
                 norm: Literal["instance", "batch"] = "instance", spectral: bool = True):
        super().__init__()
        mid = min(fin, fout)
        sn = spectral_norm if spectral else (lambda m: m)
        self.norm_0 = SPADE(fin, label_channels, hidden, norm=norm)
        self.conv_0 = sn(nn.Conv2d(fin, mid, 3, padding=1))
        self.norm_1 = SPADE(mid, label_channels, hidden, norm=norm)
        self.conv_1 = sn(nn.Conv2d(mid, fout, 3, padding=1))
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_channels, hidden, norm=norm)
            self.conv_s = sn(nn.Conv2d(fin, fout, 1, bias=False))

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, label)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, label), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, label), 0.2))
        return shortcut + dx


class SPADEGenerator(nn.Module):
    """Label map (B, L, H, W) -> image (B, out, H, W) in [0, 1] or logits (B, out, H, W).

    Args:
        label_channels: L (classes, or classes + 1 "unknown" channel for the mask generator).
        out_channels: 3 for an image, K for class logits.
        base_channels: width at full resolution; it doubles per level going down, capped at 16x.
        num_up: x2 upsampling stages; H and W must be multiples of 2^num_up.
        hidden: width of the SPADE label convs.
        output: "image" (tanh mapped to [0, 1]) or "logits" (raw).
    """

    def __init__(self, label_channels: int, out_channels: int = 3, base_channels: int = 32,
                 num_up: int = 4, hidden: int = 64, norm: Literal["instance", "batch"] = "instance",
                 spectral: bool = True, output: Literal["image", "logits"] = "image"):
        super().__init__()
        if output not in ("image", "logits"):
            raise ValueError(f"output must be 'image' or 'logits', got {output!r}")
        if num_up < 1:
            raise ValueError(f"num_up must be >= 1, got {num_up}")
        self.num_up, self.output, self.label_channels = num_up, output, label_channels
        widths = [base_channels * 2 ** min(num_up - i, 4) for i in range(num_up + 1)]  # coarse -> fine
        self.fc = nn.Conv2d(label_channels, widths[0], 3, padding=1)
        self.head = SPADEResBlock(widths[0], widths[0], label_channels, hidden, norm, spectral)
        self.ups = nn.ModuleList(SPADEResBlock(fin, fout, label_channels, hidden, norm, spectral)
                                 for fin, fout in zip(widths[:-1], widths[1:]))
        self.conv_out = nn.Conv2d(widths[-1], out_channels, 3, padding=1)

    def forward(self, label: torch.Tensor) -> torch.Tensor:
        h, w = label.shape[-2:]
        step = 2 ** self.num_up
        if h % step or w % step:
            raise ValueError(f"SPADE generator input is {h}x{w}; height and width must be "
                             f"multiples of {step} (2^num_up)")
        small = F.interpolate(label, size=(h // step, w // step), mode="nearest")
        x = self.fc(small)                             # (B, C0, H/2^n, W/2^n)
        x = self.head(x, label)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2.0, mode="nearest"), label)
        x = self.conv_out(F.leaky_relu(x, 0.2))      # (B, out, H, W)
        return torch.tanh(x) * 0.5 + 0.5 if self.output == "image" else x


class MultiscalePatchDiscriminator(nn.Module):
    """pix2pixHD / SPADE discriminator: PatchGANs on (label, image) at num_d scales.

    training.models.discriminator.PatchDiscriminator judges a 3-channel image and returns
    only its logits; SPADE's needs the label map as input and every layer's features for the
    feature-matching loss, hence this one.

    forward returns, per scale (full resolution first), the list of layer outputs; the last
    one is the (B, 1, h, w) patch logits. Between scales the input is average-pooled by 2.
    """

    def __init__(self, label_channels: int, base_channels: int = 64, num_layers: int = 4,
                 num_d: int = 2, spectral: bool = True):
        super().__init__()
        self.scales = nn.ModuleList(_patch_layers(label_channels + 3, base_channels, num_layers, spectral)
                                    for _ in range(num_d))

    def forward(self, label: torch.Tensor, image: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([label, image * 2.0 - 1.0], dim=1)   # (B, L + 3, H, W)
        outs = []
        for i, layers in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            feats, h = [], x
            for layer in cast(nn.ModuleList, layers):
                h = layer(h)
                feats.append(h)
            outs.append(feats)
        return outs


def _patch_layers(in_channels: int, width: int, num_layers: int, spectral: bool) -> nn.ModuleList:
    sn = spectral_norm if spectral else (lambda m: m)
    layers = [nn.Sequential(nn.Conv2d(in_channels, width, 4, stride=2, padding=2), nn.LeakyReLU(0.2))]
    ch = width
    for i in range(1, num_layers):
        nxt = min(ch * 2, width * 8)
        stride = 2 if i < num_layers - 1 else 1
        layers.append(nn.Sequential(sn(nn.Conv2d(ch, nxt, 4, stride=stride, padding=2)),
                                    nn.InstanceNorm2d(nxt, affine=False), nn.LeakyReLU(0.2)))
        ch = nxt
    layers.append(nn.Sequential(nn.Conv2d(ch, 1, 4, stride=1, padding=2)))
    return nn.ModuleList(layers)
