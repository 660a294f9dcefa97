"""DSANet generator networks: the disentangler E and the synthesiser G.

E maps an RGB image in [0, 1] to a feature map at 1/4 resolution whose first C/2 channels
are the background code and whose last C/2 channels are the rain code (spatial codes,
because rain is spatially structured). G maps a (background ⊕ rain) feature map back to an
RGB image in [0, 1]. Layer sizes are not given in the thesis; the defaults here (a
CycleGAN/MUNIT-style conv encoder, residual blocks, nearest-upsample decoder) are our choice
and every size is a constructor kwarg that the training config sets.

Both forwards are export-friendly: tensors in, tensors out, no data-dependent Python
control flow, fixed scale-factor upsampling.

Example:
    E = Disentangler(code_channels=64, base_channels=32)
    G = Synthesizer(code_channels=64, base_channels=32)
    f = E(img)                      # (B, 64, H/4, W/4)
    b, r = split_codes(f)           # (B, 32, H/4, W/4) each
    out = G(join_codes(b, r))       # (B, 3, H, W) in [0, 1]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DOWNSAMPLE = 4  # E's output stride; image sides must be multiples of it


def split_codes(feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, h, w) -> background (B, C/2, h, w), rain (B, C/2, h, w)."""
    half = feature.shape[1] // 2
    return feature[:, :half], feature[:, half:]


def join_codes(background: torch.Tensor, rain: torch.Tensor) -> torch.Tensor:
    """Inverse of split_codes: channel concatenation (B, C, h, w)."""
    return torch.cat([background, rain], dim=1)


NORMS = ("none", "instance")


def _conv_norm(cin: int, cout: int, k: int, norm: str, stride: int = 1) -> list[nn.Module]:
    """Conv (+ instance norm): reflect padding for odd kernels; no bias when a norm follows
    (the norm cancels it)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if k % 2:
        conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, padding_mode="reflect",
                         bias=norm == "none")
    else:
        conv = nn.Conv2d(cin, cout, k, stride=stride, padding=(k - stride) // 2, bias=norm == "none")
    if norm == "none":
        return [conv]
    # Instance norm without running stats: no buffers (nothing for DDP to broadcast) and the
    # same behaviour in train and eval, which keeps exported graphs identical to training.
    return [conv, nn.InstanceNorm2d(cout, affine=True, track_running_stats=False)]


class ResBlock(nn.Module):
    """Two 3x3 convs (+ norms) with an identity shortcut."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(*_conv_norm(channels, channels, 3, norm), nn.ReLU(inplace=True),
                                  *_conv_norm(channels, channels, 3, norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Disentangler(nn.Module):
    """E: image (B, 3, H, W) in [0, 1] -> feature (B, code_channels, H/4, W/4).

    Args:
        code_channels: C, total code channels (even); C/2 background + C/2 rain.
        base_channels: width of the first conv; doubled at each of the two stride-2 convs.
        num_res_blocks: residual blocks at 1/4 resolution.
        norm: "instance" (default, CycleGAN/MUNIT) or "none". Instance norm removes each
            feature map's mean and contrast per image; "none" keeps them (EDSR's choice for
            fidelity) but leaves the code scale free.
        shortcut: add the linear space-to-depth path (see __init__).
    """

    def __init__(self, code_channels: int = 64, base_channels: int = 32, num_res_blocks: int = 3,
                 norm: str = "instance", shortcut: bool = True):
        super().__init__()
        if code_channels <= 0 or code_channels % 2:
            raise ValueError(f"code_channels must be a positive even number, got {code_channels}")
        self.code_channels = code_channels
        w = base_channels
        # Linear shortcut from the 4x4 pixel blocks (space-to-depth, 48 values) to the code:
        # with the Synthesizer's mirror path the pair starts as a patch-wise linear autoencoder,
        # so reconstructions are sharp from the first steps and the conv trunk only has to
        # learn what is not linear (the rain/background split).
        self.skip = nn.Conv2d(3 * DOWNSAMPLE**2, code_channels, 1) if shortcut else None
        self.stem = nn.Sequential(
            *_conv_norm(3, w, 7, norm), nn.ReLU(inplace=True),
            *_conv_norm(w, 2 * w, 4, norm, stride=2), nn.ReLU(inplace=True),
            *_conv_norm(2 * w, 4 * w, 4, norm, stride=2), nn.ReLU(inplace=True),
        )
        self.blocks = nn.Sequential(*[ResBlock(4 * w, norm) for _ in range(num_res_blocks)])
        self.head = nn.Conv2d(4 * w, code_channels, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image * 2.0 - 1.0                 # (B, 3, H, W) in [-1, 1]
        f = self.head(self.blocks(self.stem(x)))  # (B, C, H/4, W/4)
        if self.skip is not None:
            f = f + self.skip(F.pixel_unshuffle(x, DOWNSAMPLE))  # (B, 48, H/4, W/4) -> (B, C, ...)
        return f


class Synthesizer(nn.Module):
    """G: feature (B, code_channels, h, w) -> image (B, 3, 4h, 4w) in [0, 1].

    Args:
        code_channels: C, must match the Disentangler's.
        base_channels: width of the last conv; the 1/4-resolution trunk has 4x this.
        num_res_blocks: residual blocks at 1/4 resolution.
        norm: "instance" (default, CycleGAN/MUNIT) or "none". Instance norm removes each
            feature map's mean and contrast per image; "none" keeps them (EDSR's choice for
            fidelity) but leaves the code scale free.
    """

    def __init__(self, code_channels: int = 64, base_channels: int = 32, num_res_blocks: int = 3,
                 norm: str = "instance", shortcut: bool = True):
        super().__init__()
        if code_channels <= 0 or code_channels % 2:
            raise ValueError(f"code_channels must be a positive even number, got {code_channels}")
        self.code_channels = code_channels
        w = base_channels
        # Mirror of the Disentangler's shortcut: code -> 4x4 pixel blocks (depth-to-space).
        self.skip = nn.Conv2d(code_channels, 3 * DOWNSAMPLE**2, 1) if shortcut else None
        self.inp = nn.Sequential(*_conv_norm(code_channels, 4 * w, 3, norm), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResBlock(4 * w, norm) for _ in range(num_res_blocks)])
        # Nearest upsample + conv instead of transposed convs: no checkerboard artefacts,
        # and a fixed scale factor exports to ONNX Resize cleanly.
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            *_conv_norm(4 * w, 2 * w, 3, norm), nn.ReLU(inplace=True),
            nn.Upsample(scale_factor=2, mode="nearest"),
            *_conv_norm(2 * w, w, 3, norm), nn.ReLU(inplace=True),
        )
        self.out = nn.Conv2d(w, 3, 7, padding=3, padding_mode="reflect")

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.inp(feature))    # (B, 4w, h, w)
        x = self.out(self.up(x))              # (B, 3, 4h, 4w) logits
        if self.skip is not None:
            x = x + F.pixel_shuffle(self.skip(feature), DOWNSAMPLE)
        return torch.sigmoid(x)               # (B, 3, 4h, 4w) in [0, 1]
