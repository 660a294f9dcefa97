"""DSANet as a library: derain, rain codes, rainify at a chosen intensity.

Example:
    from training.dsanet.api import DSANet
    net = DSANet.from_checkpoint("runs/dsanet_synth")          # run dir, step dir or file
    clean = net.derain(rainy)                                  # (B, 3, H, W) in [0, 1]
    codes = net.rain_codes(rain_refs)                          # (K, C/2, H/4, W/4)
    rainy = net.rainify(clean, rain_refs, intensity=0.7)       # rain of the refs on clean

"No rain" is the zero rain code: training pins the rain code of clean images to zero (the
no-rain loss, see training.losses.dsanet), so derain is G(b' ⊕ 0). Rainify at intensity t
uses the rain code (1 - t)·r_0 + t·r_ref, r_0 being the code clean images were decoded with in
training (checkpoint metadata `clean_rain_code`): the image's own rain code ("own", the
thesis's self-reconstruction G(b ⊕ r)) or zero ("zeros", runs with derain_code=zero); rain
codes of another resolution are resized (bilinear) to the image's code size. Image sides need
not be multiples of the code stride: inputs are reflect-padded and outputs cropped back.

Rainify's output (checkpoint metadata `rainify_output`, or the `rainify_output` argument):
"decoded" (default) returns G(b ⊕ rain), G's redraw of the whole image; "residual" returns
x + G(b ⊕ rain) − G(b ⊕ r_0): the input's own pixels plus only what the rain code changes, so
G's reconstruction error of the background never reaches the image (t = 0 is the input itself).
Derain is G(b' ⊕ 0) in both.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from training.engine import checkpoint as ckpt
from training.models.dsanet import DOWNSAMPLE, join_codes, split_codes

CLEAN_RAIN_CODES = ("own", "zeros")   # checkpoint metadata clean_rain_code
RAINIFY_OUTPUTS = ("decoded", "residual")   # checkpoint metadata rainify_output


class DSANet:
    """Frozen E and G on one device; every method takes/returns (B, 3, H, W) in [0, 1]."""

    def __init__(self, encoder: torch.nn.Module, generator: torch.nn.Module,
                 device: str | torch.device = "cpu", source: str = "", clean_rain_code: str = "own",
                 rainify_output: str = "decoded"):
        if clean_rain_code not in CLEAN_RAIN_CODES:
            raise ValueError(f"clean_rain_code must be one of {CLEAN_RAIN_CODES}, got {clean_rain_code!r}")
        if rainify_output not in RAINIFY_OUTPUTS:
            raise ValueError(f"rainify_output must be one of {RAINIFY_OUTPUTS}, got {rainify_output!r}")
        self.clean_rain_code = clean_rain_code   # rainify's t = 0 code: the image's own, or zeros
        self.rainify_output = rainify_output     # module docstring
        self.device = torch.device(device)
        self.encoder = encoder.to(self.device).eval()
        self.generator = generator.to(self.device).eval()
        self.code_channels = int(getattr(encoder, "code_channels", 0))
        self.downsample = int(getattr(encoder, "downsample", DOWNSAMPLE))  # code stride s
        self.source = source  # checkpoint file, recorded in rain banks and manifests

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu",
                        rainify_output: str | None = None) -> DSANet:
        """Rebuild E and G from a train-dsanet checkpoint (run dir, step dir or .safetensors);
        rainify_output None takes the checkpoint's (absent: "decoded")."""
        file = ckpt.resolve_checkpoint(path)
        _, meta, _ = ckpt.read_metadata(file)
        if meta.get("task") != "dsanet":
            raise ckpt.CheckpointError(f"{file} is not a DSANet checkpoint (task={meta.get('task')!r})")
        mods = ckpt.load_modules(file, ["encoder", "generator"], device=device)
        return cls(mods["encoder"], mods["generator"], device, source=str(file),
                   clean_rain_code=meta.get("clean_rain_code", "own"),   # absent before 2026-11-22
                   rainify_output=rainify_output or meta.get("rainify_output", "decoded"))

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Background and rain codes, each (B, C/2, ceil(H/s), ceil(W/s)), s the code stride."""
        padded, _ = _pad(images.to(self.device), self.downsample)
        return split_codes(self.encoder(padded))

    @torch.no_grad()
    def decode(self, background: torch.Tensor, rain: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """G(b ⊕ r) cropped to size (H, W)."""
        out = self.generator(join_codes(background, rain))
        return out[..., :size[0], :size[1]].clamp(0, 1)

    def derain(self, images: torch.Tensor) -> torch.Tensor:
        """Rain removed: G(b' ⊕ 0)."""
        b, r = self.encode(images)
        return self.decode(b, torch.zeros_like(r), images.shape[-2:])

    def rain_codes(self, refs: torch.Tensor) -> torch.Tensor:
        """Rain codes of rainy reference images, (K, C/2, ceil(H/s), ceil(W/s))."""
        return self.encode(refs)[1]

    def rainify(self, clean: torch.Tensor, rain_refs: torch.Tensor,
                intensity: float | torch.Tensor = 1.0) -> torch.Tensor:
        """Clean images with the rain of rain_refs (one ref per image, or one for all).

        Args:
            clean: (B, 3, H, W) in [0, 1].
            rain_refs: (B or 1, 3, H', W') rainy references, any size.
            intensity: scalar or (B,) in [0, 1]; 0 = the clean code (own or zeros), 1 = the ref's.
        """
        return self.rainify_with_codes(clean, self.rain_codes(rain_refs), intensity)

    def rainify_with_codes(self, clean: torch.Tensor, codes: torch.Tensor,
                           intensity: float | torch.Tensor = 1.0) -> torch.Tensor:
        """As rainify, with rain codes (B or 1, C/2, h', w') from rain_codes() or a rain bank."""
        t = torch.as_tensor(intensity, dtype=torch.float32, device=self.device)
        if bool(((t < 0) | (t > 1)).any()):
            raise ValueError(f"intensity must lie in [0, 1], got {intensity}")
        b, r_own = self.encode(clean)                          # (B, C/2, h, w) each
        codes = codes.to(self.device, torch.float32)
        if codes.shape[1] != r_own.shape[1]:
            raise ValueError(f"rain codes have {codes.shape[1]} channels, this model {r_own.shape[1]}")
        with torch.no_grad():
            return rainify_rule(self.generator, clean.to(self.device, torch.float32), b, r_own, codes, t,
                                self.clean_rain_code == "own", self.rainify_output == "residual")


def rainify_rule(generator: torch.nn.Module, images: torch.Tensor, background: torch.Tensor,
                 own: torch.Tensor, codes: torch.Tensor, t: torch.Tensor, own_clean_code: bool,
                 residual: bool) -> torch.Tensor:
    """The rainify rule (module docstring), shared by DSANet.rainify_with_codes and the End-to-End
    training path (training.segmenter.rainify_online), which runs it with gradients.

    Args:
        images: (B, 3, H, W) in [0, 1]; background, own: (B, C/2, h, w) codes of the (padded) images;
        codes: (B or 1, C/2, h', w') rain codes, resized (bilinear) to (h, w) if they differ;
        t: scalar or (B,) intensity.
    Returns (B, 3, H, W) in [0, 1]: G's output cropped to (H, W), or for `residual` the images
    plus what the rain code changes.
    """
    if codes.shape[-2:] != own.shape[-2:]:
        codes = F.interpolate(codes, size=own.shape[-2:], mode="bilinear", align_corners=False)
    t = t.reshape(-1, 1, 1, 1)
    r_0 = own if own_clean_code else torch.zeros_like(own)
    rain = (1.0 - t) * r_0 + t * codes                          # broadcasts B or 1 refs
    rain = rain.expand_as(background) if rain.shape[0] != background.shape[0] else rain
    h, w = images.shape[-2:]
    if not residual:
        return generator(join_codes(background, rain))[..., :h, :w].clamp(0, 1)
    both = generator(torch.cat([join_codes(background, rain), join_codes(background, r_0)]))  # one G call
    b = background.shape[0]
    return (images + (both[:b] - both[b:])[..., :h, :w]).clamp(0, 1)     # + what the rain code changes


def _pad(images: torch.Tensor, stride: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad H and W up to multiples of stride; returns the padding added."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    h, w = images.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        images = F.pad(images, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
    return images, (ph, pw)
