"""DSANet generator networks: the disentangler E and the synthesiser G.

E maps an RGB image in [0, 1] to a feature map at 1/4 (or 1/2) resolution whose first C/2 channels
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

DOWNSAMPLE = 4  # E's default output stride; image sides must be multiples of the stride
STRIDES = (2, 4)  # supported code strides: 1/2 or 1/4 resolution


def _check_sizes(code_channels: int, downsample: int) -> int:
    """Validate the sizes E and G share; returns the number of stride-2 stages, log2(s)."""
    if code_channels <= 0 or code_channels % 2:
        raise ValueError(f"code_channels must be a positive even number, got {code_channels}")
    if downsample not in STRIDES:
        raise ValueError(f"downsample must be one of {STRIDES}, got {downsample}")
    return downsample.bit_length() - 1


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
        downsample: code stride s, 4 (default) or 2. At s = 2 each code position covers a
            2x2 pixel block (12 values) instead of 4x4 (48), so C/2 background channels can
            hold the block without loss: sharper reconstructions for 4x the trunk cost.
    """

    def __init__(self, code_channels: int = 64, base_channels: int = 32, num_res_blocks: int = 3,
                 norm: str = "instance", shortcut: bool = True, downsample: int = DOWNSAMPLE):
        super().__init__()
        stages = _check_sizes(code_channels, downsample)
        self.code_channels = code_channels
        self.downsample = downsample
        w = base_channels
        # Linear shortcut from the s x s pixel blocks (space-to-depth, 3s² values) to the code:
        # with the Synthesizer's mirror path the pair starts as a patch-wise linear autoencoder,
        # so reconstructions are sharp from the first steps and the conv trunk only has to
        # learn what is not linear (the rain/background split).
        self.skip = nn.Conv2d(3 * downsample**2, code_channels, 1) if shortcut else None
        layers = [*_conv_norm(3, w, 7, norm), nn.ReLU(inplace=True)]
        for i in range(stages):  # each stage halves the resolution and doubles the width
            layers += [*_conv_norm(w << i, w << (i + 1), 4, norm, stride=2), nn.ReLU(inplace=True)]
        self.stem = nn.Sequential(*layers)
        self.blocks = nn.Sequential(*[ResBlock(w << stages, norm) for _ in range(num_res_blocks)])
        self.head = nn.Conv2d(w << stages, code_channels, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image * 2.0 - 1.0                 # (B, 3, H, W) in [-1, 1]
        f = self.head(self.blocks(self.stem(x)))  # (B, C, H/s, W/s)
        if self.skip is not None:
            f = f + self.skip(F.pixel_unshuffle(x, self.downsample))  # (B, 3s², H/s, W/s) -> (B, C, ...)
        return f


class Synthesizer(nn.Module):
    """G: feature (B, code_channels, h, w) -> image (B, 3, s·h, s·w) in [0, 1].

    Args:
        code_channels: C, must match the Disentangler's.
        base_channels: width of the last conv; the code-resolution trunk has s times this.
        num_res_blocks: residual blocks at code resolution.
        norm: "instance" (default, CycleGAN/MUNIT) or "none". Instance norm removes each
            feature map's mean and contrast per image; "none" keeps them (EDSR's choice for
            fidelity) but leaves the code scale free.
        shortcut: add the linear depth-to-space path (mirror of the Disentangler's).
        downsample: code stride s, must match the Disentangler's (4 or 2).
    """

    def __init__(self, code_channels: int = 64, base_channels: int = 32, num_res_blocks: int = 3,
                 norm: str = "instance", shortcut: bool = True, downsample: int = DOWNSAMPLE):
        super().__init__()
        stages = _check_sizes(code_channels, downsample)
        self.code_channels = code_channels
        self.downsample = downsample
        w = base_channels
        # Mirror of the Disentangler's shortcut: code -> s x s pixel blocks (depth-to-space).
        self.skip = nn.Conv2d(code_channels, 3 * downsample**2, 1) if shortcut else None
        self.inp = nn.Sequential(*_conv_norm(code_channels, w << stages, 3, norm), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResBlock(w << stages, norm) for _ in range(num_res_blocks)])
        # Nearest upsample + conv instead of transposed convs: no checkerboard artefacts,
        # and a fixed scale factor exports to ONNX Resize cleanly.
        layers: list[nn.Module] = []
        for i in range(stages, 0, -1):  # each stage doubles the resolution and halves the width
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       *_conv_norm(w << i, w << (i - 1), 3, norm), nn.ReLU(inplace=True)]
        self.up = nn.Sequential(*layers)
        self.out = nn.Conv2d(w, 3, 7, padding=3, padding_mode="reflect")

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.inp(feature))    # (B, s·w, h, w)
        x = self.out(self.up(x))              # (B, 3, s·h, s·w) logits
        if self.skip is not None:
            x = x + F.pixel_shuffle(self.skip(feature), self.downsample)
        return torch.sigmoid(x)               # (B, 3, s·h, s·w) in [0, 1]
