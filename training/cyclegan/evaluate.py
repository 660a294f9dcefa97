"""How well a CycleGAN round-trips held-out images, and a grid of its translations.

Cycle PSNR: day -> G -> F -> day' and night -> F -> G -> night', PSNR(x', x) on the 0..255 RGB
scale (training.metrics.restoration), averaged over the images. A cycle-consistent pair of
generators scores high even though no paired ground truth exists for the translations.

Example:
    scores = cycle_psnr("runs/cyclegan", day_paths, night_paths)   # {"day": dB, "night": dB, ...}
    save_translation_grid("runs/cyclegan", day_paths[:4], night_paths[:4], "grid.png")
"""

from __future__ import annotations

from pathlib import Path

import torch

from training.cyclegan.translate import load_translator
from training.dsanet.io import read_image, write_image
from training.engine.logging import make_grid
from training.metrics.restoration import psnr_torch


@torch.no_grad()
def cycle_psnr(checkpoint: str | Path, day: list[Path], night: list[Path], device: str = "cpu"
               ) -> dict[str, float]:
    """Mean cycle-reconstruction PSNR (dB) of day images through G then F, night through F then G."""
    g = load_translator(checkpoint, "day2night", device)
    f = load_translator(checkpoint, "night2day", device)
    out: dict[str, float] = {}
    for name, paths, first, second in (("day", day, g, f), ("night", night, f, g)):
        if not paths:
            raise ValueError(f"cycle PSNR: no {name} images given")
        values = []
        for path in paths:
            x = read_image(path)[None].to(device)                   # (1, 3, H, W)
            values.append(float(psnr_torch(second(first(x)), x).mean()))
        out[name] = sum(values) / len(values)
        out[f"{name}_images"] = float(len(values))
    return out


@torch.no_grad()
def save_translation_grid(checkpoint: str | Path, day: list[Path], night: list[Path], path: str | Path,
                          device: str = "cpu") -> Path:
    """Rows: day | G(day) | F(G(day)), then night | F(night) | G(F(night)); one column per image."""
    g = load_translator(checkpoint, "day2night", device)
    f = load_translator(checkpoint, "night2day", device)
    rows = []
    for paths, first, second in ((day, g, f), (night, f, g)):
        x = torch.stack([read_image(p) for p in paths]).to(device)   # same-size images
        y = first(x)
        rows += [x, y, second(y)]
    cols = min(len(day), len(night))
    grid = make_grid(torch.cat([r[:cols].cpu() for r in rows]), nrow=cols)
    write_image(path, grid)
    return Path(path)
