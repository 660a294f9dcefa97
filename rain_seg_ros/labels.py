"""Cityscapes label tables shared by training, export and the runtime.

Dependency-light on purpose: the runtime must not need cityscapesscripts. Training code that
converts labelIds uses cityscapesscripts' own table (training/data/cityscapes.py) and a test
checks that the two agree.
"""

from __future__ import annotations

import numpy as np

IGNORE_INDEX = 255

# The 19 Cityscapes train classes, in trainId order.
CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
    "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
    "bus", "train", "motorcycle", "bicycle",
)

# Official Cityscapes colours (RGB) for the train classes.
CITYSCAPES_PALETTE: tuple[tuple[int, int, int], ...] = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
    (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
)

# Train id -> Cityscapes labelId (the id stored in *_gtFine_labelIds.png).
TRAIN_ID_TO_LABEL_ID: tuple[int, ...] = (
    7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33,
)

# Static classes (DANNet's static loss): road .. sky.
STATIC_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def class_index(name: str) -> int:
    """Train id of a Cityscapes class name."""
    return CITYSCAPES_CLASSES.index(name)


def colorize(mask: np.ndarray, palette: tuple[tuple[int, int, int], ...] = CITYSCAPES_PALETTE,
             ignore_color: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """Colour a (H, W) uint8 class-id mask into (H, W, 3) uint8 RGB; unknown ids get ignore_color."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:] = ignore_color
    lut[: len(palette)] = np.asarray(palette, dtype=np.uint8)
    return lut[mask]
