"""Tiny on-disk fixtures for the CycleGAN tests: procedural-style day/night twins with labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from training.cyclegan.config import CycleGANTrainConfig


def stem(i: int) -> str:
    return f"synth_000000_{i:06d}"


def write_twin_scenes(root: Path, count: int = 8, size: tuple[int, int] = (24, 32), split: str = "train",
                      night: bool = True, seed: int = 0) -> Path:
    """generate-scenes layout: cityscapes/ (day) and cityscapes_night/ (twins, same stems), labels."""
    rng = np.random.default_rng(seed)
    h, w = size
    for i in range(count):
        day = rng.integers(60, 255, (h, w, 3), dtype=np.uint8)
        label = rng.integers(0, 34, (h, w), dtype=np.uint8)
        twins = {"cityscapes": day, "cityscapes_night": (day // 4).astype(np.uint8)} if night \
            else {"cityscapes": day}
        for variant, image in twins.items():
            img_dir = root / variant / "leftImg8bit" / split / "synth"
            gt_dir = root / variant / "gtFine" / split / "synth"
            img_dir.mkdir(parents=True, exist_ok=True)
            gt_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(img_dir / f"{stem(i)}_leftImg8bit.png")
            Image.fromarray(label).save(gt_dir / f"{stem(i)}_gtFine_labelIds.png")
    return root


def tiny_config(root: Path, out: Path, **kw: object) -> CycleGANTrainConfig:
    """A CycleGAN that trains a step in well under a second on one CPU thread."""
    cfg = CycleGANTrainConfig(out_dir=str(out), steps=4, batch_size=2, device="cpu", save_every=2,
                              log_every=1, image_every=1000, progress=False, pool_size=3,
                              tensorboard=False)
    cfg.model.gen_channels, cfg.model.gen_blocks, cfg.model.disc_channels, cfg.model.disc_layers = 4, 1, 4, 2
    cfg.data.root, cfg.data.crop, cfg.data.num_workers = str(root), [16, 16], 0
    for key, value in kw.items():
        setattr(cfg, key, value)
    return cfg
