"""Joint image + mask transforms that cannot misalign the two.

Every geometric step (scale, pad, crop, flip) is one albumentations transform applied to image and
mask in the same call, so both get the same random parameters; the mask is resized with nearest
neighbour and padded with the ignore index, the image bilinearly and padded with black. Photometric
jitter touches the image only. Works on uint8 numpy arrays before the tensor conversion in base.py.

Example:
    from training.data import build_dataset
    from training.data.transforms import SegAugmentConfig, build_seg_transform
    tf = build_seg_transform(SegAugmentConfig(crop_size=(512, 1024)))
    ds = build_dataset("cityscapes", "/data/cityscapes", "train", transform=tf)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import torch.utils.data

from rain_seg_ros.labels import IGNORE_INDEX


@dataclass
class SegAugmentConfig:
    """Training-time augmentation of (image, mask).

    Args:
        crop_size: (H, W) output; smaller inputs are padded (image 0, mask ignore). None: no crop.
        scale_range: random rescale factor range (min, max); (1, 1) disables it.
        hflip_p: probability of a horizontal flip.
        brightness, contrast, saturation, hue: ColorJitter strengths (0 disables each).
        jitter_p: probability of applying the colour jitter.
        ignore_index: mask value of padded pixels.
    """

    crop_size: tuple[int, int] | None = None
    scale_range: tuple[float, float] = (0.5, 2.0)
    hflip_p: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    hue: float = 0.02
    jitter_p: float = 0.8
    ignore_index: int = IGNORE_INDEX


class SegTransformPipeline:
    """Callable (image uint8 (H, W, 3), mask uint8 (H, W)) -> transformed pair.

    Args:
        config: what to apply.
        seed: seed of albumentations' generator in the main process (None: random). Inside a
            DataLoader worker the generator is reseeded once from the worker's torch seed:
            albumentations 2.0 keeps its own generator, which forked workers would otherwise all
            inherit in the same state and so apply identical "random" augmentations.
    """

    def __init__(self, config: SegAugmentConfig, seed: int | None = None) -> None:
        import albumentations as A

        self.config = config
        self._seeded_worker: tuple[int, int] | None = None
        steps: list = []
        lo, hi = config.scale_range
        if (lo, hi) != (1.0, 1.0):
            # RandomScale samples factor 1 + U(lo - 1, hi - 1).
            steps.append(A.RandomScale(scale_limit=(lo - 1.0, hi - 1.0), interpolation=cv2.INTER_LINEAR,
                                       mask_interpolation=cv2.INTER_NEAREST, p=1.0))
        if config.crop_size is not None:
            height, width = config.crop_size
            steps.append(A.PadIfNeeded(min_height=height, min_width=width, position="random",
                                       border_mode=cv2.BORDER_CONSTANT, fill=0,
                                       fill_mask=config.ignore_index))
            steps.append(A.RandomCrop(height=height, width=width))
        if config.hflip_p > 0:
            steps.append(A.HorizontalFlip(p=config.hflip_p))
        if max(config.brightness, config.contrast, config.saturation, config.hue) > 0:
            steps.append(A.ColorJitter(brightness=config.brightness, contrast=config.contrast,
                                       saturation=config.saturation, hue=config.hue, p=config.jitter_p))
        self._compose = A.Compose(steps, seed=seed)

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        worker = torch.utils.data.get_worker_info()
        if worker is not None and self._seeded_worker != (os.getpid(), worker.id):
            # worker.seed = per-epoch base seed + worker id: distinct per worker, reproducible
            # under torch.manual_seed.
            self._compose.set_random_seed(worker.seed)
            self._seeded_worker = (os.getpid(), worker.id)
        out = self._compose(image=image, mask=mask)
        return out["image"], out["mask"]


def build_seg_transform(config: SegAugmentConfig | None = None, seed: int | None = None
                        ) -> SegTransformPipeline:
    """The training augmentation (random scale, padded random crop, flip, colour jitter)."""
    return SegTransformPipeline(config or SegAugmentConfig(), seed=seed)


class ResizeSeg:
    """Deterministic evaluation resize of (image, mask) to (H, W): bilinear image, nearest mask."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        height, width = self.size
        return (cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR),
                cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST))


def paired_crop(rainy: np.ndarray, clean: np.ndarray, size: tuple[int, int], random: bool = True,
                rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Crop (H, W) at the same place in both images; random position or centre.

    Images smaller than the crop are refused rather than padded: padding would teach a deraining
    model that black borders are clean content.
    """
    height, width = size
    img_h, img_w = rainy.shape[:2]
    if img_h < height or img_w < width:
        raise ValueError(f"crop {height}x{width} (HxW) is larger than the image {img_h}x{img_w}")
    if random:
        rng = rng or np.random.default_rng()
        top = int(rng.integers(0, img_h - height + 1))
        left = int(rng.integers(0, img_w - width + 1))
    else:
        top, left = (img_h - height) // 2, (img_w - width) // 2
    window = (slice(top, top + height), slice(left, left + width))
    return rainy[window], clean[window]
