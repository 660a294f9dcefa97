"""Tiny fixtures shared by the DSANet tests: in-memory pairs, mock E/G, tiny configs."""

from __future__ import annotations

import torch
from torch import nn

TINY = ["model.code_channels=8", "model.base_channels=4", "model.num_res_blocks=1",
        "model.disc_channels=4", "model.disc_layers=2", "data.crop=[32,32]", "data.num_workers=0",
        "progress=false", "log_every=2", "image_every=2"]


class TinyPairs:
    """n random 40x48 clean images with sparse bright 'streaks' as their rainy twins."""

    def __init__(self, n: int = 8, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.clean = torch.rand(n, 3, 40, 48, generator=g) * 0.6
        streaks = (torch.rand(n, 1, 40, 48, generator=g) > 0.92).float()
        self.rainy = (self.clean + 0.4 * streaks).clamp(0, 1)

    def __len__(self) -> int:
        return len(self.clean)

    def __getitem__(self, i: int) -> dict:
        return {"rainy": self.rainy[i], "clean": self.clean[i], "name": f"p{i}"}


class LookupEncoder(nn.Module):
    """Mock E with C = 2: background code = channel 0, rain code = channel 1, 4x average pool."""

    code_channels = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool2d(x[:, :2], 4)


class LookupGenerator(nn.Module):
    """Mock G, the exact inverse on constant images: channel 0 = b, channel 1 = r, channel 2 = 0."""

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        up = nn.functional.interpolate(f, scale_factor=4, mode="nearest")
        return torch.cat([up, torch.zeros_like(up[:, :1])], dim=1)


def const_images(values: list[tuple[float, float]], size: int = 8) -> torch.Tensor:
    """(N, 3, size, size) images, channel 0 / 1 constant at the given values, channel 2 zero."""
    out = torch.zeros(len(values), 3, size, size)
    for i, (b, r) in enumerate(values):
        out[i, 0], out[i, 1] = b, r
    return out


def tiny_checkpoint(root, task: str = "dsanet", seed: int = 0, downsample: int = 4, meta: dict | None = None):
    """A random-weight DSANet checkpoint with the real format (encoder/generator/disc_b/disc_r)."""
    from training.engine.checkpoint import ModuleSpec, save_checkpoint
    from training.models import build_model

    torch.manual_seed(seed)
    gen_kw = {"code_channels": 8, "base_channels": 4, "num_res_blocks": 1, "downsample": downsample}
    disc_kw = {"base_channels": 4, "num_layers": 2}
    specs = {"encoder": ModuleSpec("dsanet_encoder", gen_kw),
             "generator": ModuleSpec("dsanet_generator", gen_kw),
             "disc_b": ModuleSpec("patch_discriminator", disc_kw),
             "disc_r": ModuleSpec("patch_discriminator", disc_kw)}
    modules = {n: (s, build_model(s.kind, s.config)) for n, s in specs.items()}
    return save_checkpoint(root, 1, modules, extra_meta={"task": task, "code_channels": 8, **(meta or {})})


def write_png(path, array) -> None:
    """uint8 (H, W, 3) or (H, W) array to a PNG file (parents created)."""
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
