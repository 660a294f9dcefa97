"""Comparison rain for the detector's report: the segmenter experiments' two baselines,
rendered onto a folder of clean images.

- `random-rain`: albumentations RandomRain with a random rain type per image
  (training.segmenter.augment.RandomRainAugment at p = 1, as the random-rain experiment uses it).
- `physical`: the procedural renderer with a ground-plane depth estimate
  (training.segmenter.physical_rain.PhysicalRainAugment at p = 1, intensity drawn in LO..HI).

Each output keeps the clean image's path relative to the clean folder, so measure-rain pairs
it with its clean source by name.

Example:
    render_baseline("physical", "/tmp/scenes/cityscapes/leftImg8bit/test", "/tmp/physical",
                    intensity=(1.0, 1.0), seed=0)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from training.dsanet.io import list_images, read_image
from training.rain_realism.data import to_uint8

BASELINES = ("random-rain", "physical")


def render_baseline(kind: str, clean_dir: str | Path, out_dir: str | Path,
                    intensity: tuple[float, float] = (0.3, 1.0), seed: int = 0) -> list[Path]:
    """Render `kind` rain onto every image under clean_dir into out_dir; returns the outputs."""
    from training.segmenter.augment import RandomRainAugment
    from training.segmenter.physical_rain import PhysicalRainAugment

    if kind not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {kind!r}")
    clean_dir, out_dir = Path(clean_dir), Path(out_dir)
    sources = list_images(clean_dir)
    if not sources:
        raise FileNotFoundError(f"{clean_dir}: no clean images to put {kind} rain on")
    augment = (RandomRainAugment(p=1.0, seed=seed) if kind == "random-rain"
               else PhysicalRainAugment(p=1.0, intensity=intensity, depth="ground_plane", seed=seed))
    outputs = []
    for src in sources:
        image = to_uint8(read_image(src)).permute(1, 2, 0).numpy()   # (H, W, 3) uint8
        rainy = np.ascontiguousarray(augment(image))
        dst = out_dir / src.relative_to(clean_dir).with_suffix(".png")
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.stem}.tmp{os.getpid()}.png")
        Image.fromarray(rainy).save(tmp)
        os.replace(tmp, dst)   # atomic: a killed run leaves no half-written image
        outputs.append(dst)
    return outputs
