"""Hand-made images for the rain-realism tests: smooth colour scenes, bright slanted streaks,
a uniform grey veil; and a generate-scenes-shaped tree of rainy/clean twins."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

H, W = 48, 64


def scene(rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float in [0, 1]: a smooth random colour field."""
    coarse = rng.uniform(0.1, 0.8, (4, 5, 3)).astype(np.float32)
    return cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def add_streaks(image: np.ndarray, rng: np.random.Generator, count: int = 18) -> np.ndarray:
    """Thin bright streaks, 7..13 px long, leaning one pixel right every 4 rows."""
    out = image.copy()
    for _ in range(count):
        r, c, length = rng.integers(0, H - 13), rng.integers(0, W - 4), rng.integers(7, 14)
        a = rng.uniform(0.4, 0.7)
        for i in range(length):
            out[r + i, c + i // 4] = out[r + i, c + i // 4] * (1 - a) + a
    return out


def add_veil(image: np.ndarray, amount: float = 0.4, grey: float = 0.75) -> np.ndarray:
    """A uniform grey veil: every pixel blended towards one grey level."""
    return image * (1 - amount) + grey * amount


def add_block_grid(image: np.ndarray, rng: np.random.Generator, k: int = 4, amp: float = 0.08) -> np.ndarray:
    """A k-pixel block pattern: one random grey offset per k×k block."""
    blocks = np.kron(rng.uniform(-amp, amp, (H // k, W // k)), np.ones((k, k)))
    return image + blocks[..., None]


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)


def scene_tree(root: Path, counts: dict[str, int], seed: int = 0) -> Path:
    """generate-scenes' layout: cityscapes{,_rain}/leftImg8bit/<split>/synth/<stem>_leftImg8bit.png."""
    rng = np.random.default_rng(seed)
    lines, index = [], 0
    for split, n in counts.items():
        for _ in range(n):
            stem = f"synth_000000_{index:06d}"
            clean = scene(rng)
            for twin, image in (("cityscapes", clean), ("cityscapes_rain", add_streaks(clean, rng))):
                write_png(root / twin / "leftImg8bit" / split / "synth" / f"{stem}_leftImg8bit.png", image)
            lines.append(json.dumps({"index": index, "stem": stem, "split": split}))
            index += 1
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return root
