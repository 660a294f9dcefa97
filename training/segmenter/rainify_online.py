"""On-the-fly rainify with DSANet inside the training step, frozen or End-to-End.

Each training sample is rainified with probability p, with a rain code drawn from a
rain-code bank and an intensity drawn from [lo, hi]: rain = (1 - t)·r_0 + t·r_bank (r_0 the
image's own rain code or zeros, by the checkpoint), image = G(b ⊕ rain), or x + G(b ⊕ rain) −
G(b ⊕ r_0) for a residual-output DSANet — training.dsanet.api.rainify_rule, which the frozen
path reaches through DSANet.rainify_with_codes. The whole batch goes through DSANet (constant
cost, no data-dependent shapes) and the unselected samples keep their clean image.

End-to-End mode (the thesis's variant) runs the same rule with gradients, so the
segmentation loss on rainified images also updates E and/or G. Crops must then have sides
that are multiples of 4 (DSANet's stride); the frozen path pads like the API does.

Example:
    rainifier = OnlineRainifier.from_config(cfg.rainify, cfg.end_to_end, device)
    images = rainifier(images, train=False)   # (B, 3, H, W) in [0, 1], part of them rainy
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from training.engine import checkpoint as ckpt
from training.segmenter.config import EndToEndConfig, RainifyConfig


class _Rainify(nn.Module):
    """E and G with the rainify rule (training.dsanet.api.rainify_rule: the checkpoint's clean code
    and output mode) as one differentiable forward (DDP-wrappable)."""

    def __init__(self, encoder: nn.Module, generator: nn.Module, own_clean_code: bool, residual: bool):
        super().__init__()
        self.encoder = encoder
        self.generator = generator
        self.own_clean_code = own_clean_code
        self.residual = residual

    def forward(self, images: torch.Tensor, codes: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        from training.dsanet.api import rainify_rule
        from training.models.dsanet import split_codes

        background, own = split_codes(self.encoder(images))  # (B, C/2, h, w) each
        return rainify_rule(self.generator, images, background, own, codes, t, self.own_clean_code,
                            self.residual)


class OnlineRainifier:
    """Rainifies a random part of each batch with DSANet and a rain-code bank.

    Args:
        net: a training.dsanet.api.DSANet (frozen E and G on the training device).
        codes: (K, C/2, h, w) rain codes of the bank.
        p: probability per sample.
        intensity: (lo, hi) uniform intensity range.
        train_modules: End-to-End: which of "encoder", "generator" the segmentation loss
            updates (empty: frozen).
    """

    def __init__(self, net: Any, codes: torch.Tensor, p: float, intensity: tuple[float, float],
                 train_modules: tuple[str, ...] = ()):
        lo, hi = intensity
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"rainify intensity range must lie in [0, 1], got {intensity}")
        self.net = net
        self.codes = codes.to(net.device, torch.float32)
        self.p, self.lo, self.hi = p, lo, hi
        self.train_modules = train_modules
        self.module: nn.Module = _Rainify(net.encoder, net.generator, net.clean_rain_code == "own",
                                          net.rainify_output == "residual")
        for name in ("encoder", "generator"):
            getattr(net, name).requires_grad_(name in train_modules)

    @classmethod
    def from_config(cls, rain: RainifyConfig, e2e: EndToEndConfig, device: torch.device) -> OnlineRainifier:
        from training.dsanet.api import DSANet
        from training.dsanet.bank import load_rain_bank

        if not rain.rain_bank:
            raise ValueError("rainify.dsanet is set but rainify.rain_bank is empty: build one with "
                             "`python -m training rainify` / training.dsanet.bank.save_rain_bank")
        net = DSANet.from_checkpoint(rain.dsanet, device=device)
        codes, _ = load_rain_bank(rain.rain_bank)
        train_modules: tuple[str, ...] = ()
        if e2e.enabled:
            train_modules = ("encoder", "generator") if e2e.train == "both" else (e2e.train,)
        return cls(net, codes, rain.p, (rain.intensity[0], rain.intensity[1]), train_modules)

    def __call__(self, images: torch.Tensor, train: bool = False) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> same, each sample rainified with probability p."""
        b = images.shape[0]
        device = images.device
        pick = torch.rand(b, device=device) < self.p                        # (B,)
        idx = torch.randint(len(self.codes), (b,), device=device)
        t = self.lo + (self.hi - self.lo) * torch.rand(b, device=device)    # (B,)
        codes = self.codes[idx]                                            # (B, C/2, h, w)
        if train and self.train_modules:
            self.module.train()
            rainy = self.module(images.float(), codes, t)
        else:
            with torch.no_grad():
                rainy = self.net.rainify_with_codes(images.float(), codes, t)
        return torch.where(pick.view(-1, 1, 1, 1), rainy.to(images.dtype), images)

    # --- End-to-End bookkeeping: optimiser, DDP, checkpoint and resume ---
    def build_optimizer(self, lr: float) -> torch.optim.Optimizer:
        params = [p for p in self.module.parameters() if p.requires_grad]
        if not params:
            raise ValueError("End-to-End mode has no DSANet parameter to train")
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))

    def wrap_ddp(self, device: torch.device) -> None:
        ids = [device.index] if device.type == "cuda" else None
        self.module = DDP(self.module, device_ids=ids)

    def _inner(self) -> nn.Module:
        return self.module.module if isinstance(self.module, DDP) else self.module

    def checkpoint_modules(self) -> dict[str, tuple[ckpt.ModuleSpec, nn.Module]]:
        """The jointly trained E and G under DSANet's module names, with their specs."""
        specs, _, _ = ckpt.read_metadata(self.net.source)
        inner: Any = self._inner()
        return {"encoder": (specs["encoder"], inner.encoder),
                "generator": (specs["generator"], inner.generator)}

    def load_state(self, states: dict[str, dict[str, torch.Tensor]], train_state: dict[str, Any]) -> None:
        """Restore E and G from a resumed End-to-End checkpoint (no-op for a frozen run)."""
        inner: Any = self._inner()
        for name in ("encoder", "generator"):
            if name in states:
                getattr(inner, name).load_state_dict(states[name])
