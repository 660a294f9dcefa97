"""Rain augmentation baselines and the training transform that applies them.

Baselines the thesis compares DSANet against, applied to the full image before the joint
geometric transform (so a depth map, when used, is still aligned with the image):
- albumentations `RandomRain` (2-D streak overlay, no depth),
- the procedural generator's physical rain renderer (`training.scenes.rain.render_rain`),
  driven by a flat depth or a ground-plane depth estimate.

Example:
    tf = TrainTransform(joint=build_seg_transform(...), rain=[RandomRainAugment(p=0.5)])
    image, mask = tf(image_uint8, mask_uint8)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch.utils.data

ImageAugment = Callable[[np.ndarray], np.ndarray]
JointTransform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class WorkerGenerator:
    """A numpy generator that is reseeded once per DataLoader worker from the worker's seed.

    Forked workers inherit the parent's generator state and would otherwise draw identical
    "random" rain; worker.seed differs per worker and is reproducible under torch.manual_seed.
    """

    def __init__(self, seed: int | None = None):
        self._rng = np.random.default_rng(seed)
        self._worker: tuple[int, int] | None = None

    def get(self) -> np.random.Generator:
        worker = torch.utils.data.get_worker_info()
        if worker is not None and self._worker != (os.getpid(), worker.id):
            self._rng = np.random.default_rng(worker.seed)
            self._worker = (os.getpid(), worker.id)
        return self._rng


class RandomRainAugment:
    """albumentations `RandomRain` with a random rain type, applied with probability p.

    Args:
        p: probability per image.
        seed: seed of albumentations' generator (None: random).
    """

    def __init__(self, p: float = 0.5, seed: int | None = None):
        import albumentations as A

        rain_types = ("drizzle", "heavy", "torrential", "default")
        self._compose = A.Compose(
            [A.OneOf([A.RandomRain(rain_type=t, p=1.0) for t in rain_types], p=p)], seed=seed)
        self._worker: tuple[int, int] | None = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        worker = torch.utils.data.get_worker_info()
        if worker is not None and self._worker != (os.getpid(), worker.id):
            self._compose.set_random_seed(worker.seed)  # as WorkerGenerator, for albumentations
            self._worker = (os.getpid(), worker.id)
        return self._compose(image=image)["image"]


def ground_plane_depth(height: int, width: int, *, horizon: float = 0.45, camera_height_m: float = 1.5,
                       focal_px: float | None = None, max_depth_m: float = 200.0) -> np.ndarray:
    """A depth estimate for a forward-facing driving camera without a depth network.

    Rows below the horizon see a flat road: depth = camera height * focal / rows below the
    horizon (pinhole model). Rows at or above the horizon get `max_depth_m`. Crude, but it
    gives the renderer the near-large / far-small, haze-with-distance structure it needs.

    Returns:
        (H, W) float32 depth in metres.
    """
    focal = focal_px if focal_px is not None else float(width)  # ~53 deg horizontal FOV
    rows = np.arange(height, dtype=np.float32) + 0.5 - horizon * height  # (H,)
    with np.errstate(divide="ignore"):
        depth = np.where(rows > 0, camera_height_m * focal / np.maximum(rows, 1e-6), max_depth_m)
    depth = np.minimum(depth, max_depth_m).astype(np.float32)
    return np.repeat(depth[:, None], width, axis=1)


class TrainTransform:
    """Image-only rain augmentations first (full frame), then the joint geometric transform."""

    def __init__(self, joint: JointTransform | None, rain: Sequence[ImageAugment] = ()):
        self.joint = joint
        self.rain = list(rain)

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for augment in self.rain:
            image = augment(image)
        if self.joint is not None:
            image, mask = self.joint(image, mask)
        return image, mask
