"""Tiny Cityscapes-layout trees for the segmenter tests (written per test, never committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# Cityscapes labelIds of the classes drawn (trainIds: road 0, sky 10, car 13).
ROAD, SKY, CAR = 7, 23, 26
TRAIN_ID = {ROAD: 0, SKY: 10, CAR: 13}


def write_cityscapes(root: Path, split: str, count: int, size: tuple[int, int] = (32, 64),
                     seed: int = 0) -> Path:
    """Images: sky (blue) over road (grey) with a red car box; labels to match. Returns root."""
    rng = np.random.default_rng(seed)
    h, w = size
    img_dir = root / "leftImg8bit" / split / "synth"
    gt_dir = root / "gtFine" / split / "synth"
    img_dir.mkdir(parents=True, exist_ok=True)
    gt_dir.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        horizon = int(rng.integers(h // 3, h // 2))
        label = np.full((h, w), ROAD, np.uint8)
        label[:horizon] = SKY
        y0, x0 = int(rng.integers(horizon, h - 6)), int(rng.integers(0, w - 12))
        label[y0:y0 + 6, x0:x0 + 12] = CAR
        colours = {ROAD: (110, 110, 110), SKY: (70, 130, 200), CAR: (200, 30, 30)}
        image = np.zeros((h, w, 3), np.float32)
        for lid, rgb in colours.items():
            image[label == lid] = rgb
        image += rng.normal(0, 12, image.shape)
        stem = f"synth_{k:06d}_000019"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(img_dir / f"{stem}_leftImg8bit.png")
        Image.fromarray(label).save(gt_dir / f"{stem}_gtFine_labelIds.png")
        train_ids = np.vectorize(TRAIN_ID.get)(label).astype(np.uint8)
        Image.fromarray(train_ids).save(gt_dir / f"{stem}_gtFine_labelTrainIds.png")
    return root


def write_scenes_root(root: Path) -> Path:
    """A generate-scenes-like tree: cityscapes/, cityscapes_rain/ (darker, streaked twins) and
    rain_pairs/train/{rain,norain}/."""
    for split, count, seed in (("train", 8, 0), ("val", 2, 1), ("test", 3, 2)):
        write_cityscapes(root / "cityscapes", split, count, seed=seed)
        write_cityscapes(root / "cityscapes_rain", split, count, seed=seed)
    for img in (root / "cityscapes_rain" / "leftImg8bit").rglob("*.png"):
        rgb = np.asarray(Image.open(img)).astype(np.float32) * 0.7
        rgb[:, ::5] += 60  # vertical streaks
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(img)
    for kind, src in (("rain", "cityscapes_rain"), ("norain", "cityscapes")):
        out = root / "rain_pairs" / "train" / kind
        out.mkdir(parents=True)
        for k, img in enumerate(sorted((root / src / "leftImg8bit" / "train").rglob("*.png"))):
            Image.open(img).save(out / f"{kind}-{k + 1}.png")
    return root
