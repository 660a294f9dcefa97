"""Condition-labelled images as training samples: decode (bounded), augment, resize, label tensor.

Sample contract: {"image": (3, H, W) float32 [0, 1] at the network's input size,
"target": (3,) float32 [rain, night, intensity] with -1 where unknown, "name": str}.
Images are resized like the runtime does (rain_seg_ros.preprocess: cv2 bilinear stretch of
the uint8 image), so the network sees at training what it sees on the vehicle.

Example:
    ds = build_condition_set([ConditionSource("scenes", "/tmp/scenes", "val")], (128, 256))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from rain_seg_ros.condition import CONDITION_NAMES
from training.condition.config import ConditionAugmentConfig, ConditionSource
from training.condition.sources import UNKNOWN, ConditionItem, find_condition_items
from training.data.base import DatasetContentError, image_size, read_rgb, to_tensor_image
from training.segmenter.augment import WorkerGenerator

MAX_IMAGE_PIXELS = 64_000_000   # 8K frames are ~33 MP; anything larger is refused before decoding


def read_bounded_rgb(path: Path) -> np.ndarray:
    """uint8 (H, W, 3) RGB, refusing images whose header declares more than MAX_IMAGE_PIXELS."""
    try:
        h, w = image_size(path)
    except OSError as exc:
        raise DatasetContentError(f"cannot read image {path}: {exc}") from exc
    if h * w > MAX_IMAGE_PIXELS:
        raise DatasetContentError(f"image {path} is {w}x{h}, above {MAX_IMAGE_PIXELS} pixels; refusing it")
    return read_rgb(path)


def condition_index(rain: int, night: int) -> int:
    """Index into CONDITION_NAMES of a fully known label, UNKNOWN otherwise."""
    return UNKNOWN if UNKNOWN in (rain, night) else int(rain) + 2 * int(night)


class ConditionDataset(Dataset):
    """Args:
        items: labelled images (training/condition/sources.py).
        input_size: (H, W) of the network input.
        augment: training augmentation, or None for evaluation (resize only).
        image_fn: optional (uint8 image, index) -> uint8 image applied after decoding (the
            other-renderer evaluation synthesises its rain/night here).
    """

    def __init__(self, items: Sequence[ConditionItem], input_size: Sequence[int],
                 augment: ConditionAugmentConfig | None = None, seed: int | None = None,
                 image_fn: Any = None, description: str = "") -> None:
        self.items = list(items)
        self.size = (int(input_size[0]), int(input_size[1]))
        self.augment = augment
        self.image_fn = image_fn
        self._rng = WorkerGenerator(seed)
        self.description = description

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        """Images per joint condition (partially labelled ones under "rain?" / "night?" keys)."""
        c: Counter[str] = Counter()
        for it in self.items:
            idx = condition_index(it.rain, it.night)
            c[CONDITION_NAMES[idx] if idx != UNKNOWN else ("night?" if it.rain == UNKNOWN else "rain?")] += 1
        return dict(c)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.items[i]
        image = read_bounded_rgb(item.image)                  # (H, W, 3) uint8
        if self.image_fn is not None:
            image = self.image_fn(image, i)
        if self.augment is not None:
            image = self._augment(image)
        h, w = self.size
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        target = torch.tensor([item.rain, item.night, item.intensity], dtype=torch.float32)
        return {"image": to_tensor_image(image), "target": target, "name": item.name}

    def _augment(self, image: np.ndarray) -> np.ndarray:
        cfg, rng = self.augment, self._rng.get()
        assert cfg is not None
        h, w = image.shape[:2]
        s = float(rng.uniform(cfg.crop_scale[0], cfg.crop_scale[1]))
        ch, cw = max(1, round(h * s)), max(1, round(w * s))
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        image = image[top:top + ch, left:left + cw]
        if rng.random() < cfg.hflip_p:
            image = image[:, ::-1]
        if cfg.jitter > 0:
            x = image.astype(np.float32)
            grey = x.mean(axis=2, keepdims=True)
            x = grey + (x - grey) * rng.uniform(1 - cfg.jitter, 1 + cfg.jitter)      # saturation
            x = x.mean() + (x - x.mean()) * rng.uniform(1 - cfg.jitter, 1 + cfg.jitter)  # contrast
            x = x * rng.uniform(1 - cfg.jitter / 2, 1 + cfg.jitter / 2)               # brightness
            image = np.clip(x, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(image)


def build_condition_set(sources: Sequence[ConditionSource], input_size: Sequence[int],
                        augment: ConditionAugmentConfig | None = None, seed: int | None = None,
                        image_fn: Any = None) -> ConditionDataset | ConcatDataset:
    """The mix of sources (each listed `repeat` times) as one dataset."""
    if not sources:
        raise ValueError("no condition sources given (train: [{source: ..., root: ...}])")
    sets = []
    for k, src in enumerate(sources):
        if src.repeat < 1:
            raise ValueError(f"source {src.root}: repeat must be >= 1, got {src.repeat}")
        items = find_condition_items(src.source, src.root, src.split, **src.kwargs)
        ds = ConditionDataset(items, input_size, augment, None if seed is None else seed + k, image_fn,
                              description=f"{src.source} {src.root} [{src.split}]")
        sets += [ds] * src.repeat
    return sets[0] if len(sets) == 1 else ConcatDataset(sets)
