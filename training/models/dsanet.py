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
UPSAMPLES = ("nearest", "bilinear", "pixelshuffle")   # G's 2x upsampling stages
SHORTCUT_UPSAMPLES = ("shuffle", "bilinear", "features")   # G's shortcut: code -> pixels


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


def _icnr_(conv: nn.Conv2d, scale: int) -> None:
    """ICNR init (Aitken et al. 2017) of a conv followed by PixelShuffle(scale): the scale² sub-pixel
    kernels of each output channel start equal, so the stage starts as nearest upsample + conv
    and has no checkerboard at step 0; training is free to make them differ."""
    cout = conv.out_channels // scale**2
    base = torch.empty(cout, *conv.weight.shape[1:])
    nn.init.kaiming_uniform_(base, a=5**0.5)   # nn.Conv2d's own default init
    with torch.no_grad():
        conv.weight.copy_(base.repeat_interleave(scale**2, dim=0))   # channel c·s² + k -> sub-pixel k of c
        if conv.bias is not None:
            conv.bias.copy_(conv.bias[::scale**2].repeat_interleave(scale**2))


def _up_stage(cin: int, cout: int, norm: str, mode: str) -> list[nn.Module]:
    """One 2x upsampling stage of G: (B, cin, h, w) -> (B, cout, 2h, 2w)."""
    if mode == "pixelshuffle":
        conv = nn.Conv2d(cin, 4 * cout, 3, padding=1, padding_mode="reflect")
        _icnr_(conv, 2)
        tail = _conv_norm(cout, cout, 1, norm)[1:]   # the norm (if any) after the shuffle
        return [conv, nn.PixelShuffle(2), *tail, nn.ReLU(inplace=True)]
    # Fixed-scale resampling + conv: no transposed-conv checkerboard, exports to ONNX Resize.
    # Nearest repeats each pixel, so an untrained or under-trained conv after it leaves 2-px
    # steps; bilinear interpolates first (docs/dsanet.md, "what we tried").
    resample = nn.Upsample(scale_factor=2, mode=mode) if mode == "nearest" else \
        nn.Upsample(scale_factor=2, mode=mode, align_corners=False)
    return [resample, *_conv_norm(cin, cout, 3, norm), nn.ReLU(inplace=True)]


class Synthesizer(nn.Module):
    """G: feature (B, code_channels, h, w) -> image (B, 3, s·h, s·w) in [0, 1].

    Args:
        code_channels: C, must match the Disentangler's.
        base_channels: width of the last conv; the code-resolution trunk has s times this.
        num_res_blocks: residual blocks at code resolution.
        norm: "instance" (default, CycleGAN/MUNIT) or "none". Instance norm removes each
            feature map's mean and contrast per image; "none" keeps them (EDSR's choice for
            fidelity) but leaves the code scale free.
        shortcut: add the linear code -> pixels path (mirror of the Disentangler's).
        downsample: code stride s, must match the Disentangler's (4 or 2).
        upsample: the trunk's 2x stages: "nearest" (default) or "bilinear" resampling + 3x3
            conv, or "pixelshuffle" (3x3 conv to 4x the channels + depth-to-space, ICNR init).
        shortcut_upsample: "shuffle" (default): a 1x1 conv to the s x s pixel blocks +
            depth-to-space, the exact mirror of E's; each block is a separate linear function
            of one code position, so any code the pair cannot invert shows as an s-px block
            grid. "bilinear": a 1x1 conv to RGB at code resolution, bilinearly upsampled: a
            smooth low-pass path, the trunk adds the detail. "features": a 1x1 conv to
            w·s² channels + depth-to-space, added to the trunk's full-resolution features
            before the 7x7 output conv, which mixes neighbouring blocks (no grid in
            docs/dsanet.md's runs, fidelity kept).
    """

    def __init__(self, code_channels: int = 64, base_channels: int = 32, num_res_blocks: int = 3,
                 norm: str = "instance", shortcut: bool = True, downsample: int = DOWNSAMPLE,
                 upsample: str = "nearest", shortcut_upsample: str = "shuffle"):
        super().__init__()
        stages = _check_sizes(code_channels, downsample)
        if upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
        if shortcut_upsample not in SHORTCUT_UPSAMPLES:
            raise ValueError(f"shortcut_upsample must be one of {SHORTCUT_UPSAMPLES}, "
                             f"got {shortcut_upsample!r}")
        self.code_channels = code_channels
        self.downsample = downsample
        self.shortcut_upsample = shortcut_upsample
        w = base_channels
        skip_out = {"shuffle": 3 * downsample**2, "bilinear": 3,
                    "features": w * downsample**2}[shortcut_upsample]
        self.skip = nn.Conv2d(code_channels, skip_out, 1) if shortcut else None
        self.inp = nn.Sequential(*_conv_norm(code_channels, w << stages, 3, norm), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResBlock(w << stages, norm) for _ in range(num_res_blocks)])
        layers: list[nn.Module] = []
        for i in range(stages, 0, -1):  # each stage doubles the resolution and halves the width
            layers += _up_stage(w << i, w << (i - 1), norm, upsample)
        self.up = nn.Sequential(*layers)
        self.out = nn.Conv2d(w, 3, 7, padding=3, padding_mode="reflect")

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.up(self.blocks(self.inp(feature)))   # (B, w, s·h, s·w)
        s = self.downsample
        if self.skip is not None and self.shortcut_upsample == "features":
            x = x + F.pixel_shuffle(self.skip(feature), s)   # (B, w·s², h, w) -> (B, w, s·h, s·w)
        x = self.out(x)                       # (B, 3, s·h, s·w) logits
        if self.skip is not None and self.shortcut_upsample != "features":
            if self.shortcut_upsample == "shuffle":
                x = x + F.pixel_shuffle(self.skip(feature), s)    # (B, 3s², h, w) -> (B, 3, s·h, s·w)
            else:
                x = x + F.interpolate(self.skip(feature), scale_factor=s, mode="bilinear",
                                      align_corners=False)        # (B, 3, h, w) -> (B, 3, s·h, s·w)
        return torch.sigmoid(x)               # (B, 3, s·h, s·w) in [0, 1]
